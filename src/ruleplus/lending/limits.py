"""Credit limits: the smallest of an income multiple, the DTI headroom, a score band, a grade's
maximum and the policy maximum, rounded down.

The DTI headroom is the largest principal whose first regular instalment (plus periodic
fees) keeps ``(debt + instalment) / income`` at most ``max_dti``: the instalment per unit of
principal is the annuity factor (equal instalment), ``1/n + r`` (equal principal, the first
is the largest) or ``r`` (interest-only); a bullet loan has no regular instalment to limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ruleplus.decision import OfferLimitDoc
from ruleplus.lending.money import CENT, ZERO, context, to_decimal
from ruleplus.lending.schedule import Fee, Method

__all__ = ["CreditLimit", "credit_limit", "floor_to", "instalment_factor"]


@dataclass(frozen=True)
class CreditLimit:
    """A limit and the parts it is the smallest of (name -> amount)."""

    amount: Decimal | None
    parts: dict[str, Decimal]
    minimum: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON form (money as decimal text)."""
        return {
            "amount": None if self.amount is None else str(self.amount),
            "parts": {k: str(v) for k, v in self.parts.items()},
            "minimum": str(self.minimum),
        }


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``step``, in whole cents."""
    units = context.divide(value, step).to_integral_value(rounding=ROUND_FLOOR)
    return context.multiply(units, step).quantize(CENT, rounding=ROUND_FLOOR)


def instalment_factor(method: Method, annual_rate: Decimal, months: int) -> Decimal | None:
    """The first regular instalment per unit of principal (None: no regular instalment)."""
    r = context.divide(annual_rate, Decimal(12))
    if method == "equal-installment":
        if r == 0:
            return context.divide(Decimal(1), Decimal(months))
        discount = context.power(context.add(Decimal(1), r), -months)
        return context.divide(r, context.subtract(Decimal(1), discount))
    if method == "equal-principal":
        return context.add(context.divide(Decimal(1), Decimal(months)), r)
    if method == "interest-only" and months > 1 and r > 0:
        return r
    if method == "interest-only" and months == 1:
        return context.add(Decimal(1), r)
    return None


def _value(terms: Mapping[str, Any], slot: str) -> Decimal | None:
    raw = terms.get(slot)
    return None if raw is None else to_decimal(raw, f"offer.{slot}")


def credit_limit(
    doc: OfferLimitDoc,
    terms: Mapping[str, Any],
    grade: str | None,
    *,
    method: Method,
    annual_rate: Decimal,
    months: int,
    fees: Sequence[Fee],
) -> CreditLimit:
    """The limit of one application from the evaluated ``terms`` (see
    :meth:`ruleplus.decision.OfferProgram.terms`).

    Returns
    -------
    CreditLimit
        ``amount`` None when the section sets no limit at all; a null input (income, score)
        gives a part of 0 (no evidence, no credit).
    """
    parts: dict[str, Decimal] = {}
    income = _value(terms, "limit.income")
    multiple = _value(terms, "limit.income_multiple")
    if multiple is not None:
        parts["income_multiple"] = max(ZERO, context.multiply(income or ZERO, multiple))
    max_dti = _value(terms, "limit.max_dti")
    if max_dti is not None:
        factor = instalment_factor(method, annual_rate, months)
        if factor is not None:
            debt = _value(terms, "limit.debt") or ZERO
            fixed = sum((f.amount for f in fees if f.kind == "periodic" and f.amount), ZERO)
            rated = sum((f.rate for f in fees if f.kind == "periodic" and f.rate), ZERO)
            headroom = context.subtract(
                context.subtract(context.multiply(income or ZERO, max_dti), debt), fixed
            )
            parts["dti"] = max(ZERO, context.divide(headroom, context.add(factor, rated)))
    if doc.score_bands:
        score = _value(terms, "limit.score")
        band = ZERO
        if score is not None:
            for i, entry in sorted(enumerate(doc.score_bands), key=lambda e: -e[1].min):
                if score >= Decimal(repr(entry.min)):
                    band = _value(terms, f"limit.score_bands.{i}.max_amount") or ZERO
                    break
        parts["score_band"] = band
    if grade is not None and grade in doc.by_grade:
        parts["grade"] = _value(terms, f"limit.by_grade.{grade}") or ZERO
    maximum = _value(terms, "limit.maximum")
    if maximum is not None:
        parts["maximum"] = maximum
    step = Decimal(repr(doc.round_to))
    minimum = _value(terms, "limit.minimum") or ZERO
    if not parts:
        return CreditLimit(None, {}, minimum)
    return CreditLimit(floor_to(min(parts.values()), step), parts, minimum)
