"""What a browser session keeps of the store between runs.

Streamlit reruns the whole script on every click and every polling tick, so what a run shows comes
from here, not from the store: the list is read once and kept, with the store's version at that
moment, until a write invalidates it or the store's version moves (list_is_stale); what is
computed from it (the table) is kept beside it and dropped with it. Everything kept belongs to the
service that read it: a new role makes a new service (lib.ui.signed_in.check), and the list is
read again."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Hashable, TypeVar

import streamlit as st

from lib.errors import AppError
from lib.instances import InstanceService
from lib.models import Instance
from lib.ui import signed_in

INSTANCES_KEY = "instances"
DERIVED_KEY = "instances_derived"
CACHE_KEY = "store_cache"

T = TypeVar("T")


@dataclass(frozen=True)
class _Listed:
    service: InstanceService  # the one that read it
    version: Hashable  # the store's, read before the list
    instances: list[Instance]


def _listed() -> _Listed | None:
    """The kept list, while it belongs to this session's service."""
    listed = st.session_state.get(INSTANCES_KEY)
    if listed is not None and listed.service is not signed_in.service():
        invalidate_instances()
        return None
    return listed


def instances() -> list[Instance]:
    """The instance list, read once and kept until a write invalidates it or the store changes."""
    listed = _listed()
    if listed is None:
        service = signed_in.service()
        version = service.version()  # before the read: a write in between makes it stale, never lost
        listed = st.session_state[INSTANCES_KEY] = _Listed(service, version, service.list_instances())
    return listed.instances


def list_is_stale() -> bool:
    """Whether the store changed since the list was read (a monitor sweep, a provider event,
    another session's action): one cheap question to the store, no read of the list."""
    listed = st.session_state.get(INSTANCES_KEY)
    if listed is None:
        return False
    if listed.service is not signed_in.service():
        return True
    try:
        return listed.service.version() != listed.version
    except AppError:  # the store is unreachable: keep showing what was read, ask again next time
        return False


def derived(key: tuple, build: Callable[[], T]) -> T:
    """A value computed from the kept list (the list shown for the filters chosen, the summary's
    counts, the table), built on the first run that asks for `key` and dropped with the list. Per
    kind of value (key[0]) only the latest key is kept: a session looks at one filter at a time,
    and 1000-row tables per filter would add up over sessions."""
    kept = st.session_state.setdefault(DERIVED_KEY, {})
    cached = kept.get(key[0])
    if cached is None or cached[0] != key:
        cached = kept[key[0]] = (key, build())
    return cached[1]


def cached(key: Hashable, build: Callable[[], T]) -> T:
    """A value read or computed from the store (history, stats), kept until the store changes or the
    minute turns (their windows slide with time): computed once per change, not per rerun."""
    listed = _listed()
    stamp = (listed.version if listed else signed_in.service().version(), int(time.time() // 60))
    cache = st.session_state.get(CACHE_KEY)
    if cache is None or cache[0] != stamp:  # everything kept belongs to one stamp: no pile-up
        cache = st.session_state[CACHE_KEY] = (stamp, {})
    values = cache[1]
    if key not in values:
        values[key] = build()
    return values[key]


def invalidate_instances() -> None:
    st.session_state.pop(INSTANCES_KEY, None)
    st.session_state.pop(DERIVED_KEY, None)
