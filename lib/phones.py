"""The number a pairing code is asked for: what people type, read as the digits with the country
code the provider wants."""

from __future__ import annotations

import re

from lib.errors import ValidationError

MSG_INVALID_PHONE = "Informe o número com DDI e DDD, ex.: +55 11 99999-8888"
_PHONE_PUNCTUATION = re.compile(r"[\s()-]")
_BRAZILIAN_MOBILE = re.compile(r"55[1-9]{2}9\d{8}")
_E164 = re.compile(r"[1-9]\d{7,14}")


def validate_phone(raw: str) -> str:
    """The digits, with the country code, of the WhatsApp number to pair by code ("5511999998888").

    Spaces, dashes, parentheses and a leading + are accepted. A Brazilian number (55) must be a
    mobile: 2-digit area code, 9, then 8 digits. Any other is an E.164 number of 8 to 15 digits.
    Two checks turn away the usual mistake, a Brazilian number typed without 55: without a +, a
    number shaped like area code + 9 + 8 digits ("11 99999-8888") is refused (with a + it is taken
    as international); and one under the North American plan (1) must have a 3-digit area code
    that starts at 2 ("+11 99999-8888" has not)."""
    text = (raw or "").strip()
    plus = text.startswith("+")
    digits = _PHONE_PUNCTUATION.sub("", text[1:] if plus else text)
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(MSG_INVALID_PHONE)
    if digits.startswith("55"):
        valid = bool(_BRAZILIAN_MOBILE.fullmatch(digits))
    elif not plus and _BRAZILIAN_MOBILE.fullmatch("55" + digits):
        valid = False
    elif digits.startswith("1"):
        valid = len(digits) == 11 and digits[1] in "23456789"
    else:
        valid = bool(_E164.fullmatch(digits))
    if not valid:
        raise ValidationError(MSG_INVALID_PHONE)
    return digits
