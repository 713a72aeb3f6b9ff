"""Storage: the interface, the SQLite and Supabase stores, and the unsaved-credentials file."""
