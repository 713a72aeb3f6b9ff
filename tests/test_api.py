"""The server's own routes (lib.api) on the real server (`streamlit run server.py`, a real SQLite
file): provider events and health. The instances are written straight to the server's file."""

from __future__ import annotations

import json

import pytest
import requests

from harness.server import running_server
from lib.provider.events import MAX_EVENT_BYTES
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore

SECRET = "segredo-dos-eventos-123"
T = 10  # request timeout, a safety net


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("api") / "data", {"EVENTS_SECRET": SECRET}) as running:
        yield running


@pytest.fixture
def store(server):
    return SQLiteInstanceStore(SQLiteDatabase.in_dir(server.data_dir))


@pytest.fixture
def live(store, request):
    """A connected instance the provider does not know (the monitor is not asked here)."""
    row = store.insert_instance(instance_id=f"inst-{request.node.name[-40:]}", token="tok", name=request.node.name[-60:],
                                created_by=None)
    return store.update_status(row.id, status="connected", phone_number="+5511999998888")


def post(server, payload, *, secret=SECRET, path="/api/provider-events", **kwargs):
    headers = {"X-Webhook-Secret": secret} if secret else {}
    return requests.post(server.url + path, data=json.dumps(payload), headers=headers, timeout=T, **kwargs)


def test_a_pushed_drop_is_applied_at_once(server, store, live):
    reply = post(server, {"instance_id": live.instance_id, "status": "disconnected"})
    assert reply.status_code == 202
    after = store.get_instance(live.id)
    assert (after.status, after.dropped, after.last_phone_number) == ("disconnected", True, "+5511999998888")


@pytest.mark.parametrize(
    "payload",
    [
        lambda i: {"event": "connection.update", "instance": i, "data": {"state": "close"}},
        lambda i: {"event": "session.status", "session": i, "payload": {"status": "STOPPED"}},
    ],
    ids=["evolution", "waha"],
)
def test_evolution_and_waha_bodies(server, store, live, payload):
    assert post(server, payload(live.instance_id)).status_code == 202
    assert store.get_instance(live.id).status == "disconnected"


def test_the_secret_may_come_in_the_query(server, store, live):
    reply = post(server, {"instance_id": live.instance_id, "status": "close"}, secret=None,
                 path=f"/api/provider-events?secret={SECRET}")
    assert reply.status_code == 202 and store.get_instance(live.id).status == "disconnected"


@pytest.mark.parametrize("secret", [None, "errado", SECRET + "x"])
def test_a_wrong_or_missing_secret_is_refused(server, store, live, secret):
    reply = post(server, {"instance_id": live.instance_id, "status": "disconnected"}, secret=secret)
    assert reply.status_code == 401 and store.get_instance(live.id) == live


@pytest.mark.parametrize("path", ["/api/provider-events", "/api/provider-events?secret="])
def test_an_empty_secret_is_refused(server, store, live, path):
    reply = requests.post(server.url + path, data=json.dumps({"instance_id": live.instance_id, "status": "close"}),
                          headers={"X-Webhook-Secret": ""}, timeout=T)
    assert reply.status_code == 401 and store.get_instance(live.id) == live


def test_the_event_cap_is_64_kb(server, store, live):
    """65 536 bytes are read; one more is refused (pinned: a tenfold cap would fail this)."""
    def body_of(size: int) -> bytes:
        raw = json.dumps({"instance_id": live.instance_id, "status": "open", "padding": ""}).encode()
        return raw[:-2] + b"x" * (size - len(raw)) + b'"}'

    assert len(body_of(65_536)) == 65_536 and MAX_EVENT_BYTES == 65_536
    fits = requests.post(server.url + "/api/provider-events", data=body_of(65_536),
                         headers={"X-Webhook-Secret": SECRET}, timeout=T)
    over = requests.post(server.url + "/api/provider-events", data=body_of(65_537),
                         headers={"X-Webhook-Secret": SECRET}, timeout=T)
    assert (fits.status_code, over.status_code) == (202, 413)


