"""The service when things go wrong, over real HTTP against the sandbox provider with a real SQLite
file: a failed save, a damaged recovery file, rows changed meanwhile, a sweep's failures, two
creates at once, and tokens kept out of the logs."""

from __future__ import annotations

import logging

import pytest
import requests

from lib.errors import PermissionDenied, ProviderError, StoreError, ValidationError
from lib.instances import InstanceService
from lib.unsaved import CredentialsNotSaved
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN, ANALYST
from tests.test_instances import connected_instance, make_service, sandbox, scan  # noqa: F401 - fixtures


class FailingStore(SQLiteInstanceStore):
    def insert_instance(self, **kwargs):
        raise StoreError("Falha ao acessar o banco de dados local.")


def test_credentials_survive_a_failed_save_and_can_be_saved_again(make_service, database, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    broken = make_service(store=FailingStore(database))
    with pytest.raises(CredentialsNotSaved) as raised:
        broken.create("Cobrança")
    token = raised.value.token
    assert token not in raised.value.message
    recovery_file = tmp_path / "unsaved_instances.json"
    assert recovery_file.stat().st_mode & 0o777 == 0o600
    assert token in recovery_file.read_text()
    assert token not in caplog.text

    healthy = make_service()
    [pending] = healthy.unsaved_instances()
    saved = healthy.save_unsaved(pending.instance_id)
    assert healthy.token(saved.id) == token
    assert healthy.unsaved_instances() == []


def test_credentials_are_shown_and_the_id_logged_when_the_recovery_file_is_damaged(
        make_service, database, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    recovery_file = tmp_path / "unsaved_instances.json"
    recovery_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(CredentialsNotSaved) as raised:
        make_service(store=FailingStore(database)).create("Cobrança")
    assert not raised.value.kept and raised.value.token  # the screen still has them
    assert raised.value.instance_id in caplog.text and raised.value.token not in caplog.text
    assert recovery_file.read_text(encoding="utf-8") == "{not json"  # nothing overwritten
    with pytest.raises(StoreError, match="danificado"):
        make_service().unsaved_instances()


def test_disconnect_and_delete_act_on_the_current_row_not_the_one_on_screen(sandbox, database, tmp_path):
    from dataclasses import replace

    without_delete = replace(sandbox.webhook_settings(), delete_url=None)  # so the provider keeps it to ask
    service = InstanceService(SQLiteInstanceStore(database), WebhookClient(without_delete), ADMIN,
                              CredentialRecovery(tmp_path))
    connected = connected_instance(service, sandbox)
    service.disconnect(connected)  # another admin, while this screen still showed it connected
    with pytest.raises(ValidationError, match="já está desconectada"):
        service.disconnect(connected)

    seen_disconnected = service.store.get_instance(connected.id)
    reconnected = service.connect(seen_disconnected).instance  # connected again meanwhile
    scan(sandbox, reconnected)
    assert service.check_status(reconnected).status == "connected"
    token = service.token(connected.id)
    service.delete(seen_disconnected)  # the screen still says disconnected
    assert service.list_instances() == []
    reply = requests.get(without_delete.status_url, params={"instance_id": connected.instance_id, "token": token},
                         timeout=5)
    assert reply.json() == {"status": "disconnected"}  # disconnected at the provider all the same


def test_refresh_all_writes_only_changes_and_isolates_failures(make_service, sandbox, database):
    service = make_service()
    connected, idle = service.create("Conecta").instance, service.create("Parada").instance
    service.connect(connected)
    scan(sandbox, connected)
    # An instance the provider does not know: its refresh fails alone.
    ghost = service.store.insert_instance(instance_id="sbx-ghost", token="t", name="Fantasma", created_by=None)
    results = {r.before.name: r for r in service.refresh_all(service.list_instances())}
    assert results["Conecta"].changed and results["Conecta"].after.status == "connected"
    assert not results["Parada"].changed and results["Parada"].error is None
    assert results["Fantasma"].error == "Instância não encontrada no provedor."
    ghost_after = service.store.get_instance(ghost.id)
    assert ghost_after.status == ghost.status and ghost_after.last_checked_at is None  # a failure flips nothing
    assert (ghost_after.last_error, ghost_after.check_failures) == ("Instância não encontrada no provedor.", 1)
    idle_after = service.store.get_instance(idle.id)
    assert idle_after.updated_at == idle.updated_at and idle_after.status == idle.status  # not changed...
    assert idle_after.last_checked_at is not None  # ...only marked checked
    assert service.store.get_instance(connected.id).status == "connected"


def test_refresh_all_is_admin_only(make_service):
    with pytest.raises(PermissionDenied):
        make_service(ANALYST).refresh_all([])


def test_concurrent_creates_of_the_same_name_make_one_instance(make_service, sandbox):
    import threading

    outcomes, barrier = [], threading.Barrier(4)

    def submit():
        barrier.wait()
        try:
            outcomes.append(make_service().create("Cobrança"))
        except ValidationError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sandbox.instance_count() == 1
    assert len(make_service().list_instances()) == 1
    assert sum(isinstance(o, ValidationError) for o in outcomes) == 3


def test_tokens_never_reach_the_logs(make_service, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    service = make_service()
    created = service.create("Cobrança")
    connecting = service.connect(created.instance)
    scan(sandbox, created.instance)
    connected = service.check_status(connecting.instance)
    service.disconnect(connected)
    service.delete(service.store.get_instance(created.instance.id))
    assert caplog.records  # the flows did log
    assert created.token not in caplog.text


def test_a_refused_disconnect_of_a_dropped_number_being_reconnected_keeps_the_drop(make_service, sandbox, database,
                                                                                  monkeypatch):
    from lib.checks import apply_event
    from lib.provider.base import ProviderEvent

    service, store = make_service(), SQLiteInstanceStore(database)
    live = connected_instance(service, sandbox)
    assert sandbox.simulate_drop(live.instance_id)  # the phone lost WhatsApp; the provider says so:
    apply_event(store, ProviderEvent(live.instance_id, "disconnected", None, reason="428"))
    dropped = store.get_instance(live.id)
    reconnecting = service.connect(dropped).instance
    assert (reconnecting.status, reconnecting.dropped) == ("connecting", True)

    def refuse(*args):
        raise ProviderError("O provedor não respondeu.", action="disconnect")

    with monkeypatch.context() as patched:
        patched.setattr(service.provider, "disconnect", refuse)
        with pytest.raises(ProviderError):
            service.disconnect(reconnecting)
    after = store.get_instance(live.id)  # put back as it was, still that drop
    assert (after.status, after.dropped, after.dropped_at, after.disconnect_reason) == (
        "connecting", True, dropped.dropped_at, "428")
    done = service.disconnect(after)  # the provider did it: a person's disconnect ends the drop
    assert (done.status, done.dropped, done.dropped_at, done.disconnect_reason) == ("disconnected", False, None, None)
