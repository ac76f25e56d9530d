"""Chinese resident ID numbers (GB 11643-1999) and bank card Luhn checks."""

from __future__ import annotations

from datetime import date

import pytest

from ruleplus.checks.bankcard import luhn_check_digit
from ruleplus.checks.idcard import id_check_char, parse_id_number
from ruleplus.identity import bank_card_valid, id_age, id_gender, id_valid, luhn_valid

# The standard's own example: 11010519491231002X (Beijing Chaoyang, 1949-12-31, female)
EXAMPLE = "11010519491231002X"


def make(first17: str) -> str:
    return first17 + id_check_char(first17)


def test_identity_standard_example() -> None:
    info = parse_id_number(EXAMPLE, on=date(2024, 6, 1))
    assert info.valid and info.errors == []
    assert info.birth_date == date(1949, 12, 31)
    assert info.age == 74
    assert info.gender == "female"
    assert info.province == "北京" and info.region_code == "110105"
    assert info.to_dict()["birth_date"] == "1949-12-31"


def test_identity_province() -> None:
    from ruleplus.checks.idcard import id_province

    assert id_province(EXAMPLE) == "北京"
    assert id_province(make("44030420000615124")) == "广东"
    assert id_province("bad") is None


def test_identity_lowercase_x_and_spaces() -> None:
    assert id_valid("110105 19491231 002x", on=date(2024, 1, 1))


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("11010519491231002", "format"),
        ("1101051949123100AX", "format"),
        ("110105194912310021", "checksum"),
        (make("99010519491231002"), "region"),
        (make("11010519490230002"), "birth_date"),
        (make("11010520990101002"), "future_birth_date"),
    ],
)
def test_identity_invalid_numbers(number: str, error: str) -> None:
    info = parse_id_number(number, on=date(2024, 1, 1))
    assert not info.valid
    assert error in info.errors


def test_identity_age_on_birthday_boundary() -> None:
    number = make("44030420000615124")
    assert id_age(number, on=date(2018, 6, 14)) == 17
    assert id_age(number, on=date(2018, 6, 15)) == 18
    assert id_gender(number) == "female"  # 17th digit 4 is even
    assert id_gender(make("44030420000615135")) == "male"
    assert id_age("bad") is None and id_gender("bad") is None


def test_identity_fifteen_digit_upgrade() -> None:
    info = parse_id_number("110105491231002", on=date(2024, 1, 1), allow_15=True)
    assert info.valid and info.number == EXAMPLE
    assert not parse_id_number("110105491231002").valid


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1112", False),
        ("79927398713", True),  # Luhn's textbook number; too short for a card
        ("79927398710", False),
        ("", False),
        ("abcd", False),
    ],
)
def test_identity_luhn(number: str, ok: bool) -> None:
    assert luhn_valid(number) is ok


def test_identity_bank_card() -> None:
    partial = "622202020000000000"
    card = partial + luhn_check_digit(partial)
    assert bank_card_valid(card)
    assert not bank_card_valid("79927398713")  # 11 digits
    assert not bank_card_valid(card[:-1] + str((int(card[-1]) + 1) % 10))