def test_unknown_instances_are_accepted_and_change_nothing(server, store, live):
    unknown = post(server, {"instance_id": "inst-nobody", "status": "disconnected"})
    known = post(server, {"instance_id": live.instance_id, "status": "open"})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()  # nothing revealed
    assert store.get_instance(live.id).status == "connected"


def test_events_for_unknown_instances_are_counted_on_health_and_logged_once_a_minute(server):
    before = requests.get(server.url + "/api/health", timeout=T).json()["events_for_unknown_instances"]
    for _ in range(3):
        assert post(server, {"event": "session.status", "session": "sessao-desconhecida",
                             "payload": {"status": "WORKING"}}).status_code == 202
    after = requests.get(server.url + "/api/health", timeout=T).json()["events_for_unknown_instances"]
    assert after - before == 3
    logged = [line for line in server.log().splitlines() if "sessao-desconhecida" in line]
    assert len(logged) == 1 and "waha" in logged[0]


def test_oversize_and_malformed_bodies(server, store, live):
    big = {"instance_id": live.instance_id, "status": "close", "padding": "x" * MAX_EVENT_BYTES}
    assert post(server, big).status_code == 413
    chunks = iter([b'{"instance_id": "', b"x" * MAX_EVENT_BYTES, b'"}'])  # chunked: no Content-Length to trust
    reply = requests.post(server.url + "/api/provider-events", data=chunks, headers={"X-Webhook-Secret": SECRET}, timeout=T)
    assert reply.status_code == 413
    for raw in (b"{not json", b"[]", json.dumps({"instance_id": live.instance_id, "status": "exploded"}).encode()):
        reply = requests.post(server.url + "/api/provider-events", data=raw, headers={"X-Webhook-Secret": SECRET}, timeout=T)
        assert reply.status_code == 400 and "Traceback" not in reply.text
    assert store.get_instance(live.id) == live
    assert "Traceback" not in server.log()


def test_health_reports_the_store_and_the_monitor(server):
    reply = requests.get(server.url + "/api/health", timeout=T)
    assert reply.status_code == 200
    body = reply.json()
    assert (body["status"], body["store"], body["monitor"]["running"]) == ("ok", "ok", True)
    assert body["monitor"]["last_sweep_at"] is not None and isinstance(body["monitor"]["instances"], int)
    assert SECRET not in reply.text


def test_no_secret_means_no_endpoint_and_a_broken_store_an_unhealthy_server(tmp_path):
    webhooks = {f"WEBHOOK_{a.upper()}_URL": f"http://127.0.0.1:9/{a}" for a in ("create", "connect", "status", "disconnect")}
    with running_server(tmp_path / "data", webhooks) as server:  # real webhooks and no secret: no events
        assert post(server, {"instance_id": "x", "status": "open"}, secret="anything").status_code == 404
        database = server.data_dir / "app.sqlite3"
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        for _ in range(100):  # the server's monitor may open (so create) the file again in between
            database.unlink(missing_ok=True)
            try:
                database.mkdir()  # no longer a database file
                break
            except FileExistsError:
                continue
        assert database.is_dir()
        reply = requests.get(server.url + "/api/health", timeout=T)
        assert reply.status_code == 503 and reply.json()["store"] == "unreachable"


def test_the_session_cookie_is_secure_over_https(server, tmp_path):
    def cookie(url, **headers):
        reply = requests.delete(url + "/api/session", headers=headers, timeout=T)
        assert reply.status_code == 204
        set_cookie = reply.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Path=/" in set_cookie
        return set_cookie

    # (the Origin a browser sends with a DELETE: the route answers the app's own page only)
    assert "Secure" not in cookie(server.url, Origin=server.url.rstrip("/"))  # plain HTTP, as make run serves it
    # a proxy on the same machine that ends HTTPS (uvicorn believes its X-Forwarded-Proto)
    https_origin = server.url.rstrip("/").replace("http://", "https://")
    assert "Secure" in cookie(server.url, **{"X-Forwarded-Proto": "https", "Origin": https_origin})
    with running_server(tmp_path / "public", {"APP_PUBLIC_URL": "https://painel.example.com"}) as public:
        assert "Secure" in cookie(public.url, Origin="https://painel.example.com")  # the public address is HTTPS
