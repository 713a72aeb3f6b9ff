"""Instance names: what is refused, the stored form, and the key uniqueness compares."""

import unicodedata

import pytest

from lib.errors import ValidationError
from lib.names import name_key, validate_name

NFC = "Cobrança"
NFD = unicodedata.normalize("NFD", NFC)
CYRILLIC = "\u0421\u043ebrança"  # "Соbrança": С and о are Cyrillic


def test_the_two_spellings_differ_as_strings():  # guards the tests below against a no-op
    assert NFD != NFC and len(NFD) == len(NFC) + 1
    assert CYRILLIC != NFC and unicodedata.name(CYRILLIC[0]) == "CYRILLIC CAPITAL LETTER ES"


def test_a_name_is_stored_in_nfc():
    assert validate_name(f"  {NFD}  ") == NFC


@pytest.mark.parametrize("name", [
    "Cobrança 01 – Ana", "Suporte (SP)", "Ação & Cobrança", "Cobrança 🚀", "x" * 60, "Ελληνικά", "Москва",
])
def test_ordinary_names_are_accepted(name):
    assert validate_name(name) == name


@pytest.mark.parametrize(("name", "message"), [
    ("", "Informe um nome para a instância."),
    ("   ", "Informe um nome para a instância."),
    ("\u2028", "Informe um nome para a instância."),  # white space: trimmed away
    ("x" * 61, "O nome deve ter no máximo 60 caracteres (tem 61)."),
    ("Cobrança\u2028Centro", "O nome não pode conter quebras de linha."),
    ("Cobrança\u2029Centro", "O nome não pode conter quebras de linha."),
    ("linha\nquebrada", "O nome não pode conter quebras de linha."),
    ("linha\rquebrada", "O nome não pode conter quebras de linha."),
    ("linha\x85quebrada", "O nome não pode conter quebras de linha."),
    ("\u3164", "O nome não pode ficar em branco."),
    ("\u3164\u3164\u3164", "O nome não pode ficar em branco."),
    ("\u115f", "O nome não pode ficar em branco."),
    ("\u1160", "O nome não pode ficar em branco."),
    ("\uffa0", "O nome não pode ficar em branco."),
    ("\u2800", "O nome não pode ficar em branco."),
    ("\u200b", "O nome não pode ficar em branco."),
    ("\u200b \u3164\u00a0\ufeff", "O nome não pode ficar em branco."),
    ("tab\there", "O nome não pode conter caracteres de controle."),
    ("nul\x00byte", "O nome não pode conter caracteres de controle."),
    ("x\u202eevil", "O nome não pode conter caracteres invisíveis de formatação (como inversão de direção)."),
    ("Cobran\u200dça", "O nome não pode conter caracteres invisíveis de formatação (como inversão de direção)."),
])
def test_refused_names_say_why(name, message):
    with pytest.raises(ValidationError) as refused:
        validate_name(name)
    assert refused.value.message == message


@pytest.mark.parametrize("other", [
    NFD,  # a combining cedilla
    CYRILLIC,
    "COBRANÇA",
    "cobrança",
    "Cοbrança",  # Greek omicron
    "Ｃｏｂｒａｎｃａ".replace("ｃａ", "ça"),  # full-width letters
    "Cobrança\u3164",  # a trailing Hangul filler
    "Cobrança\U000e0100",  # a variation selector
])
def test_look_alikes_share_the_key(other):
    assert name_key(other) == name_key(NFC) == "cobrança"


@pytest.mark.parametrize("other", ["Cobranca", "Cobrança 2", "Cobranças", "Cobrança – Ana"])
def test_different_names_have_different_keys(other):
    assert name_key(other) != name_key(NFC)


def test_white_space_runs_count_as_one_space():
    assert name_key("Cobrança  01\u00a0 Ana") == name_key("cobrança 01 ana") == "cobrança 01 ana"
