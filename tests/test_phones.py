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
        ("+55 11 3333-4444", "551133334444"),  # a landline (WhatsApp Business): 8 digits from 2
        ("+55 (85) 2123-4567", "558521234567"), ("55 19 5555-0000", "551955550000"),  # ... to 5
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


EMPTY = "Informe o número do WhatsApp com DDI e DDD, ex.: +55 11 99999-8888."
CHARACTERS = "O número leva só algarismos de 0 a 9, espaços, traços, parênteses e um + no início."
NO_COUNTRY_CODE = "Falta o DDI: coloque +55 antes do DDD, ex.: +55 11 99999-8888."
AREA_CODE = "O DDD tem 2 dígitos, sem 0, ex.: +55 11 99999-8888."
BRAZILIAN = ("Depois de +55 e do DDD, um celular tem 9 dígitos começando com 9 (+55 11 99999-8888) "
             "e um fixo, 8 dígitos começando com 2 a 5 (+55 11 3333-4444).")
NORTH_AMERICAN = "Um número com +1 (EUA, Canadá) tem 10 dígitos depois do 1, o primeiro de 2 a 9."
INTERNATIONAL = "Um número internacional é + e o código do país (que não começa com 0), com 8 a 15 dígitos."


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", EMPTY), ("   ", EMPTY), (None, EMPTY), ("+", EMPTY), (" ( ) - ", EMPTY),
        ("abc", CHARACTERS), ("55 11 99999-8888 x", CHARACTERS),
        ("++55 11 99999-8888", CHARACTERS), ("55+11999998888", CHARACTERS),
        ("+55.11.99999.8888", CHARACTERS), ("+55/11/99999-8888", CHARACTERS),
        ("+٥٥ ١١ ٩٩٩٩٩-٨٨٨٨", CHARACTERS),  # not ASCII digits
        ("(11) 99999-8888", NO_COUNTRY_CODE), ("21 98765-4321", NO_COUNTRY_CODE),  # Brazilian without 55
        ("11 3333-4444", NO_COUNTRY_CODE), ("(85) 2123-4567", NO_COUNTRY_CODE),  # landlines too
        ("+11 99999-8888", NO_COUNTRY_CODE),  # with a +: no North American area code starts with 1
        ("+11 3333-4444", NO_COUNTRY_CODE),
        ("+55 01 99999-8888", AREA_CODE), ("+55 10 3333-4444", AREA_CODE),  # no such area code
        ("+55 11 9999-8888", BRAZILIAN),  # an old 8-digit mobile (from 6 to 9)
        ("+55 11 6999-8888", BRAZILIAN), ("+55 11 1333-4444", BRAZILIAN), ("+55 11 0333-4444", BRAZILIAN),
        ("+55 11 89999-8888", BRAZILIAN),  # 9 digits: mobiles start with 9
        ("+55 11 99999-88889", BRAZILIAN), ("+55 11 3333-44445", BRAZILIAN),  # too long
        ("+55 11 333-4444", BRAZILIAN), ("+55", BRAZILIAN),  # too short
        ("+1 415 555 267", NORTH_AMERICAN), ("+1 115 555 2671", NORTH_AMERICAN),  # 9 digits; area code from 1
        ("+0 123 4567 890", INTERNATIONAL), ("+234 5678", INTERNATIONAL),  # leading 0; 7 digits
        ("+123 4567", NORTH_AMERICAN),  # 7 digits after +1
        ("+2345678901234567", INTERNATIONAL),  # 16 digits
    ],
)
def test_invalid_phone_numbers_are_refused_saying_why(raw, message):
    with pytest.raises(ValidationError) as raised:
        validate_phone(raw)
    assert raised.value.message == message
