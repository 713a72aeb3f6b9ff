"""Local accounts from the command line:

    python -m lib.users add EMAIL --role admin|supervisor|analyst   # password from stdin
"""

from __future__ import annotations

import argparse
import sys

from lib.auth.accounts import LocalAccounts
from lib.errors import ValidationError
from lib.models import ROLES
from lib.store.sqlite import SQLiteDatabase


def main(argv: list[str] | None = None) -> int:
    from lib.config import load_settings

    parser = argparse.ArgumentParser(prog="python -m lib.users", description="Manage local accounts.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user; the password is read from standard input")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    args = parser.parse_args(argv)

    password = sys.stdin.readline().rstrip("\r\n")
    accounts = LocalAccounts(SQLiteDatabase.in_dir(load_settings().data_dir))
    try:
        user = accounts.add(args.email, password, args.role)
    except ValidationError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(f"{user.email} ({user.role}) criado.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
