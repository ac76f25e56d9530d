"""Bank card numbers: see :mod:`ruleplus.checks.bankcard` (re-exported here)."""

from __future__ import annotations

from ruleplus.checks.bankcard import (
    bank_card_valid,
    luhn_check_digit,
    luhn_valid,
    normalize_card_number,
)

__all__ = ["bank_card_valid", "luhn_check_digit", "luhn_valid", "normalize_card_number"]
