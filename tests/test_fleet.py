"""The fleet's states, attention order, summary and filters (lib.fleet), from rows as stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from lib.fleet import Filters, counts, ordered, plain, problems, state, summary_parts, tags_of
from lib.models import Instance
from lib.provider.http import MSG_INSTANCE_UNKNOWN

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def row(name: str, status: str = "disconnected", *, minutes_ago: float = 60, **fields) -> Instance:
    at = NOW - timedelta(minutes=minutes_ago)
    return Instance(id=name, instance_id=name, name=name, phone_number=None, status=status, created_at=NOW - timedelta(days=9),
                    updated_at=at, created_by=None, status_changed_at=at, **fields)


EVER = {"first_connected_at": NOW - timedelta(days=8)}


@pytest.mark.parametrize("instance, expected", [
    (row("a", dropped=True, **EVER), "dropped"),
    (row("b", "connected", last_error=MSG_INSTANCE_UNKNOWN, check_failures=1, **EVER), "gone"),
    (row("c", "connected", check_failures=3, last_error="Tempo esgotado", **EVER), "no_answer"),
    (row("c2", "connected", check_failures=2, last_error="Tempo esgotado", **EVER), "connected"),  # 3 make the streak
    (row("d", "connecting"), "waiting_qr"),
    (row("e"), "never_connected"),
    (row("f", **EVER), "disconnected"),
    (row("g", "connected", **EVER), "connected"),
    (row("h", dropped=True, check_failures=3, **EVER), "dropped"),  # down is the news, not the silence since
    (row("i", "connecting", dropped=True, **EVER), "dropped"),  # someone tries to reconnect it: still down
])
def test_each_state_comes_from_what_the_store_keeps(instance, expected):
    assert state(instance) == expected


def test_attention_order_puts_the_newest_drop_first_and_the_longest_wait_before_the_rest():
    fleet = [
        row("Conectada", "connected", **EVER),
        row("Desligada por alguém", **EVER),
        row("Nova", minutes_ago=0.5),
        row("Esperando há pouco", "connecting", minutes_ago=1),
        row("Esperando há muito", "connecting", minutes_ago=10),
        row("Sem resposta", "connected", check_failures=3, **EVER),
        row("Caiu cedo", dropped=True, minutes_ago=300, **EVER),
        row("Caiu agora", dropped=True, minutes_ago=2, **EVER),
        row("Sumiu", last_error=MSG_INSTANCE_UNKNOWN, **EVER),
    ]
    assert [i.name for i in ordered(fleet, now=NOW)] == [
        "Caiu agora", "Caiu cedo", "Sumiu", "Sem resposta", "Esperando há muito", "Esperando há pouco", "Nova",
        "Desligada por alguém", "Conectada"]
    assert [i.name for i in ordered(fleet, "name", now=NOW)][:3] == ["Caiu agora", "Caiu cedo", "Conectada"]
    assert [i.name for i in ordered(fleet, "changed", now=NOW)][:2] == ["Nova", "Esperando há pouco"]


def test_the_summary_counts_each_state_in_pt_br():
    fleet = ([row(f"c{n}", "connected", **EVER) for n in range(36)] + [row(f"d{n}", dropped=True, **EVER) for n in range(4)]
             + [row("q", "connecting")] + [row(f"n{n}") for n in range(19)]
             + [row("s", "connected", check_failures=3, **EVER)])
    found = counts(fleet)
    assert " · ".join(text for _, text in summary_parts(found)) == \
        "36 conectadas · 4 caíram · 1 aguardando QR · 19 nunca conectadas · 1 sem resposta"
    assert problems(found) == 5
    assert [text for _, text in summary_parts(counts([row("x", dropped=True, **EVER), row("y")]))] == [
        "1 caiu", "1 nunca conectada"]


def test_search_ignores_case_and_accents_both_ways_and_finds_numbers():
    fleet = [row("Cobrança 01"), row("COBRANCA 02"), replace(row("Suporte"), last_phone_number="+5511915853049")]
    assert [i.name for i in fleet if Filters("cobranca").keeps(i)] == ["Cobrança 01", "COBRANCA 02"]
    assert [i.name for i in fleet if Filters("Cobrança").keeps(i)] == ["Cobrança 01", "COBRANCA 02"]
    assert [i.name for i in fleet if Filters("91585").keeps(i)] == ["Suporte"]
    assert [i.name for i in fleet if Filters("+55 11 91585-3049").keeps(i)] == ["Suporte"]  # digits typed as shown


def test_search_finds_every_word_anywhere_in_the_name_or_number():
    fleet = [row("Cobrança Judicial – Carteira PJ Jurídica SPX"), row("Cobrança 0001"),
             replace(row("Cobrança 0003"), phone_number="+5511950107001"), row("Suporte SP")]
    assert [i.name for i in fleet if Filters("judicial sp").keeps(i)] == ["Cobrança Judicial – Carteira PJ Jurídica SPX"]
    assert [i.name for i in fleet if Filters("COBRANÇA 001").keeps(i)] == ["Cobrança 0001", "Cobrança 0003"]
    assert [i.name for i in fleet if Filters("suporte 7001").keeps(i)] == []  # every word, not any
    assert [i.name for i in fleet if Filters("judicial - sp").keeps(i)] == [
        "Cobrança Judicial – Carteira PJ Jurídica SPX"]  # a dash typed for the name's en dash: no word
    assert [i.name for i in fleet if Filters("cobrança +55 11 95010-7001").keeps(i)] == ["Cobrança 0003"]
    assert [i.name for i in fleet if Filters("cobrança7001").keeps(i)] == []  # with letters, a word: not a number
    assert plain("ÀÉÎõü Ç") == "aeiou c"


def test_filters_by_state_tag_and_owner_together():
    fleet = [row("a", dropped=True, tags=("carteira-A",), owner_id="u1", **EVER),
             row("b", dropped=True, tags=("régua-2",), **EVER),
             row("c", "connected", tags=("carteira-A", "régua-2"), owner_id="u1", **EVER)]
    assert [i.name for i in fleet if Filters(states=("dropped",)).keeps(i)] == ["a", "b"]
    assert [i.name for i in fleet if Filters(tags=("régua-2",)).keeps(i)] == ["b", "c"]
    assert [i.name for i in fleet if Filters(owner="u1").keeps(i)] == ["a", "c"]
    assert [i.name for i in fleet if Filters(owner="").keeps(i)] == ["b"]
    assert [i.name for i in fleet if Filters(states=("dropped",), owner="u1").keeps(i)] == ["a"]
    assert tags_of(fleet) == ["carteira-A", "régua-2"]


def test_a_drop_is_news_on_a_page_opened_before_it_until_dismissed_or_back():
    from lib.fleet import news_of_drops

    opened = NOW - timedelta(minutes=30)
    old = row("Caiu antes", dropped=True, minutes_ago=60, **EVER)
    new = row("Cobrança 33", dropped=True, minutes_ago=5, **EVER)
    newer = row("Cobrança 34", dropped=True, minutes_ago=1, **EVER)
    back = row("Voltou", "connected", minutes_ago=2, **EVER)
    assert [i.name for i in news_of_drops([old, new, newer, back], opened, set())] == ["Cobrança 34", "Cobrança 33"]
    assert [i.name for i in news_of_drops([old, new, newer], opened, {(newer.id, newer.status_changed_at)})] == [
        "Cobrança 33"]
    again = replace(newer, status_changed_at=NOW)  # it came back and dropped again: news again
    assert [i.name for i in news_of_drops([again], opened, {(newer.id, newer.status_changed_at)})] == ["Cobrança 34"]


def test_a_drop_keeps_its_time_and_its_banner_while_someone_tries_to_reconnect_it():
    from lib.fleet import in_state_since, news_of_drops

    opened = NOW - timedelta(minutes=30)
    dropped_at = NOW - timedelta(minutes=10)
    down = row("Cobrança 33", dropped=True, minutes_ago=10, dropped_at=dropped_at, **EVER)
    reconnecting = replace(down, status="connecting", status_changed_at=NOW - timedelta(minutes=2))
    given_up = replace(down, status_changed_at=NOW)  # the QR was never read: disconnected again, same drop
    for instance in (down, reconnecting, given_up):
        assert in_state_since(instance) == dropped_at
        assert news_of_drops([instance], opened, set()) == [instance]
        assert news_of_drops([instance], opened, {(down.id, dropped_at)}) == []  # dismissed once, for good
    assert [i.name for i in ordered([row("Caiu antes", dropped=True, minutes_ago=5, **EVER), given_up], now=NOW)] == [
        "Caiu antes", "Cobrança 33"]  # by when they dropped, not by the last try
