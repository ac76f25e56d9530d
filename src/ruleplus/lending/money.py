"""Money and rate values: ``Decimal`` parsing, validation and rounding to the cent.

Every amount of an offer or a schedule goes through :func:`amount` (or :func:`money`), every
rate through :func:`annual_rate`, every term through :func:`term_months`: a bad value is a
:class:`~ruleplus.errors.DataError` naming the field and what was expected, never a silent zero.
Floats are accepted only through their shortest text (``0.1`` is ``Decimal("0.1")``), so no
binary fraction ever reaches a balance.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from ruleplus.errors import DataError

__all__ = [
    "CENT",
    "MAX_AMOUNT",
    "MAX_MONTHS",
    "MAX_RATE",
    "RATE_STEP",
    "ZERO",
    "amount",
    "annual_rate",
    "cents",
    "context",
    "money",
    "rate_floor",
    "rate_text",
    "term_months",
    "to_decimal",
]

ZERO = Decimal("0.00")  # a sum of no money is still money: "0.00"
CENT = Decimal("0.01")
RATE_STEP = Decimal("0.000001")
"""Rates are quoted to six decimals (0.0001 %): the grid of nominal rates and of ``apr_irr``."""
MAX_AMOUNT = Decimal("1000000000")
"""Largest principal (one billion): keeps every exact cent product inside 64-bit integers."""
MAX_MONTHS = 480
"""Longest term (40 years)."""
MAX_RATE = Decimal(1)
"""Largest nominal annual rate accepted (100 %); above it a rate is taken for a typo."""

context = decimal.Context(prec=50, rounding=ROUND_HALF_UP)
"""The arithmetic context of every schedule and rate computation (50 significant digits)."""


def to_decimal(value: Any, field: str) -> Decimal:
    """``value`` as a finite ``Decimal``; a float goes through its shortest text.

    Raises
    ------
    DataError
        Not a number (booleans included), or not finite; names ``field``.
    """
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DataError(f"{field} must be a number, got {type(value).__name__}", field=field)
    else:
        try:
            out = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except decimal.InvalidOperation:
            raise DataError(f"{field} must be a number, got {value!r}", field=field) from None
    if not out.is_finite():
        raise DataError(f"{field} must be a finite number, got {value!r}", field=field)
    return out


def money(value: Any, field: str, *, allow_zero: bool = True) -> Decimal:
    """A non-negative amount with at most two decimals, up to :data:`MAX_AMOUNT`."""
    out = to_decimal(value, field)
    if out < 0 or (out == 0 and not allow_zero):
        need = "0 or more" if allow_zero else "more than 0"
        raise DataError(f"{field} must be {need}, got {out}", field=field)
    if out > MAX_AMOUNT:
        raise DataError(f"{field} must be at most {MAX_AMOUNT:,}, got {out}", field=field)
    if out != out.quantize(CENT, rounding=ROUND_DOWN):
        raise DataError(f"{field} must be in whole cents (two decimals), got {out}", field=field)
    return out.quantize(CENT)


def amount(value: Any, field: str = "amount") -> Decimal:
    """A principal: more than 0, whole cents, at most :data:`MAX_AMOUNT`."""
    return money(value, field, allow_zero=False)


def annual_rate(value: Any, field: str = "annual_rate") -> Decimal:
    """A nominal annual rate as a fraction (``0.18`` is 18 %): 0 to 1, six decimals at most."""
    out = to_decimal(value, field)
    if out < 0 or out > MAX_RATE:
        raise DataError(
            f"{field} must be a fraction between 0 and {MAX_RATE} (0.18 is 18%), got {out}",
            field=field,
        )
    if out != out.quantize(RATE_STEP, rounding=ROUND_DOWN):
        raise DataError(f"{field} must have at most six decimals (0.0001%), got {out}", field=field)
    return out.quantize(RATE_STEP)


def term_months(value: Any, field: str = "months") -> int:
    """A term in months: an integer from 1 to :data:`MAX_MONTHS`."""
    if isinstance(value, bool):
        raise DataError(f"{field} must be a whole number of months", field=field)
    if isinstance(value, float | Decimal | str):
        number = to_decimal(value, field)
        if number != number.to_integral_value():
            raise DataError(f"{field} must be a whole number of months, got {value}", field=field)
        value = int(number)
    if not isinstance(value, int):
        raise DataError(f"{field} must be a whole number of months", field=field)
    if not 1 <= value <= MAX_MONTHS:
        raise DataError(f"{field} must be between 1 and {MAX_MONTHS}, got {value}", field=field)
    return value


def cents(value: Decimal) -> Decimal:
    """``value`` rounded to the cent, half up (the rounding of every instalment line)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=context)


def rate_floor(value: Decimal) -> Decimal:
    """``value`` rounded down to the six-decimal rate grid."""
    return value.quantize(RATE_STEP, rounding=ROUND_DOWN, context=context)


def rate_text(value: Decimal) -> str:
    """A rate as fixed six-decimal text (``"0.180000"``)."""
    return str(value.quantize(RATE_STEP, rounding=ROUND_HALF_UP, context=context))
