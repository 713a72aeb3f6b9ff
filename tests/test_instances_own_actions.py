"""A user's own Desconectar or Reiniciar is never a drop, even when the provider's push of what it
did lands before its reply (Evolution pushes a logout back as a close with 401; WAHA pushes a
restart's STOPPED while it answers), and a provider that refuses leaves the row as it was. Over real
HTTP against the sandbox, with a real SQLite file."""

from __future__ import annotations

import pytest
import requests

from lib.checks import apply_event
from lib.errors import ProviderError
from lib.instances import InstanceService
from lib.models import Instance
from lib.provider.base import ProviderEvent
from lib.provider.sandbox.client import SandboxClient
from lib.provider.sandbox.provider import SandboxProvider
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.instances import SQLiteInstanceStore
from tests.conftest import ADMIN


class PushedBeforeTheReply(SandboxClient):
    """The sandbox's client, whose provider pushes `pushed` ("disconnected", with its reason) to
    the app while it still works on a disconnect or a restart."""

    def __init__(self, sandbox: SandboxProvider, store: SQLiteInstanceStore, reason: str | None):
        super().__init__(sandbox)
        self.store, self.reason = store, reason

    def disconnect(self, instance_id: str, token: str) -> None:
        super().disconnect(instance_id, token)
        self._push(instance_id)

    def restart(self, instance_id: str, token: str) -> None:
        super().restart(instance_id, token)
        self._push(instance_id)

    def _push(self, instance_id: str) -> None:
        apply_event(self.store, ProviderEvent(instance_id, "disconnected", None, reason=self.reason))


@pytest.fixture
def sandbox():
    with SandboxProvider() as provider:
        yield provider


def connected(sandbox, database, tmp_path, reason: str | None = None) -> tuple[InstanceService, Instance]:
    store = SQLiteInstanceStore(database)
    service = InstanceService(store, PushedBeforeTheReply(sandbox, store, reason), ADMIN, CredentialRecovery(tmp_path))
    instance = service.connect(service.create("Cobrança").instance).instance
    assert requests.get(sandbox.scan_url(instance.instance_id), timeout=5).status_code == 200
    instance = service.check_status(instance)
    assert instance.status == "connected"
    return service, instance


def drops(service: InstanceService) -> list:
    return service.store.events(kinds=["dropped"])


def test_a_disconnect_whose_close_is_pushed_before_its_reply_is_not_a_drop(sandbox, database, tmp_path):
    service, instance = connected(sandbox, database, tmp_path, reason="401")
    service.disconnect(instance)
    after = service.store.get_instance(instance.id)
    assert (after.status, after.dropped, after.disconnect_reason) == ("disconnected", False, None)
    assert drops(service) == []
    assert [e.kind for e in service.store.events(instance_ids=[instance.id])][0] == "disconnected"


def test_deleting_a_connected_instance_whose_close_is_pushed_before_the_reply_is_no_drop(sandbox, database, tmp_path):
    service, instance = connected(sandbox, database, tmp_path, reason="401")
    service.delete(instance)
    assert drops(service) == []
    assert [e.kind for e in service.store.events(instance_ids=[instance.id])][0] == "deleted"


def test_a_restart_whose_stop_is_pushed_before_its_reply_is_not_a_drop(sandbox, database, tmp_path):
    service, instance = connected(sandbox, database, tmp_path)
    service.restart(instance)
    after = service.store.get_instance(instance.id)
    assert after.status != "connected" and not after.dropped  # no longer connected, and not dropped
    assert drops(service) == []
    [restarted] = service.store.events(kinds=["restarted"])
    assert (restarted.from_status, restarted.to_status) == ("connected", "connecting")


@pytest.mark.parametrize("action", ["disconnect", "restart"])
def test_a_provider_that_fails_leaves_the_row_as_it_was(sandbox, database, tmp_path, action):
    service, instance = connected(sandbox, database, tmp_path)
    sandbox.stop()
    with pytest.raises(ProviderError):
        getattr(service, action)(instance)
    after = service.store.get_instance(instance.id)
    assert (after.status, after.phone_number) == ("connected", instance.phone_number)
    assert service.store.events(kinds=["disconnected", "restarted"]) == []
