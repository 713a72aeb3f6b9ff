"""Webhook faults at the service (tests/provider/test_webhook_faults.py): a real SQLite store, the
stored instance exactly as it was (and create adds no row), per-instance results in a bulk refresh."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import pytest

from lib.errors import ProviderError
from lib.instances import InstanceService
from lib.models import Instance
from lib.store.recovery import CredentialRecovery
from lib.store.sqlite.database import SQLiteDatabase
from lib.store.sqlite.instances import SQLiteInstanceStore
from lib.provider.webhooks import WebhookClient
from tests.conftest import ADMIN
from tests.provider.test_webhook_faults import (  # noqa: F401 - broken and provider are fixtures
    FAULTS, TOKEN, assert_user_safe, broken, expected_message, provider,
)


@dataclass(frozen=True)
class Operation:
    action: str  # the webhook the operation calls
    seed_status: str  # chosen so that a successful call would change the row
    run: Callable[[InstanceService, Instance], object]


OPERATIONS = {
    "connect": Operation("connect", "disconnected", lambda service, instance: service.connect(instance)),
    "check_status": Operation("status", "connected", lambda service, instance: service.check_status(instance)),
    "disconnect": Operation("disconnect", "connected", lambda service, instance: service.disconnect(instance)),
    "delete": Operation("disconnect", "connected", lambda service, instance: service.delete(instance)),
}
SERVICE_CASES = [
    (name, fault) for name, op in OPERATIONS.items() for fault, spec in FAULTS.items() if op.action in spec.actions
]


@pytest.fixture
def store(tmp_path):
    return SQLiteInstanceStore(SQLiteDatabase.in_dir(tmp_path))


@pytest.fixture
def recovery(tmp_path):
    return CredentialRecovery(tmp_path)


def seed(store: SQLiteInstanceStore, status: str) -> Instance:
    instance = store.insert_instance(instance_id="inst-seeded", token=TOKEN, name="Cobrança", created_by=ADMIN.id)
    phone = "+5511999990000" if status == "connected" else None
    return store.update_status(instance.id, status=status, phone_number=phone)


def service_for(settings, store, recovery) -> InstanceService:
    return InstanceService(store, WebhookClient(settings), ADMIN, recovery)


@pytest.mark.parametrize("operation, fault", SERVICE_CASES)
def test_service_keeps_the_stored_instance_as_it_was(broken, store, recovery, operation, fault):
    op = OPERATIONS[operation]
    before = seed(store, op.seed_status)
    service = service_for(broken(op.action, fault), store, recovery)
    with pytest.raises(ProviderError) as info:
        op.run(service, before)
    assert expected_message(fault, op.action) in info.value.message
    assert_user_safe(info.value)
    [after] = store.list_instances()
    if op.action == "status":  # a failed check flips nothing; it only records its message
        assert (after.status, after.phone_number) == (before.status, before.phone_number)
        assert (after.last_error, after.check_failures) == (info.value.message, 1)
        after = replace(after, last_error=None, check_failures=0, updated_at=before.updated_at)
    if op.action == "disconnect":  # written ahead of the provider (lib.instances), put back when it fails
        assert kept(after) == kept(before)
        return
    assert after == before
    assert store.instance_token(before.id) == TOKEN


@pytest.mark.parametrize("fault", [fault for fault, spec in FAULTS.items() if "create" in spec.actions])
def test_failed_create_adds_nothing(broken, store, recovery, fault):
    existing = seed(store, "connected")
    service = service_for(broken("create", fault), store, recovery)
    with pytest.raises(ProviderError) as info:
        service.create("Nova")
    assert expected_message(fault, "create") in info.value.message
    assert_user_safe(info.value)
    assert store.list_instances() == [existing]
    assert recovery.pending() == [] and not recovery.path.exists()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_service_control_a_healthy_provider_changes_the_row(provider, store, recovery, operation):
    """Control: the same calls against a healthy provider do change the row."""
    op = OPERATIONS[operation]
    before = seed(store, op.seed_status)
    op.run(service_for(provider.webhook_settings(), store, recovery), before)
    assert store.list_instances() != [before]


def test_delete_goes_ahead_when_the_provider_no_longer_knows_the_instance(broken, store, recovery):
    """A 404 on the disconnect before a delete means there is nothing to disconnect."""
    instance = seed(store, "connected")
    service_for(broken("disconnect", "not_found"), store, recovery).delete(instance)
    assert store.list_instances() == []


def test_disconnect_of_an_instance_unknown_to_the_provider_keeps_the_row(broken, store, recovery):
    instance = seed(store, "connected")
    with pytest.raises(ProviderError, match="Instância não encontrada no provedor."):
        service_for(broken("disconnect", "not_found"), store, recovery).disconnect(instance)
    assert [kept(i) for i in store.list_instances()] == [kept(instance)]


def kept(instance):
    """What a failed Desconectar keeps of the row: its status, its number, and whether it dropped
    (the row is written ahead of the provider's call and put back when that fails, so the times of
    the change move)."""
    return (instance.id, instance.name, instance.status, instance.phone_number, instance.last_phone_number,
            instance.dropped, instance.first_connected_at)


@pytest.mark.parametrize("fault", ["status_5xx", "html_page", "unknown_status", "huge_body"])
def test_bulk_refresh_reports_the_fault_per_instance(broken, store, recovery, fault):
    instance = seed(store, "connected")
    [result] = service_for(broken("status", fault), store, recovery).refresh_all([instance])
    assert result.after is None and expected_message(fault, "status") in result.error
    [after] = store.list_instances()
    assert (after.status, after.phone_number, after.last_error) == (instance.status, instance.phone_number, result.error)
