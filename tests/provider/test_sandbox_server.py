"""lib.provider.sandbox's server: latency and concurrency, what it logs, its own lifecycle, the
shared sandbox of the app's process, and its command line."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest

import requests

from lib.config.settings import load_settings
from lib.errors import ConfigError
from lib.provider.sandbox import __main__ as sandbox_cli
from lib.provider.sandbox import shared as sandbox_shared
from lib.provider.sandbox.provider import SandboxProvider
from lib.provider.sandbox.shared import shared_sandbox
from tests.support.sandbox import PHONE_RE, PROJECT_ROOT, T, connect, create, disconnect, scan, status


# ---------------------------------------------------------------- latency and concurrency
def test_latency_delays_webhook_responses_but_not_scan(clock):
    slept: list[float] = []
    with SandboxProvider(clock=clock, latency_ms=200, sleep=slept.append) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        status(sbx, inst)
        disconnect(sbx, inst)
        assert slept == [0.2] * 4
        connect(sbx, inst)
        slept.clear()
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 200
        assert slept == []


def test_no_latency_means_no_sleep(sbx, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(sbx, "_sleep", slept.append)
    status(sbx, create(sbx))
    assert slept == []


@pytest.mark.parametrize("n", [2, 16])
def test_concurrent_status_calls_are_served_in_parallel(clock, n):
    # Each status call's latency sleep waits on a barrier that only opens once n calls are
    # inside the server at the same time: a server handling them one by one breaks it (and
    # the calls fail with 500s or the barrier's BrokenBarrierError). No timing is asserted.
    barrier = threading.Barrier(n, timeout=T)
    with SandboxProvider(clock=clock, sleep=lambda _s: barrier.wait()) as sbx:
        insts = [create(sbx, f"i{i}") for i in range(n)]
        assert sbx.max_in_flight == 1
        sbx.latency_ms = 200
        results: queue.Queue = queue.Queue()

        def call(inst):
            try:
                results.put(status(sbx, inst))
            except Exception as exc:  # surfaced by the assert below
                results.put(exc)

        threads = [threading.Thread(target=call, args=(inst,)) for inst in insts]
        [t.start() for t in threads]
        [t.join() for t in threads]
        responses = [results.get_nowait() for _ in range(n)]
        assert all(isinstance(r, requests.Response) and r.status_code == 200 for r in responses), responses
        assert not barrier.broken
        assert sbx.max_in_flight == n


def test_keep_alive_serves_several_requests_on_one_connection(sbx):
    conn = http.client.HTTPConnection("127.0.0.1", sbx.port, timeout=T)
    try:
        conn.request("POST", "/create", body=json.dumps({"name": "x"}), headers={"Content-Type": "application/json"})
        first = conn.getresponse()
        assert first.version == 11
        assert first.getheader("Content-Length") is not None
        inst = json.loads(first.read())
        sock = conn.sock
        conn.request("GET", f"/status?instance_id={inst['instance_id']}&token={inst['token']}")
        second = conn.getresponse()
        assert json.loads(second.read()) == {"status": "disconnected"}
        conn.request("GET", "/nope")  # an error response keeps the connection too
        assert conn.getresponse().read()
        conn.request("POST", "/connect", body=json.dumps(inst))
        assert "qr_code_base64" in json.loads(conn.getresponse().read())
        assert conn.sock is sock  # same socket the whole time
    finally:
        conn.close()


# ---------------------------------------------------------------- logging hygiene
def test_requests_are_not_logged_to_stderr_and_never_with_the_token(sbx, caplog, capfd):
    caplog.set_level(logging.DEBUG, logger="lib.provider.sandbox")
    inst = create(sbx)
    status(sbx, inst)
    status(sbx, {"instance_id": inst["instance_id"], "token": "wrong-" + inst["token"]})
    connect(sbx, inst)
    requests.get(f"{sbx.base_url}/status?token={inst['token']}", timeout=T)  # 400 path
    # a malformed request line is echoed by http.server's own error logging: still no token
    with socket.create_connection(("127.0.0.1", sbx.port), timeout=T) as raw:
        raw.sendall(f"GET /status?instance_id=x&token={inst['token']} HTTP/1.1 HTTP/1.1\r\n\r\n".encode())
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    assert any("/status" in rec.getMessage() for rec in caplog.records)
    assert inst["token"] not in caplog.text


# ---------------------------------------------------------------- lifecycle of the server
def test_stop_closes_the_port_and_is_idempotent(clock):
    sbx = SandboxProvider(clock=clock).start()
    assert sbx.start() is sbx and sbx.running
    url = sbx.webhook_settings().create_url
    sbx.stop()
    sbx.stop()
    assert not sbx.running
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"name": "x"}, timeout=T)
    with pytest.raises(RuntimeError):
        sbx.base_url


@pytest.mark.parametrize(
    "kwargs", [{"qr_ttl_seconds": 0}, {"code_ttl_seconds": 0}, {"auto_scan_seconds": -1}, {"latency_ms": -5}]
)
def test_invalid_constructor_arguments(kwargs):
    with pytest.raises(ValueError):
        SandboxProvider(**kwargs)


# ---------------------------------------------------------------- shared sandbox and env
def test_shared_sandbox_is_a_lazy_singleton_per_data_dir_configured_from_env(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox_shared, "_shared", {})
    monkeypatch.setenv("SANDBOX_AUTO_SCAN_SECONDS", "3")
    monkeypatch.setenv("SANDBOX_LATENCY_MS", "7")
    got: list[SandboxProvider] = []
    threads = [threading.Thread(target=lambda: got.append(shared_sandbox(tmp_path))) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    try:
        first = got[0]
        assert all(p is first for p in got)
        assert shared_sandbox(tmp_path) is first
        assert first.state_path == tmp_path.resolve() / "sandbox_instances.json"
        assert first.running
        assert first.auto_scan_seconds == 3.0 and first.latency_ms == 7
        assert create(first)["instance_id"].startswith("sbx-")
    finally:
        first.stop()


def test_shared_sandbox_defaults(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox_shared, "_shared", {})
    monkeypatch.delenv("SANDBOX_AUTO_SCAN_SECONDS", raising=False)
    monkeypatch.delenv("SANDBOX_LATENCY_MS", raising=False)
    p = shared_sandbox(tmp_path)
    try:
        assert p.auto_scan_seconds is None and p.latency_ms == 0 and p.qr_ttl_seconds == 20.0
    finally:
        p.stop()


@pytest.mark.parametrize(
    "env", [{"SANDBOX_AUTO_SCAN_SECONDS": "soon"}, {"SANDBOX_AUTO_SCAN_SECONDS": "-1"},
            {"SANDBOX_AUTO_SCAN_SECONDS": "nan"}, {"SANDBOX_LATENCY_MS": "1.5"}, {"SANDBOX_LATENCY_MS": "-3"}]
)
def test_invalid_env_is_a_config_error(env):
    with pytest.raises(ConfigError) as info:
        sandbox_shared.settings_from_env(env)
    assert next(iter(env)) in info.value.message


def test_settings_from_env_parses_values():
    assert sandbox_shared.settings_from_env({"SANDBOX_AUTO_SCAN_SECONDS": " 2.5 ", "SANDBOX_LATENCY_MS": "40"}) == {
        "auto_scan_seconds": 2.5, "latency_ms": 40}
    assert sandbox_shared.settings_from_env({}) == {"auto_scan_seconds": None, "latency_ms": 0}


# ---------------------------------------------------------------- CLI
def _read_lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_env_lines_serves_and_stops_cleanly(stop_signal):
    # Started as a shell starts a background job: SIGINT ignored, which Python then keeps unless told.
    as_a_background_job = 'trap "" INT; exec "$0" -m lib.provider.sandbox --port 0 --latency-ms 0 --auto-scan-seconds 0'
    with subprocess.Popen(
        ["sh", "-c", as_a_background_job, sys.executable],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:
        try:
            lines: queue.Queue = queue.Queue()
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
            reader.start()
            header = lines.get(timeout=20)
            assert header.startswith("#") and "http://127.0.0.1:" in header
            env = {}
            for _ in range(4):
                key, _, value = lines.get(timeout=T).strip().partition("=")
                env[key] = value
            assert set(env) == {"WEBHOOK_CREATE_URL", "WEBHOOK_CONNECT_URL", "WEBHOOK_STATUS_URL", "WEBHOOK_DISCONNECT_URL"}
            port = int(re.search(r":(\d+)/create$", env["WEBHOOK_CREATE_URL"]).group(1))
            assert port != 0
            assert load_settings(secrets={}, env=env).webhooks.status_url == env["WEBHOOK_STATUS_URL"]

            inst = requests.post(env["WEBHOOK_CREATE_URL"], json={"name": "cli"}, timeout=T).json()
            requests.post(env["WEBHOOK_CONNECT_URL"], json=inst, timeout=T).raise_for_status()
            # --auto-scan-seconds 0: connected at the next status call
            st = requests.get(env["WEBHOOK_STATUS_URL"], params=inst, timeout=T).json()
            assert st["status"] == "connected" and PHONE_RE.match(st["phone_number"])

            proc.send_signal(stop_signal)
            assert proc.wait(timeout=T) == 0
            reader.join(timeout=T)
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_reports_a_busy_port(sbx, capsys):
    assert sandbox_cli.main(["--port", str(sbx.port)]) == 1
    assert f"127.0.0.1:{sbx.port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["--latency-ms", "-1"], ["--qr-ttl-seconds", "0"], ["--auto-scan-seconds", "x"], ["--port", "abc"]]
)
def test_cli_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as info:
        sandbox_cli.main(argv)
    assert info.value.code == 2
