"""Pushed events with zero set-up: the app registers its own event URL with Evolution API and WAHA
(their doubles, over real HTTP) at creation, import, start and on "Reconfigurar eventos"; the
pushes then carry the secret; without APP_PUBLIC_URL nothing is registered."""

from __future__ import annotations

import pytest

from harness.doubles.evolution import EvolutionDouble
from harness.doubles.waha import WahaDouble
from lib.event_registration import EventsTarget
from lib.instances import InstanceService
from lib.private_files import generated_secret
from lib.provider.evolution import EvolutionProvider
from lib.provider.waha import WahaProvider
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.conftest import ADMIN
from tests.support.receiver import Receiver

KEY = "provider-API-key-0123456789"
SECRET = "events-secret-" + "x" * 30


@pytest.fixture
def receiver():
    with Receiver() as app:
        yield app


@pytest.fixture(params=["evolution", "waha"])
def direct(request):
    """(double, provider) of each direct provider."""
    if request.param == "evolution":
        with EvolutionDouble(KEY) as evo:
            yield evo, EvolutionProvider(evo.base_url, KEY, sleep=lambda s: None)
    else:
        with WahaDouble(api_key=KEY) as waha:
            yield waha, WahaProvider(waha.base_url, KEY, sleep=lambda s: None)


def service(database, tmp_path, provider, target):
    return InstanceService(SQLiteInstanceStore(database), provider, ADMIN, CredentialRecovery(tmp_path), events=target)


def pushes_until(receiver, found) -> list:
    """What the receiver got, up to the first body `found` accepts (each wait is a safety net)."""
    got = []
    while not got or not found(got[-1][2]):
        got.append(receiver.next())
    return got


def scan(double, instance_id):
    double.simulate_scan(instance_id, "5511999998888")


def test_a_created_instance_pushes_its_changes_with_the_secret(direct, receiver, database, tmp_path):
    double, provider = direct
    target = EventsTarget(receiver.url("/api/provider-events"), SECRET)
    created = service(database, tmp_path, provider, target).create("Cobrança 01 – Ana")
    assert created.events_error is None
    svc = service(database, tmp_path, provider, target)
    svc.connect(created.instance)
    scan(double, created.instance.instance_id)
    pushes = pushes_until(receiver, lambda body: "'open'" in str(body) or "'WORKING'" in str(body))
    path, headers, _ = pushes[-1]
    assert path == "/api/provider-events"
    assert {k.lower(): v for k, v in headers.items()}["x-webhook-secret"] == SECRET
    kinds = [e.kind for e in SQLiteInstanceStore(database).events(instance_ids=[created.instance.id])]
    assert "created" in kinds


def test_without_a_public_url_nothing_is_registered(direct, database, tmp_path):
    double, provider = direct
    created = service(database, tmp_path, provider, EventsTarget.of(None, SECRET)).create("Sem URL")
    assert created.events_error is None
    assert EventsTarget.of(None, SECRET) is None and EventsTarget.of("https://painel.example.com/", SECRET).url == \
        "https://painel.example.com/api/provider-events"


def test_reconfigurar_eventos_registers_every_instance_and_records_who(direct, receiver, database, tmp_path):
    double, provider = direct
    made = service(database, tmp_path, provider, None).create("Antiga")  # before the app had a public URL
    svc = service(database, tmp_path, provider, EventsTarget(receiver.url("/api/provider-events"), SECRET))
    results = svc.reconfigure_events()
    assert [(instance.name, error) for instance, error in results] == [("Antiga", None)]
    events = SQLiteInstanceStore(database).events(instance_ids=[made.instance.id], kinds=["events_registered"])
    assert [(e.source, e.actor_email) for e in events] == [("user", ADMIN.email)]


def test_a_registration_the_provider_refuses_is_said_and_the_instance_still_created(database, tmp_path):
    with WahaDouble(api_key=KEY) as waha:
        provider = WahaProvider(waha.base_url, KEY, sleep=lambda s: None)
        waha.fail_next("PUT", "/api/sessions/recusada", 500, {"statusCode": 500, "message": "boom " + SECRET})
        target = EventsTarget("http://127.0.0.1:9/api/provider-events", SECRET)
        created = service(database, tmp_path, provider, target).create("Recusada")
    assert created.instance.name == "Recusada" and created.events_error
    assert SECRET not in created.events_error and KEY not in created.events_error


def test_the_generated_events_secret_is_kept_private_and_survives_a_restart(tmp_path):
    first = generated_secret(tmp_path)
    assert len(first) >= 32 and generated_secret(tmp_path) == first
    assert (tmp_path / "events_secret.txt").stat().st_mode & 0o777 == 0o600
    (tmp_path / "events_secret.txt").write_text("")  # a full disk once left it empty
    renewed = generated_secret(tmp_path)
    assert len(renewed) >= 32 and renewed != first
