"""Checks: the provider's word on instances, written to the store. The monitor's sweeps
(lib.monitor), an admin's "Verificar agora" and the connect dialog's polling (lib.instances) ask
the same way, and pushed provider events are applied the same way (apply_event).

Every status write is a compare-and-set on the status read before the call, so a late reply never
undoes a user's action. A failed check leaves the status alone and records the message; after
FAILURES_BEFORE_NO_ANSWER failures in a row the card says the provider has not answered since the
last good check, and the row is not written again until the streak ends.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

from lib import history
from lib.errors import AppError, InstanceNotFound, ProviderError
from lib.models import FAILURES_BEFORE_NO_ANSWER, CheckResult, Instance, Origin
from lib.provider.base import LIST, Provider, ProviderEvent, RemoteInstance, StatusReply
from lib.provider.http import MAX_PARALLEL_CALLS, MSG_INSTANCE_UNKNOWN
from lib.store.base import InstanceStore, ServerStore

log = logging.getLogger(__name__)

MONITOR = Origin("monitor")
MAX_EVENT_ATTEMPTS = 3  # an event that keeps losing to concurrent writes gives up (the next sweep settles it)
PROVIDER_EVENT = Origin("provider_event")


def apply_status(store: InstanceStore, instance: Instance, status: str, phone_number: str | None,
                 origin: Origin, *, reason: str | None = None) -> Instance | None:
    """Write what the provider said, if it differs from `instance` (the row as read before asking),
    with its history event. Returns the row as stored afterwards, or None when nothing differed (the
    caller marks it checked). A connected reply without a number keeps the number already known.
    When another word came first (the compare-and-set refused: a user's action, another check) the
    row is returned as it is now, and nothing is written: whoever changed it wrote its own event."""
    if _same(instance, status, phone_number):
        return None
    return _write(store, instance, status, phone_number, origin, reason=reason) or store.get_instance(instance.id)


def _same(instance: Instance, status: str, phone_number: str | None) -> bool:
    return (status, _phone(instance, status, phone_number)) == (instance.status, instance.phone_number)


def _phone(instance: Instance, status: str, phone_number: str | None) -> str | None:
    return (phone_number or instance.phone_number) if status == "connected" else None


def _write(store: InstanceStore, instance: Instance, status: str, phone_number: str | None, origin: Origin, *,
           reason: str | None = None, event_at: int | None = None) -> Instance | None:
    """The compare-and-set write of a new status and its history event; None when refused."""
    after = store.record_check(instance.id, status=status, phone_number=_phone(instance, status, phone_number),
                               expected_status=instance.status, reason=reason, event_at=event_at)
    if after is None:
        return None
    event = history.transition_event(instance, after, source=origin.source, actor=origin.actor)
    if event:
        history.record(store, event)
    _check_recovered(store, instance, origin)
    return after


def record_failure(store: InstanceStore, instance: Instance, message: str, origin: Origin) -> None:
    """Keep a failed check's message on the row (the status stays as it was); once the streak has
    reached FAILURES_BEFORE_NO_ANSWER with the same message there is nothing new to write. The
    history gets the start of a streak, not every failure."""
    if instance.check_failures >= FAILURES_BEFORE_NO_ANSWER and instance.last_error == message:
        return
    try:
        store.record_check_failure(instance.id, error=message, max_failures=FAILURES_BEFORE_NO_ANSWER)
    except InstanceNotFound:
        raise  # deleted meanwhile: that, not the provider's failure, is the news
    except AppError:
        return  # the store is down: the check's own error says enough
    if instance.check_failures == 0:
        history.record(store, history.check_event(instance, "check_failed", source=origin.source,
                                                  actor=origin.actor, detail=message))


def _check_recovered(store: InstanceStore, instance: Instance, origin: Origin) -> None:
    """A check answered after a failure streak: the history gets its end."""
    if instance.check_failures:
        history.record(store, history.check_event(instance, "check_recovered", source=origin.source,
                                                  actor=origin.actor, detail=None))


def check_status(store: InstanceStore, provider: Provider, instance: Instance, token: str,
                 origin: Origin) -> Instance:
    """Ask the provider for one instance and record the answer; returns the row as stored after it.
    Raises the ProviderError of a failed check, after recording it."""
    try:
        reply = provider.status(instance.instance_id, token)
    except ProviderError as exc:
        record_failure(store, instance, exc.message, origin)  # raises InstanceNotFound if it is gone
        raise
    after = apply_status(store, instance, reply.status, reply.phone_number, origin, reason=reply.reason)
    if after is None and (instance.last_error or instance.check_failures):
        store.mark_checked([instance.id])
        _check_recovered(store, instance, origin)
    return after or instance


def check_all(
    store: InstanceStore, provider: Provider, instances: list[Instance], token_of: Callable[[Instance], str],
    origin: Origin,
) -> list[CheckResult]:
    """The provider's word on every instance: one request listing them all when the provider can
    (lib.provider.base.LIST; an instance missing from the list is unknown there), else one status
    call per instance, at most MAX_PARALLEL_CALLS in flight, so one slow or failing instance
    neither holds up nor fails the others (also the fallback when the list fails). Changes are
    written one by one; the rows that answered unchanged are marked checked together, in one write."""
    unchanged: list[Instance] = []
    if not instances:
        return []
    listed = _listed(provider)

    def check(instance: Instance) -> CheckResult:
        try:
            reply = _listed_reply(listed, instance) if listed is not None else provider.status(
                instance.instance_id, token_of(instance))
            after = apply_status(store, instance, reply.status, reply.phone_number, origin, reason=reply.reason)
        except ProviderError as exc:
            try:
                record_failure(store, instance, exc.message, origin)
            except InstanceNotFound as gone:
                return CheckResult(instance, error=gone.message)
            return CheckResult(instance, error=exc.message)
        except AppError as exc:
            return CheckResult(instance, error=exc.message)
        if after is None:
            unchanged.append(instance)
        return CheckResult(instance, after=after or instance)

    if listed is not None:
        results = [check(instance) for instance in instances]
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_CALLS, len(instances))) as pool:
            results = list(pool.map(check, instances))
    if unchanged:
        store.mark_checked([instance.id for instance in unchanged])
        for instance in unchanged:
            _check_recovered(store, instance, origin)
    return results


def _listed(provider: Provider) -> dict[str, RemoteInstance] | None:
    """Every instance at the provider by its id, in one request; None when the provider cannot list
    them or the list failed (then each instance is asked about on its own)."""
    if LIST not in provider.capabilities:
        return None
    try:
        return {remote.instance_id: remote for remote in provider.list_instances()}
    except ProviderError as exc:
        log.warning("listing the provider's instances failed (%s): asking about each one", exc.message)
        return None


def _listed_reply(listed: dict[str, RemoteInstance], instance: Instance) -> StatusReply:
    remote = listed.get(instance.instance_id)
    if remote is None:
        raise ProviderError(MSG_INSTANCE_UNKNOWN, action="status", retryable=False, status_code=404)
    return StatusReply(remote.status, remote.phone_number, remote.reason)


def apply_event(store: ServerStore, event: ProviderEvent) -> Instance | None:
    """Apply a change the provider pushed. Returns the row after it, or None when no instance has
    that provider id (nothing is written). Events are ordered by the provider's own time: one older
    than the last applied (a late delivery) is written to the history and changes nothing, so a
    stale "open" never hides a drop. An event with no status (a new QR) writes nothing."""
    instance = store.find_by_instance_id(event.instance_id)
    if instance is None or event.status is None:
        return instance
    for _ in range(MAX_EVENT_ATTEMPTS):
        if event.at is not None and instance.provider_event_at is not None and event.at <= instance.provider_event_at:
            history.record(store, history.stale_event(instance, event.status))
            return instance
        if _same(instance, event.status, event.phone_number):
            if event.at is None or store.note_event_time(instance.id, event.at):
                store.mark_checked([instance.id])
                _check_recovered(store, instance, PROVIDER_EVENT)
                return instance if event.at is None else replace(instance, provider_event_at=event.at)
        else:
            after = _write(store, instance, event.status, event.phone_number, PROVIDER_EVENT, reason=event.reason,
                           event_at=event.at)
            if after is not None:
                return after
        instance = store.get_instance(instance.id)  # another word came first: weigh the event against it
    return instance
