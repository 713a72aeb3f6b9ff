"""`make run`'s first step: print where the dashboard opens, in which mode, with which data; a
configuration error instead, and exit 1."""

from lib.config.banner import describe
from lib.config.settings import load_settings
from lib.errors import ConfigError

if __name__ == "__main__":  # make run: python -m lib.config ADDRESS PORT
    import sys

    try:
        print(describe(load_settings(), sys.argv[1], int(sys.argv[2])), flush=True)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        sys.exit(1)
