"""What admins write about an instance besides its name and status: its owner (the "Responsável",
a user of the app), free tags (e.g. the wallet it serves) and notes; their limits, which the
stores' check constraints hold too."""

from __future__ import annotations

import unicodedata
from typing import Iterable

from lib.errors import ValidationError
from lib.models import Instance

MAX_TAGS = 10
MAX_TAG_LENGTH = 30
MAX_NOTES_LENGTH = 500
MSG_UNKNOWN_OWNER = "O responsável escolhido não é mais um usuário do app."


def validate_tags(raw: Iterable[str]) -> tuple[str, ...]:
    """The tags as stored: NFC, trimmed, empty ones and repeats (ignoring case) dropped, in order."""
    tags: dict[str, str] = {}
    for tag in raw:
        tag = unicodedata.normalize("NFC", tag or "").strip()
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError(f"Cada etiqueta deve ter no máximo {MAX_TAG_LENGTH} caracteres: “{tag[:40]}”.")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in tag):
            raise ValidationError("As etiquetas não podem conter quebras de linha nem caracteres invisíveis.")
        if tag:
            tags.setdefault(tag.casefold(), tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"No máximo {MAX_TAGS} etiquetas por instância (há {len(tags)}).")
    return tuple(tags.values())


def validate_notes(raw: str | None) -> str | None:
    """The notes as stored: NFC, trimmed, None when empty; line breaks and tabs are fine."""
    notes = unicodedata.normalize("NFC", (raw or "").replace("\r\n", "\n")).strip()
    if len(notes) > MAX_NOTES_LENGTH:
        raise ValidationError(f"As observações devem ter no máximo {MAX_NOTES_LENGTH} caracteres (têm {len(notes)}).")
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" for c in notes):
        raise ValidationError("As observações não podem conter caracteres de controle nem invisíveis.")
    return notes or None


def details_summary(before: Instance, after: Instance) -> str:
    """What an edit changed, for the history: "responsável, etiquetas"."""
    changed = [label for label, field_name in (("responsável", "owner_id"), ("etiquetas", "tags"),
                                               ("observações", "notes"))
               if getattr(before, field_name) != getattr(after, field_name)]
    return "alterou " + ", ".join(changed)
