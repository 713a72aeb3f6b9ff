"""The number a pairing code is asked for: what people type, read as the digits with the country
code the provider wants. Each refusal says why, in one short pt-BR sentence."""

from __future__ import annotations

import re

from lib.errors import ValidationError

MSG_PHONE_EMPTY = "Informe o número do WhatsApp com DDI e DDD, ex.: +55 11 99999-8888."
MSG_PHONE_CHARACTERS = "O número leva só algarismos de 0 a 9, espaços, traços, parênteses e um + no início."
MSG_PHONE_NO_COUNTRY_CODE = "Falta o DDI: coloque +55 antes do DDD, ex.: +55 11 99999-8888."
MSG_PHONE_AREA_CODE = "O DDD tem 2 dígitos, sem 0, ex.: +55 11 99999-8888."
MSG_PHONE_BRAZILIAN = ("Depois de +55 e do DDD, um celular tem 9 dígitos começando com 9 (+55 11 99999-8888) "
                       "e um fixo, 8 dígitos começando com 2 a 5 (+55 11 3333-4444).")
MSG_PHONE_NORTH_AMERICAN = "Um número com +1 (EUA, Canadá) tem 10 dígitos depois do 1, o primeiro de 2 a 9."
MSG_PHONE_INTERNATIONAL = "Um número internacional é + e o código do país (que não começa com 0), com 8 a 15 dígitos."
_PHONE_PUNCTUATION = re.compile(r"[\s()-]")
# 55, the area code (DDD), then a mobile (9 and 8 digits) or a landline (8 digits from 2 to 5; 8
# from 6 to 9 would be a mobile in the old format, gone since mobiles took a ninth digit).
_BRAZILIAN = re.compile(r"55[1-9]{2}(9\d{8}|[2-5]\d{7})")
_E164 = re.compile(r"[1-9]\d{7,14}")


def validate_phone(raw: str) -> str:
    """The digits, with the country code, of the WhatsApp number to pair by code ("5511999998888").

    Spaces, dashes, parentheses and a leading + are accepted. A Brazilian number (55) must be a
    mobile or a landline (WhatsApp Business runs on either). Any other is an E.164 number of 8 to
    15 digits. The usual mistake, a Brazilian number typed without 55, is told apart: without a +,
    a number shaped like area code + mobile or landline ("11 99999-8888") is refused; with a + it is
    taken as international unless it cannot be one ("+11 99999-8888": no North American area code
    starts with 1)."""
    text = (raw or "").strip()
    plus = text.startswith("+")
    digits = _PHONE_PUNCTUATION.sub("", text[1:] if plus else text)
    if not digits:
        raise ValidationError(MSG_PHONE_EMPTY)
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(MSG_PHONE_CHARACTERS)
    if digits.startswith("55"):
        refusal = _brazilian_refusal(digits)
    else:
        refusal = _international_refusal(digits)
        if _BRAZILIAN.fullmatch("55" + digits) and (refusal or not plus):
            refusal = MSG_PHONE_NO_COUNTRY_CODE
    if refusal:
        raise ValidationError(refusal)
    return digits


def _brazilian_refusal(digits: str) -> str | None:
    if _BRAZILIAN.fullmatch(digits):
        return None
    return MSG_PHONE_AREA_CODE if "0" in digits[2:4] else MSG_PHONE_BRAZILIAN


def _international_refusal(digits: str) -> str | None:
    if digits.startswith("1"):  # the North American plan: a 3-digit area code from 2, then 7 digits
        return None if len(digits) == 11 and digits[1] in "23456789" else MSG_PHONE_NORTH_AMERICAN
    return None if _E164.fullmatch(digits) else MSG_PHONE_INTERNATIONAL
