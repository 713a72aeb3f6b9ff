"""lib.phones.validate_phone: the numbers a pairing code can be asked for (the service refusing
one before calling the provider: test_instances.py)."""

import pytest

from lib.errors import ValidationError
from lib.phones import validate_phone


@pytest.mark.parametrize(
    "raw, digits",
    [
        ("+55 11 99999-8888", "5511999998888"),
        ("5511999998888", "5511999998888"),
        ("+55 (21) 9 8765-4321", "5521987654321"),
        ("  +55-11-99999-8888  ", "5511999998888"),
        ("+1 (415) 555-2671", "14155552671"),  # United States
        ("+44 7911 123456", "447911123456"),  # United Kingdom
        ("+351 912 345 678", "351912345678"),  # Portugal
        ("+7 999 123-45-67", "79991234567"),  # Russia: with its +, not mistaken for a Brazilian number
        ("+49 1512 3456789", "4915123456789"),  # Germany
        ("+246 387 1234", "2463871234"),  # Diego Garcia: 10 digits
        ("+683 12345", "68312345"),  # Niue: 8 digits, the shortest accepted
    ],
)
def test_valid_phone_numbers_give_their_digits_with_the_country_code(raw, digits):
    assert validate_phone(raw) == digits


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", None, "+", "abc", "55 11 99999-8888 x",
        "+55 11 9999-8888",  # Brazilian landline or old 8-digit mobile
        "+55 11 89999-8888",  # Brazilian mobiles start with 9
        "+55 01 99999-8888", "+55 10 99999-8888",  # no such area code
        "+55 11 99999-88889",  # too long
        "(11) 99999-8888", "21 98765-4321",  # Brazilian without 55
        "+11 99999-8888",  # the same with a +: no North American area code starts with 1
        "+1 415 555 267",  # North American with 9 digits
        "+0 123 4567 890", "+123 4567",  # leading 0; 7 digits
        "+1234567890123456",  # 16 digits
        "++55 11 99999-8888", "55+11999998888", "+55.11.99999.8888", "+55/11/99999-8888",
        "+٥٥ ١١ ٩٩٩٩٩-٨٨٨٨",  # not ASCII digits
    ],
)
def test_invalid_phone_numbers_ask_for_country_and_area_code(raw):
    with pytest.raises(ValidationError) as raised:
        validate_phone(raw)
    assert raised.value.message == "Informe o número com DDI e DDD, ex.: +55 11 99999-8888"
