"""A fleet on one screen: the state each instance is in, as people tell them apart; the order that
puts problems first; the summary line's counts; and the filters (search, state, tag, owner).

Everything is derived from what the store already keeps (the seed's three stored statuses stay as
they are): a drop is a disconnect the provider made (`dropped`), "never connected" has no
first_connected_at, "sem resposta" is a failure streak, "não existe no provedor" the provider's
404. Nothing here imports streamlit.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from lib.models import FAILURES_BEFORE_NO_ANSWER, Instance
from lib.provider.http import MSG_INSTANCE_UNKNOWN

# In attention order: what needs someone first.
STATES = ("dropped", "gone", "no_answer", "waiting_qr", "never_connected", "disconnected", "connected")
STATE_LABELS = {
    "dropped": "Caiu",
    "gone": "Não existe no provedor",
    "no_answer": "Sem resposta",
    "waiting_qr": "Aguardando QR",
    "never_connected": "Nunca conectada",
    "disconnected": "Desconectada",
    "connected": "Conectada",
}
STATE_COLORS = {"dropped": "red", "gone": "red", "no_answer": "orange", "waiting_qr": "yellow",
                "never_connected": "blue", "disconnected": "gray", "connected": "green"}
STATE_ICONS = {
    "dropped": ":material/signal_disconnected:",
    "gone": ":material/cloud_off:",
    "no_answer": ":material/help:",
    "waiting_qr": ":material/qr_code_2:",
    "never_connected": ":material/radio_button_unchecked:",
    "disconnected": ":material/link_off:",
    "connected": ":material/check_circle:",
}
# The summary line: (state, one, many), in the order it reads.
_SUMMARY = (
    ("connected", "1 conectada", "{n} conectadas"),
    ("dropped", "1 caiu", "{n} caíram"),
    ("waiting_qr", "1 aguardando QR", "{n} aguardando QR"),
    ("never_connected", "1 nunca conectada", "{n} nunca conectadas"),
    ("no_answer", "1 sem resposta", "{n} sem resposta"),
    ("gone", "1 não existe no provedor", "{n} não existem no provedor"),
    ("disconnected", "1 desconectada", "{n} desconectadas"),
)
WAITING_TOO_LONG = timedelta(minutes=3)  # connecting longer than this comes before the other waits
PROBLEMS = ("dropped", "gone", "no_answer")  # counted in the browser tab's title
SORTS = {"attention": "Atenção primeiro", "name": "Nome", "changed": "Última mudança"}
NO_OWNER = ""  # the owner filter's "sem responsável"
_LETTER = re.compile(r"[^\W\d_]")


def state(instance: Instance) -> str:
    """One of STATES for the instance as stored. A drop stays "dropped" while someone tries to
    reconnect it (connecting) and after a try given up on, until it connects."""
    if instance.dropped and instance.status != "connected":
        return "dropped"
    if instance.last_error == MSG_INSTANCE_UNKNOWN:
        return "gone"
    if instance.check_failures >= FAILURES_BEFORE_NO_ANSWER:
        return "no_answer"
    if instance.status == "connected":
        return "connected"
    if instance.status == "connecting":
        return "waiting_qr"
    return "disconnected" if instance.first_connected_at is not None else "never_connected"


def changed_at(instance: Instance) -> datetime:
    """When its status last changed."""
    return instance.status_changed_at or instance.created_at


def dropped_at(instance: Instance) -> datetime:
    """When it dropped (for a row the store has no drop time for: its last change of status)."""
    return instance.dropped_at or changed_at(instance)


def in_state_since(instance: Instance) -> datetime:
    """Since when it is in its state: a drop since it dropped, any other since its last change."""
    return dropped_at(instance) if state(instance) == "dropped" else changed_at(instance)


def plain(text: str) -> str:
    """Case and accents folded, both ways: "cobranca" finds "Cobrança" and "COBRANÇA" "cobranca"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def sort_key(instance: Instance, how: str, now: datetime):
    """"attention": by STATES, the newest drop first, the longest wait first, then by name;
    "name"; "changed": the latest change of status first."""
    name = plain(instance.name)
    if how == "name":
        return (name,)
    moment = changed_at(instance).timestamp()
    if how == "changed":
        return (-moment, name)
    kind = state(instance)
    if kind == "dropped":
        return (STATES.index(kind), 0, -dropped_at(instance).timestamp(), name)
    if kind == "waiting_qr":
        too_long = now - changed_at(instance) > WAITING_TOO_LONG
        return (STATES.index(kind), 0 if too_long else 1, moment, name)
    return (STATES.index(kind), 0, 0.0, name)


def ordered(instances: list[Instance], how: str = "attention", now: datetime | None = None) -> list[Instance]:
    now = now or datetime.now(timezone.utc)
    return sorted(instances, key=lambda instance: sort_key(instance, how, now))


@dataclass(frozen=True)
class Filters:
    """What the list shows: a search (name or number), states (None: all), tags (any of them; none:
    all) and an owner (None: anyone; NO_OWNER: nobody's)."""

    query: str = ""
    states: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None

    def keeps(self, instance: Instance) -> bool:
        return ((self.states is None or state(instance) in self.states)
                and (not self.tags or any(tag in instance.tags for tag in self.tags))
                and (self.owner is None or (instance.owner_id or NO_OWNER) == self.owner)
                and _matches(instance, self.query))


def _matches(instance: Instance, query: str) -> bool:
    """The whole query is in the name, or else each of its words is (case and accents ignored:
    "judicial sp" finds "Cobrança Judicial – SP"); a run of words without letters is a number, typed
    in any format ("+55 11 91585-3049"), found in the name or, with 3 digits or more, in a number."""
    wanted = plain((query or "").strip())
    name = plain(instance.name)
    if not wanted or wanted in name:
        return True
    numbers = [re.sub(r"\D", "", number or "") for number in (instance.phone_number, instance.last_phone_number)]
    for is_word, run in itertools.groupby(wanted.split(), key=lambda word: bool(_LETTER.search(word))):
        if is_word:
            if not all(word in name for word in run):
                return False
            continue
        digits = re.sub(r"\D", "", "".join(run))
        if digits and digits not in name and not (len(digits) >= 3 and any(digits in n for n in numbers)):
            return False
    return True


def counts(instances: list[Instance]) -> dict[str, int]:
    found = {kind: 0 for kind in STATES}
    for instance in instances:
        found[state(instance)] += 1
    return found


def summary_parts(found: dict[str, int]) -> list[tuple[str, str]]:
    """(state, "4 caíram") for each state with instances, in the summary's order."""
    return [(kind, one if found[kind] == 1 else many.format(n=found[kind]))
            for kind, one, many in _SUMMARY if found.get(kind)]


def problems(found: dict[str, int]) -> int:
    """How many need someone now (the browser tab's title carries it)."""
    return sum(found[kind] for kind in PROBLEMS)


def tags_of(instances: list[Instance]) -> list[str]:
    """Every tag in use, in alphabetical order (accents and case ignored)."""
    return sorted({tag for instance in instances for tag in instance.tags}, key=plain)


def news_of_drops(instances: list[Instance], since: datetime, dismissed: set[tuple[str, datetime]]) -> list[Instance]:
    """The drops a page open since `since` announces: instances that dropped after it, still down,
    not dismissed (a dismissal is of one drop: (id, when it dropped)); the newest first."""
    found = [instance for instance in instances
             if state(instance) == "dropped" and dropped_at(instance) >= since
             and (instance.id, dropped_at(instance)) not in dismissed]
    return sorted(found, key=dropped_at, reverse=True)
