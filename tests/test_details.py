"""Tags and notes: what is stored and what is refused (the stores call these before writing)."""

import unicodedata

import pytest

from lib.details import validate_notes, validate_tags
from lib.errors import ValidationError


def test_tags_are_trimmed_in_nfc_without_empty_ones_or_repeats():
    nfd = unicodedata.normalize("NFD", "Cobrança")
    assert validate_tags([" Carteira A ", "", "  ", nfd, "cobrança", "VIP", "vip"]) == ("Carteira A", "Cobrança", "VIP")
    assert validate_tags([]) == ()


def test_ten_tags_of_thirty_characters_are_the_limit():
    assert len(validate_tags([f"{n}" * 30 for n in range(10)])) == 10
    with pytest.raises(ValidationError) as refused:
        validate_tags([f"t{n}" for n in range(11)])
    assert refused.value.message == "No máximo 10 etiquetas por instância (há 11)."
    with pytest.raises(ValidationError) as refused:
        validate_tags(["x" * 31])
    assert refused.value.message == f"Cada etiqueta deve ter no máximo 30 caracteres: “{'x' * 31}”."


@pytest.mark.parametrize("tag", ["a\nb", "a\u2028b", "a\u202eb", "a\x00b"])
def test_a_tag_is_one_visible_line(tag):
    with pytest.raises(ValidationError, match="quebras de linha"):
        validate_tags([tag])


def test_notes_keep_their_lines_and_empty_notes_are_none():
    assert validate_notes(" Chip da Ana.\r\nNão desligar.\tObrigado. ") == "Chip da Ana.\nNão desligar.\tObrigado."
    assert validate_notes("   ") is None and validate_notes(None) is None
    assert len(validate_notes("x" * 500)) == 500


@pytest.mark.parametrize(("notes", "message"), [
    ("x" * 501, "As observações devem ter no máximo 500 caracteres (têm 501)."),
    ("a\x00b", "As observações não podem conter caracteres de controle nem invisíveis."),
    ("a\u202eb", "As observações não podem conter caracteres de controle nem invisíveis."),
])
def test_notes_refused(notes, message):
    with pytest.raises(ValidationError) as refused:
        validate_notes(notes)
    assert refused.value.message == message
