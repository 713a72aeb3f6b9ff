"""Local accounts on a real SQLite file: passwords, the first administrator, temporary passwords,
roles kept with at least one active admin, and the file's permissions."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

from lib.auth.accounts import MSG_LAST_ADMIN, LocalAccounts, hash_password, verify_password
from lib.auth.setup_code import ensure_setup_code, setup_code_path
from lib.errors import AuthError, ValidationError
from lib.store.sqlite.database import SQLiteDatabase
from tests.conftest import ROOT

PASSWORD = "s3nha-forte"


@pytest.fixture
def accounts(database):
    return LocalAccounts(database)


def first_admin(accounts, tmp_path, email="admin@example.com"):
    return accounts.add_first_admin(email, PASSWORD, ensure_setup_code(tmp_path), tmp_path)


def test_password_hash_is_salted_scrypt(app_password_hashes):
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$16384$8$1$") and first != second  # n=2**14, r=8, p=1
    assert verify_password(PASSWORD, first)
    assert not verify_password("s3nha-fraca", first)
    assert not verify_password("x", "garbage")


def test_first_admin_needs_the_setup_code_then_logs_in(accounts, tmp_path):
    code = ensure_setup_code(tmp_path)
    assert setup_code_path(tmp_path).stat().st_mode & 0o777 == 0o600
    with pytest.raises(ValidationError, match="Código de configuração incorreto"):
        accounts.add_first_admin("admin@example.com", PASSWORD, "0000-0000-0000", tmp_path)
    admin = accounts.add_first_admin(" Admin@Example.com ", PASSWORD, code.lower(), tmp_path)
    assert admin.role == "admin" and admin.email == "admin@example.com"
    assert not setup_code_path(tmp_path).exists()  # good once
    with pytest.raises(ValidationError):
        first_admin(accounts, tmp_path, "other@example.com")
    assert accounts.authenticate("ADMIN@example.com", PASSWORD).id == admin.id
    with pytest.raises(AuthError, match="incorretos"):
        accounts.authenticate("admin@example.com", "wrong-password")
    with pytest.raises(AuthError, match="incorretos"):
        accounts.authenticate("nobody@example.com", PASSWORD)


def test_twenty_browsers_creating_the_first_admin_at_once_make_exactly_one(database, tmp_path):
    code, barrier, outcomes = ensure_setup_code(tmp_path), threading.Barrier(20), []

    def claim(number):
        barrier.wait()
        try:
            outcomes.append(LocalAccounts(database).add_first_admin(f"admin{number}@example.com", PASSWORD, code, tmp_path))
        except ValidationError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert LocalAccounts(database).count() == 1
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1


def test_rejects_short_password_bad_role_duplicates_and_huge_emails(accounts):
    with pytest.raises(ValidationError):
        accounts.add("a@example.com", "short", "admin")
    with pytest.raises(ValidationError):
        accounts.add("a@example.com", "long-enough", "owner")
    accounts.add("a@example.com", "long-enough", "analyst")
    with pytest.raises(ValidationError):
        accounts.add("A@example.com", "long-enough", "analyst")
    with pytest.raises(ValidationError):
        accounts.add("a" * 2_000_000 + "@example.com", "long-enough", "analyst")


def test_temporary_passwords_must_be_changed_and_resets_make_new_ones(accounts):
    user, temporary = accounts.add_with_temporary_password("ana@example.com", "analyst")
    assert len(temporary) == 12
    signed_in = accounts.authenticate("ana@example.com", temporary)
    assert signed_in.must_change_password and signed_in.role == "analyst"
    with pytest.raises(ValidationError, match="atual não confere"):
        accounts.change_password(user.id, "errada", "nova-senha-1")
    accounts.change_password(user.id, temporary, "nova-senha-1")
    assert not accounts.authenticate("ana@example.com", "nova-senha-1").must_change_password
    reset = accounts.reset_password(user.id)
    assert accounts.authenticate("ana@example.com", reset).must_change_password
    with pytest.raises(AuthError):
        accounts.authenticate("ana@example.com", "nova-senha-1")


def test_deactivated_users_cannot_sign_in_and_lose_their_role(accounts, tmp_path):
    first_admin(accounts, tmp_path)
    user = accounts.add("ana@example.com", PASSWORD, "analyst")
    accounts.set_active(user.id, False)
    with pytest.raises(AuthError, match="desativado"):
        accounts.authenticate("ana@example.com", PASSWORD)
    assert accounts.current_user(user.id).role is None
    accounts.set_active(user.id, True)
    assert accounts.authenticate("ana@example.com", PASSWORD).role == "analyst"


def test_at_least_one_active_admin_always_remains(accounts, tmp_path):
    admin = first_admin(accounts, tmp_path)
    with pytest.raises(ValidationError, match=MSG_LAST_ADMIN):
        accounts.set_role(admin.id, "analyst")
    with pytest.raises(ValidationError, match=MSG_LAST_ADMIN):
        accounts.set_active(admin.id, False)
    other = accounts.add("b@example.com", PASSWORD, "admin")
    accounts.set_role(admin.id, "supervisor")  # another admin remains
    assert accounts.current_user(admin.id).role == "supervisor"
    with pytest.raises(ValidationError, match=MSG_LAST_ADMIN):
        accounts.set_active(other.id, False)


def test_two_admins_demoting_each_other_at_once_leave_one(database, tmp_path):
    accounts = LocalAccounts(database)
    a, b = first_admin(accounts, tmp_path), accounts.add("b@example.com", PASSWORD, "admin")
    barrier, outcomes = threading.Barrier(2), []

    def demote(user):
        barrier.wait()
        try:
            LocalAccounts(database).set_role(user.id, "analyst")
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(u,)) for u in (a, b)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["ok", "refused"]
    assert [x.role for x in accounts.list()].count("admin") == 1


def test_the_database_file_and_folder_are_private_and_loose_ones_are_tightened(tmp_path, caplog):
    fresh = tmp_path / "fresh"
    SQLiteDatabase.in_dir(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert stat.S_IMODE((fresh / "app.sqlite3").stat().st_mode) == 0o600
    loose = tmp_path / "loose"
    SQLiteDatabase.in_dir(loose)
    os.chmod(loose, 0o755)
    os.chmod(loose / "app.sqlite3", 0o644)
    SQLiteDatabase.in_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    assert stat.S_IMODE((loose / "app.sqlite3").stat().st_mode) == 0o600
    assert "permissions of" in caplog.text and "tightened" in caplog.text


@pytest.mark.parametrize("module", ["lib.auth", "lib.users"])  # lib.users: the name README always gave
def test_the_command_line_adds_a_user_in_the_servers_data_folder(tmp_path, module):
    import subprocess
    import sys

    from tests.conftest import ROOT

    added = subprocess.run(
        [sys.executable, "-m", module, "add", "cli@example.com", "--role", "supervisor"],
        input="senha-do-cli\n", capture_output=True, text=True, cwd=ROOT,
        env={"APP_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "APP_SECRETS_FILE": str(tmp_path / "none.toml")},
    )
    assert added.returncode == 0, added.stderr
    assert "senha-do-cli" not in added.stdout + added.stderr
    assert LocalAccounts(SQLiteDatabase.in_dir(tmp_path)).authenticate("cli@example.com", "senha-do-cli").role == "supervisor"


def test_the_command_line_lists_changes_roles_resets_and_deactivates(tmp_path, monkeypatch, capsys):
    from lib.auth.__main__ import main

    monkeypatch.setenv("APP_DATA_DIR", str(tmp_path))
    accounts = LocalAccounts(SQLiteDatabase.in_dir(tmp_path))
    accounts.add("cli@example.com", PASSWORD, "supervisor")
    accounts.add("admin@example.com", PASSWORD, "admin")
    assert main(["set-role", "cli@example.com", "analyst"]) == 0
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "cli@example.com\tAnalista\tativo" in listed and "admin@example.com\tAdministrador" in listed
    assert main(["reset-password", "cli@example.com"]) == 0
    temporary = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert accounts.authenticate("cli@example.com", temporary).must_change_password
    assert main(["deactivate", "cli@example.com"]) == 0
    with pytest.raises(AuthError, match="desativado"):
        accounts.authenticate("cli@example.com", temporary)
    assert main(["deactivate", "admin@example.com"]) == 1  # the last admin stays
    assert MSG_LAST_ADMIN in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "comandos" in capsys.readouterr().out  # help in pt-BR


# -- the setup code: never empty, written whole, good once ----------------------------------------
CODE_SHAPE = r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}"


@pytest.mark.parametrize("leftover", ["", "\n", "AB12", "AB12-"])
def test_an_empty_or_short_setup_code_file_counts_as_missing_and_an_empty_code_makes_no_admin(accounts, tmp_path, leftover):
    path = setup_code_path(tmp_path)
    path.write_text(leftover, encoding="utf-8")  # what a full disk leaves halfway through a write
    for typed in ("", leftover, " "):
        with pytest.raises(ValidationError, match="(?i)código de configuração"):
            accounts.add_first_admin("admin@example.com", PASSWORD, typed, tmp_path)
    assert accounts.count() == 0
    code = ensure_setup_code(tmp_path)  # made again, whole
    assert re.fullmatch(CODE_SHAPE, code) and path.read_text(encoding="utf-8") == code + "\n"
    assert accounts.add_first_admin("admin@example.com", PASSWORD, code, tmp_path).role == "admin"


def test_once_the_first_admin_exists_the_setup_code_is_gone_and_a_leftover_form_makes_none(accounts, tmp_path):
    code = ensure_setup_code(tmp_path)
    first_admin_made = accounts.add_first_admin("admin@example.com", PASSWORD, code, tmp_path)
    assert first_admin_made.role == "admin" and not setup_code_path(tmp_path).exists()
    for typed in (code, "", "0000-0000-0000"):  # a second browser's form, still open on the first start
        with pytest.raises(ValidationError):
            accounts.add_first_admin("outra@example.com", PASSWORD, typed, tmp_path)
        assert not setup_code_path(tmp_path).exists()  # not made again
    setup_code_path(tmp_path).write_text(code + "\n", encoding="utf-8")  # left by a crash after the insert
    with pytest.raises(ValidationError, match="já foi criado"):
        accounts.add_first_admin("outra@example.com", PASSWORD, code, tmp_path)
    assert not setup_code_path(tmp_path).exists() and accounts.count() == 1


DISK_FULL_CHILD = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    from lib.auth.setup_code import ensure_setup_code
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))  # the disk is full
    try:
        ensure_setup_code({data!r})
    except Exception as exc:
        print(type(exc).__name__, getattr(exc, "message", ""))
    else:
        print("written")
""")


def test_a_full_disk_leaves_no_empty_setup_code_and_no_temporary_file(accounts, tmp_path):
    """A real full disk (RLIMIT_FSIZE in a child process: creating a file works, writing to it
    fails), as when the disk fills while the server starts."""
    child = subprocess.run([sys.executable, "-c", DISK_FULL_CHILD.format(root=str(ROOT), data=str(tmp_path))],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert child.returncode == 0, child.stderr[-2000:]
    assert "written" not in child.stdout and "Traceback" not in child.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if "setup" in p.name) == []  # nothing half-written
    with pytest.raises(ValidationError, match="(?i)código de configuração"):
        accounts.add_first_admin("admin@example.com", PASSWORD, "", tmp_path)
    assert accounts.count() == 0
    assert re.fullmatch(CODE_SHAPE, ensure_setup_code(tmp_path))  # the disk has room again
