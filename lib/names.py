"""Instance names: what a valid name is."""

from __future__ import annotations

import unicodedata

from lib.errors import ValidationError

MAX_NAME_LENGTH = 60


def validate_name(raw: str) -> str:
    """Trimmed name of 1 to 60 characters with no control characters and no invisible format
    characters (Unicode Cf: a right-to-left override or a zero-width joiner would let a name
    disguise itself as another)."""
    name = (raw or "").strip()
    if not name:
        raise ValidationError("Informe um nome para a instância.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"O nome deve ter no máximo {MAX_NAME_LENGTH} caracteres (tem {len(name)}).")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValidationError("O nome não pode conter caracteres de controle.")
    if any(unicodedata.category(c) == "Cf" for c in name):
        raise ValidationError("O nome não pode conter caracteres invisíveis de formatação (como inversão de direção).")
    return name
