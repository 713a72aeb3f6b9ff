"""Contas locais pela linha de comando (modo padrão embutido). Rode com o mesmo APP_DATA_DIR do
servidor, senão os comandos agem sobre outro banco:

    APP_DATA_DIR=/caminho/dos/dados python -m lib.auth list
    echo 'senha-longa' | python -m lib.auth add ana@empresa.com.br --role analyst
    python -m lib.auth add ana@empresa.com.br --role analyst --sem-senha   # só login único (SSO)
    python -m lib.auth set-role ana@empresa.com.br supervisor
    python -m lib.auth reset-password ana@empresa.com.br      # imprime uma senha temporária
    python -m lib.auth deactivate ana@empresa.com.br          # e encerra as sessões dela
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from lib.auth.admin import AccountAdmin
from lib.auth.accounts import LocalAccounts
from lib.auth.sessions import SessionStore
from lib.config.settings import load_settings
from lib.errors import AppError
from lib.models import ROLES, User
from lib.presentation import ROLE_LABELS, format_datetime
from lib.store.sqlite.database import SQLiteDatabase

CLI_ADMIN = User(id="", email="linha de comando", role="admin")  # whoever runs it owns the server: no account needed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lib.auth",
        description="Gerencia as contas locais. Use o mesmo APP_DATA_DIR do servidor.",
    )
    commands = parser.add_subparsers(dest="command", required=True, title="comandos", metavar="COMANDO")
    commands.add_parser("list", help="lista as contas")
    add = commands.add_parser("add", help="adiciona uma conta; a senha é lida da entrada padrão")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES, help="papel da conta")
    add.add_argument("--sem-senha", action="store_true", dest="without_password",
                     help="sem senha: a pessoa entra só pelo provedor de login único ([auth])")
    set_role = commands.add_parser("set-role", help="muda o papel de uma conta")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=ROLES)
    reset = commands.add_parser("reset-password", help="gera uma senha temporária (trocada no próximo acesso)")
    reset.add_argument("email")
    deactivate = commands.add_parser("deactivate", help="desativa a conta e encerra as sessões dela")
    deactivate.add_argument("email")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    database = SQLiteDatabase.in_dir(settings.data_dir)
    accounts = LocalAccounts(database)
    sessions = SessionStore(database, idle=timedelta(hours=settings.session_idle_hours),
                            absolute=timedelta(days=settings.session_absolute_days))
    admin = AccountAdmin(accounts, sessions, lambda: CLI_ADMIN)  # having the server's files is being its admin
    try:
        if args.command == "list":
            for row in admin.list():
                account = row.account
                state = "ativo" if account.active else "desativado"
                last = format_datetime(account.last_login_at) if account.last_login_at else "nunca"
                print(f"{account.email}\t{ROLE_LABELS[account.role]}\t{state}\túltimo acesso: {last}")
            return 0
        if args.command == "add":
            password = None if args.without_password else sys.stdin.readline().rstrip("\r\n")
            user = accounts.add(args.email, password, args.role)
            print(f"{user.email} ({ROLE_LABELS[user.role]}) criado.")
            return 0
        account = accounts.find(args.email)
        if account is None:
            raise AppError("Conta não encontrada.")
        if args.command == "set-role":
            admin.set_role(account.id, args.role)
            print(f"{account.email}: agora {ROLE_LABELS[args.role]}.")
        elif args.command == "reset-password":
            print(f"Senha temporária de {account.email}: {admin.reset_password(account.id)}")
        else:
            admin.set_active(account.id, False)
            print(f"{account.email} desativado; sessões encerradas.")
    except AppError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
