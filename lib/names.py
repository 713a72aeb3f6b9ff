"""Instance names: what a valid name is, and the form two names are compared on (name_key).

A name is stored in NFC, so "Cobrança" typed with a precomposed ç and with c + a combining cedilla
is one name. Uniqueness compares name_key, which also folds case and compatibility forms, drops
what renders as nothing and maps letters of other scripts that imitate Latin ones (Cyrillic "С",
Greek "ο") to the Latin letter: "Соbrança" with a Cyrillic С and о is "Cobrança" again.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

from lib.errors import ValidationError

MAX_NAME_LENGTH = 60
MSG_DUPLICATE_NAME = "Já existe uma instância com este nome."

# Characters that draw nothing although they are neither white space nor format characters (Cf):
# the Hangul fillers, the blank Braille pattern, the combining grapheme joiner, the Khmer inherent
# vowels, and the variation selectors. With white space and Cf (U+200B, U+FEFF…) they make a name blank.
BLANK_FILLERS = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)
# Scripts whose letters are the Latin ones (or marks and punctuation shared by every script).
_LATIN_SCRIPTS = frozenset({"LATIN", "COMMON", "INHERITED"})


def validate_name(raw: str) -> str:
    """The name as stored: NFC, trimmed, 1 to 60 characters, on one line, not blank, with no control
    characters and no invisible format characters (Unicode Cf: a right-to-left override or a
    zero-width joiner would let a name disguise itself as another)."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise ValidationError("Informe um nome para a instância.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"O nome deve ter no máximo {MAX_NAME_LENGTH} caracteres (tem {len(name)}).")
    if len(name.splitlines()) > 1:  # \n, \r, U+2028 (Zl), U+2029 (Zp) and the other line boundaries
        raise ValidationError("O nome não pode conter quebras de linha.")
    if all(_blank(c) for c in name):
        raise ValidationError("O nome não pode ficar em branco.")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValidationError("O nome não pode conter caracteres de controle.")
    if any(unicodedata.category(c) == "Cf" for c in name):
        raise ValidationError("O nome não pode conter caracteres invisíveis de formatação (como inversão de direção).")
    return name


def name_key(name: str) -> str:
    """What two names are compared on for uniqueness: NFKC with case folded, the characters that
    draw nothing dropped, white space runs as one space, and each letter of another script that
    imitates a Latin letter or digit (Unicode's confusables, as the confusable_homoglyphs package
    ships them) replaced by it. Not for display."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    skeleton = "".join(_latin_lookalike(c) for c in folded if not _blank(c) or c.isspace())
    return " ".join(skeleton.split())


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf" or char in BLANK_FILLERS


@lru_cache(maxsize=4096)
def _latin_lookalike(char: str) -> str:
    """The lower-case ASCII letter or digit `char` imitates, when it is of another script; else itself."""
    if char.isascii() or categories.alias(char) in _LATIN_SCRIPTS:
        return char
    for homoglyph in confusables.confusables_data.get(char, ()):
        target = homoglyph["c"]
        if len(target) == 1 and target.isascii() and target.isalnum():
            return target.lower()
    return char


_creation_locks: dict[str, threading.Lock] = {}
_creation_locks_guard = threading.Lock()


def creation_lock(key: str) -> threading.Lock:
    """One lock per name, process-wide, so that a double submit or a second tab waits for the
    first create of that name and then finds it taken instead of creating a twin."""
    with _creation_locks_guard:
        return _creation_locks.setdefault(key, threading.Lock())
