"""Credentials are never lost, for real: with the disk full (RLIMIT_FSIZE in a child process, so every
file write fails), a create the provider answered shows the admin the instance id and the token,
the server log has the id (never the token), and no temporary file is left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from lib.provider.sandbox.provider import SandboxProvider
from tests.conftest import ROOT

CHILD = textwrap.dedent("""
    import io, json, logging, resource, signal, sqlite3, sys
    sys.path.insert(0, {root!r})
    from lib.context import app_context
    from lib.config.settings import load_settings
    from tests.support.app_ui import admin_app, button, field, texts

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    context = app_context(load_settings())
    at = admin_app(context)
    button(at, "+ Nova instância").click().run()
    field(at, "Nome da instância").input("Cobrança")
    # One connection kept open keeps SQLite's -wal and -shm files: reading then extends no file,
    # while every write (a new WAL frame, the recovery file) does, and fails.
    keep = sqlite3.connect(context.database.path)
    keep.execute("select count(*) from instances").fetchone()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))  # the disk is full
    button(at, "Criar").click().run()
    print(json.dumps({{"texts": texts(at), "codes": [c.value for c in at.code], "log": log.getvalue(),
                      "exception": [str(e.value) for e in at.exception]}}))
""")


def test_a_full_disk_after_the_provider_answered_loses_no_credentials(tmp_path):
    with SandboxProvider() as provider:  # in this process: its writes are not limited
        env = {"APP_DATA_DIR": str(tmp_path / "data"), "APP_SECRETS_FILE": str(tmp_path / "none.toml"),
               "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
               **{f"WEBHOOK_{a.upper()}_URL": provider.webhook_settings().url_for(a)
                  for a in ("create", "connect", "status", "disconnect")}}
        child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT))], capture_output=True,
                               text=True, cwd=ROOT, env=env, timeout=120)
        assert child.returncode == 0, child.stderr[-3000:]
        outcome = json.loads(child.stdout.strip().splitlines()[-1])
        [instance_id] = provider._instances  # the provider did create it
        token = provider._instances[instance_id].token
    assert outcome["exception"] == []
    assert "A instância foi criada no provedor, mas não foi salva" in outcome["texts"]
    assert "Não foi possível guardá-las no servidor: copie o ID e o token abaixo agora" in outcome["texts"]
    assert instance_id in outcome["texts"] and token in outcome["codes"]  # on screen, in a box with a copy button
    assert instance_id in outcome["log"] and token not in outcome["log"]
    assert not list((tmp_path / "data").glob("*.tmp"))  # no half-written recovery file left behind
