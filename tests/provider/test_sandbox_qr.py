"""lib.provider.sandbox, over real loopback HTTP: the QR's rotation and scanning, the automatic scan,
the state it keeps, the changes it pushes and the simulated drops."""

from __future__ import annotations

from lib.provider.sandbox.provider import SandboxProvider
from tests.support.receiver import Receiver
from tests.support.sandbox import PHONE_RE, connect, create, disconnect, scan, status


# ---------------------------------------------------------------- QR rotation and scanning
def test_each_connect_gives_a_fresh_nonce_and_only_the_latest_scans(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    first = sbx.scan_url(inst["instance_id"])
    connect(sbx, inst)
    second = sbx.scan_url(inst["instance_id"])
    assert first != second
    assert first.rsplit("/", 1)[0] == second.rsplit("/", 1)[0]

    old = scan(first)
    assert old.status_code == 410
    assert "expirou" in old.text
    assert status(sbx, inst).json() == {"status": "connecting"}

    assert scan(second).status_code == 200
    assert status(sbx, inst).json()["status"] == "connected"


def test_qr_older_than_ttl_does_not_scan(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        url = sbx.scan_url(inst["instance_id"])
        clock.advance(20.5)
        r = scan(url)
        assert r.status_code == 410
        assert "expirou" in r.text
        assert status(sbx, inst).json() == {"status": "connecting"}

        # a fresh connect rotates the QR and that one scans within its ttl
        connect(sbx, inst)
        clock.advance(19.5)
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 200
        assert status(sbx, inst).json()["status"] == "connected"


def test_custom_qr_ttl(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=5) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        clock.advance(6)
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 410


def test_rescan_of_connected_instance_is_409(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    url = sbx.scan_url(inst["instance_id"])
    assert scan(url).status_code == 200
    phone = status(sbx, inst).json()["phone_number"]
    again = scan(url)
    assert again.status_code == 409
    assert status(sbx, inst).json() == {"status": "connected", "phone_number": phone}


def test_scan_after_disconnect_is_410_and_stays_disconnected(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    url = sbx.scan_url(inst["instance_id"])
    disconnect(sbx, inst)
    assert scan(url).status_code == 410
    assert status(sbx, inst).json() == {"status": "disconnected"}


def test_scan_of_unknown_instance_is_404(sbx):
    r = scan(f"{sbx.base_url}/scan/sbx-deadbeef/abc")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")


def test_connect_when_already_connected_is_409(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    scan(sbx.scan_url(inst["instance_id"]))
    r = connect(sbx, inst)
    assert r.status_code == 409
    assert r.json() == {"error": "instance already connected"}
    assert status(sbx, inst).json()["status"] == "connected"


def test_reconnect_after_disconnect_gets_a_new_qr_and_phone_flow(sbx):
    inst = create(sbx)
    connect(sbx, inst)
    scan(sbx.scan_url(inst["instance_id"]))
    disconnect(sbx, inst)
    assert connect(sbx, inst).status_code == 200
    assert status(sbx, inst).json() == {"status": "connecting"}
    assert scan(sbx.scan_url(inst["instance_id"])).status_code == 200
    assert PHONE_RE.match(status(sbx, inst).json()["phone_number"])


def test_instances_are_independent(sbx):
    a, b = create(sbx, "A"), create(sbx, "B")
    assert a["instance_id"] != b["instance_id"] and a["token"] != b["token"]
    # a's token does not open b
    r = status(sbx, {"instance_id": b["instance_id"], "token": a["token"]})
    assert r.status_code == 401
    connect(sbx, a)
    scan(sbx.scan_url(a["instance_id"]))
    assert status(sbx, a).json()["status"] == "connected"
    assert status(sbx, b).json() == {"status": "disconnected"}


# ---------------------------------------------------------------- auto-scan
def test_auto_scan_connects_by_itself(clock):
    with SandboxProvider(clock=clock, auto_scan_seconds=5) as sbx:
        inst = create(sbx)
        clock.advance(100)  # no connect yet: nothing happens
        assert status(sbx, inst).json() == {"status": "disconnected"}
        connect(sbx, inst)
        clock.advance(4.9)
        assert status(sbx, inst).json() == {"status": "connecting"}
        clock.advance(0.1)
        body = status(sbx, inst).json()
        assert body["status"] == "connected"
        assert PHONE_RE.match(body["phone_number"])


def test_auto_scan_counts_from_the_first_connect_not_each_qr_refresh(clock):
    with SandboxProvider(clock=clock, auto_scan_seconds=30, qr_ttl_seconds=20) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        clock.advance(20)
        connect(sbx, inst)  # the UI refreshing an expiring QR
        clock.advance(10)
        assert status(sbx, inst).json()["status"] == "connected"


def test_without_auto_scan_a_connecting_instance_waits_until_its_qr_is_abandoned(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20, abandon_seconds=60) as sbx:
        inst = create(sbx)
        connect(sbx, inst)
        clock.advance(80)  # the QR expired 60 s ago: WhatsApp still waits
        assert status(sbx, inst).json() == {"status": "connecting"}
        clock.advance(0.1)  # nobody asked for a new QR: the provider gives up
        assert status(sbx, inst).json() == {"status": "disconnected"}
        assert scan(sbx.scan_url(inst["instance_id"])).status_code == 410


def test_refreshing_the_qr_keeps_an_instance_connecting(clock):
    with SandboxProvider(clock=clock, qr_ttl_seconds=20, abandon_seconds=60) as sbx:
        inst = create(sbx)
        for _ in range(10):  # the connect dialog fetching a new QR before each one expires
            connect(sbx, inst)
            clock.advance(15)
            assert status(sbx, inst).json() == {"status": "connecting"}


# ---------------------------------------------------------------- persistence, pushes, simulations
def test_a_restart_on_the_same_state_file_keeps_every_instance(tmp_path, clock):
    state = tmp_path / "sandbox_instances.json"
    with SandboxProvider(clock=clock, state_path=state) as first:
        idle, live = create(first, "Parada"), create(first, "Conectada")
        connect(first, live)
        assert first.simulate_scan(live["instance_id"])
        phone = status(first, live).json()["phone_number"]
    assert state.stat().st_mode & 0o777 == 0o600  # it holds the tokens
    with SandboxProvider(clock=clock, state_path=state) as second:  # another port, same instances
        assert second.instance_count() == 2
        assert status(second, live).json() == {"status": "connected", "phone_number": phone}
        assert status(second, idle).json() == {"status": "disconnected"}
        assert connect(second, idle).status_code == 200  # still connectable
        assert second.simulate_scan(idle["instance_id"])
        assert status(second, {**idle, "token": "wrong"}).status_code == 401
        assert status(second, {"instance_id": "sbx-unknown", "token": "x"}).status_code == 404


def test_a_connecting_instance_loaded_after_a_restart_falls_back_to_disconnected(tmp_path, clock):
    state = tmp_path / "sandbox_instances.json"
    with SandboxProvider(clock=clock, state_path=state) as first:
        inst = create(first)
        connect(first, inst)
    with SandboxProvider(clock=clock, state_path=state) as second:  # the QR died with the first
        assert status(second, inst).json() == {"status": "disconnected"}


def test_simulations_and_their_refusals(sbx):
    inst = create(sbx)
    assert not sbx.simulate_scan(inst["instance_id"])  # no QR shown yet
    assert not sbx.simulate_drop(inst["instance_id"])  # not connected
    connect(sbx, inst)
    assert sbx.simulate_scan(inst["instance_id"])
    assert status(sbx, inst).json()["status"] == "connected"
    assert sbx.simulate_drop(inst["instance_id"])
    assert status(sbx, inst).json() == {"status": "disconnected"}
    assert not sbx.simulate_drop("sbx-unknown") and not sbx.simulate_scan("sbx-unknown")


def test_status_changes_are_pushed_to_the_app_but_not_those_it_asked_for(sbx):
    with Receiver() as receiver:
        sbx.push_events_to(receiver.url("/api/provider-events"), "s3cret")
        inst = create(sbx)
        connect(sbx, inst)  # the app's own connect: no push back
        sbx.simulate_scan(inst["instance_id"])
        path, headers, connected = receiver.next()  # pushes come in order: the scan's is the first
        assert (path, headers["X-Webhook-Secret"]) == ("/api/provider-events", "s3cret")
        assert connected["status"] == "connected" and PHONE_RE.match(connected["phone_number"])
        sbx.simulate_drop(inst["instance_id"])
        dropped = receiver.next()[2]
        assert dropped.pop("timestamp") > connected["timestamp"]  # the provider's time orders its events
        assert dropped == {"instance_id": inst["instance_id"], "status": "disconnected", "phone_number": None,
                           "reason": "428"}  # why: WhatsApp's "connection lost"
        connect(sbx, inst)
        sbx.simulate_scan(inst["instance_id"])
        assert receiver.next()[2]["status"] == "connected"
        disconnect(sbx, inst)  # the app's own disconnect: no push back either
        connect(sbx, inst)
        sbx.simulate_scan(inst["instance_id"])
        assert receiver.next()[2]["status"] == "connected"
