"""Checks of identity documents and payment cards (pure Python, no dependencies).

Shared by the expression language (``id_valid(idNumber)`` in a strategy) and the identity
application; kept at the bottom of the layers so both can use them.
"""

from __future__ import annotations

from ruleplus.checks.bankcard import bank_card_valid, luhn_check_digit, luhn_valid
from ruleplus.checks.idcard import (
    IdCardInfo,
    id_age,
    id_gender,
    id_province,
    id_valid,
    parse_id_number,
)

__all__ = [
    "IdCardInfo",
    "bank_card_valid",
    "id_age",
    "id_gender",
    "id_province",
    "id_valid",
    "luhn_check_digit",
    "luhn_valid",
    "parse_id_number",
]
