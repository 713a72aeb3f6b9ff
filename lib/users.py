"""`python -m lib.users`, as the README has always said: the account command line, now
`python -m lib.auth` (lib/auth/__main__.py)."""

import sys

from lib.auth.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
