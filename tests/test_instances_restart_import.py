"""The service's restart and import, and a connect that finds the number connected already, over
real HTTP against the sandbox provider with a real SQLite file."""

from __future__ import annotations

import pytest

from lib.errors import PermissionDenied, ValidationError
from lib.instances import InstanceService
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN, ANALYST, SUPERVISOR
from tests.test_instances import connected_instance, make_service, sandbox  # noqa: F401 - fixtures


@pytest.fixture
def sandbox_service(database, sandbox, tmp_path):
    """A service with the sandbox as the app's provider (it restarts and lists its instances)."""
    from lib.provider.sandbox.client import SandboxClient

    return lambda user=ADMIN: InstanceService(SQLiteInstanceStore(database), SandboxClient(sandbox), user,
                                              CredentialRecovery(tmp_path))


def test_reiniciar_asks_the_provider_and_the_history_records_who(sandbox_service, sandbox, database):
    service = sandbox_service()
    instance = connected_instance(service, sandbox)
    service.restart(instance)
    assert SQLiteInstanceStore(database).get_instance(instance.id).status == "connected"
    [event] = SQLiteInstanceStore(database).events(instance_ids=[instance.id], kinds=["restarted"])
    assert (event.source, event.actor_email) == ("user", ADMIN.email)
    with pytest.raises(PermissionDenied):
        sandbox_service(SUPERVISOR).restart(instance)


def test_reiniciar_is_refused_when_the_provider_cannot(database, sandbox, tmp_path):
    from dataclasses import replace

    without_restart = WebhookClient(replace(sandbox.webhook_settings(), restart_url=None))
    service = InstanceService(SQLiteInstanceStore(database), without_restart, ADMIN, CredentialRecovery(tmp_path))
    instance = service.create("Sem reinício").instance
    with pytest.raises(ValidationError, match="não oferece esta ação"):
        service.restart(instance)


def test_importar_lists_what_the_provider_has_and_the_dashboard_does_not_and_adds_it(sandbox_service, sandbox, database):
    from lib.provider.sandbox.client import SandboxClient

    service = sandbox_service()
    service.create("Já no painel")
    elsewhere = SandboxClient(sandbox).create("Criada fora do painel")  # e.g. in the provider's own manager
    SandboxClient(sandbox).connect(elsewhere.instance_id, elsewhere.token)
    sandbox.simulate_scan(elsewhere.instance_id)
    [remote] = service.importable()
    assert (remote.instance_id, remote.name, remote.status) == (elsewhere.instance_id, "Criada fora do painel", "connected")
    imported = service.import_instance(remote)
    assert (imported.name, imported.status, imported.phone_number) == (
        "Criada fora do painel", "connected", remote.phone_number)
    assert service.token(imported.id) == elsewhere.token  # the token came from the provider
    assert service.importable() == []
    kinds = [e.kind for e in SQLiteInstanceStore(database).events(instance_ids=[imported.id], oldest_first=True)]
    assert kinds == ["imported", "connected"]
    with pytest.raises(PermissionDenied):
        sandbox_service(ANALYST).importable()


def test_a_connect_that_finds_the_number_connected_shows_it_connected(database, tmp_path):
    from harness.doubles.evolution import EvolutionDouble
    from lib.provider.evolution import EvolutionProvider

    with EvolutionDouble("evo-key-0123456789") as evo:
        service = InstanceService(SQLiteInstanceStore(database),
                                  EvolutionProvider(evo.base_url, "evo-key-0123456789", sleep=lambda s: None),
                                  ADMIN, CredentialRecovery(tmp_path))
        instance = service.create("Já conectada").instance
        service.connect(instance)
        evo.simulate_scan(instance.instance_id, "5511999998888")  # scanned: the app has not heard yet
        again = service.connect(SQLiteInstanceStore(database).get_instance(instance.id))
    assert again.already_connected and again.qr is None
    assert (again.instance.status, again.instance.phone_number) == ("connected", "+5511999998888")


def test_with_the_webhook_contract_a_409_on_connect_is_a_number_connected_already(make_service, sandbox):
    """The sandbox and the shipped n8n workflow answer 409 to a connect of a connected number: the
    card shows it connected, with its number, instead of an error."""
    service = make_service()
    instance = connected_instance(service, sandbox)
    stale = SQLiteInstanceStore(service.store.db).update_status(instance.id, status="disconnected", phone_number=None)
    again = service.connect(stale)
    assert again.already_connected and again.qr is None
    assert (again.instance.status, again.instance.phone_number) == ("connected", instance.phone_number)
