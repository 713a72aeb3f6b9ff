"""The provider side: webhook client, sandbox provider."""
