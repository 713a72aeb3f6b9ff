"""The app's settings: `settings.py` (secrets file and environment variables), `sso.py` (the
`[auth]` section, single sign-on), `banner.py` and `__main__.py` (what `make run` prints first)."""
