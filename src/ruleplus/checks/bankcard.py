"""Bank card numbers: the Luhn (mod 10) check and length rules (12–19 digits)."""

from __future__ import annotations

import re

__all__ = ["bank_card_valid", "luhn_check_digit", "luhn_valid", "normalize_card_number"]


def normalize_card_number(number: str) -> str:
    """Remove spaces and hyphens."""
    return re.sub(r"[\s-]", "", str(number))


def _luhn_sum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def luhn_valid(number: str) -> bool:
    """Whether a digit string (spaces and hyphens allowed) passes the Luhn check."""
    digits = normalize_card_number(number)
    return bool(digits) and digits.isdigit() and _luhn_sum(digits) % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """Return the digit that makes ``partial + digit`` pass the Luhn check."""
    digits = normalize_card_number(partial)
    if not digits.isdigit():
        raise ValueError("expected digits")
    return str((10 - _luhn_sum(digits + "0") % 10) % 10)


def bank_card_valid(number: str) -> bool:
    """Whether a bank card number has 12–19 digits and passes the Luhn check."""
    digits = normalize_card_number(number)
    return digits.isdigit() and 12 <= len(digits) <= 19 and luhn_valid(digits)
