"""Risk-based prices under the annualised-rate cap.

The price of a grade is a nominal rate and fees (:func:`price_for`). When the schedule's
fee-inclusive annualised rate (IRR method) is above the cap, :func:`reprice_to_cap` lowers the
nominal rate to the largest rate on the six-decimal grid whose schedule is still within the
cap, checked exactly (:func:`ruleplus.lending.rates.within_cap`); when the fees alone break
the cap there is no such rate and the offer is declined.

The search starts from a secant estimate in floats (two or three schedules) and then steps
on the grid with the exact check, so the answer does not depend on the estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ruleplus.decision import OfferDoc, OfferFeeDoc
from ruleplus.errors import DataError
from ruleplus.lending.money import RATE_STEP, ZERO, annual_rate, rate_floor, to_decimal
from ruleplus.lending.rates import float_irr, within_cap
from ruleplus.lending.schedule import Fee, Method, Schedule, build_schedule

__all__ = ["cap_rate", "price_for", "reprice_to_cap"]


def cap_rate(value: Any, field: str = "cap") -> Decimal:
    """A cap on the annualised rate: a fraction above 0, at most 1 (0.24 is 24 %)."""
    cap = to_decimal(value, field)
    if not ZERO < cap <= 1:
        raise DataError(
            f"{field} must be a fraction above 0, at most 1 (0.24), got {cap}", field=field
        )
    return cap


def _fees(docs: Sequence[OfferFeeDoc], terms: Mapping[str, Any], prefix: str) -> list[Fee]:
    out = []
    for i, doc in enumerate(docs):
        amount, rate = terms.get(f"{prefix}.{i}.amount"), terms.get(f"{prefix}.{i}.rate")
        if amount is None and rate is None:
            continue  # an expression gave null: no such fee for this application
        out.append(
            Fee(
                doc.kind,
                amount=None if amount is None else to_decimal(amount, f"offer.{prefix}.{i}.amount"),
                rate=None if rate is None else to_decimal(rate, f"offer.{prefix}.{i}.rate"),
                name=doc.name,
            )
        )
    return out


def price_for(
    doc: OfferDoc, terms: Mapping[str, Any], grade: str | None
) -> tuple[str, Decimal, list[Fee]] | None:
    """``(price key, nominal rate, fees)`` of ``grade``: its own price, else ``*``; None when
    the table prices neither."""
    key = grade if grade is not None and grade in doc.prices else "*"
    if key not in doc.prices:
        return None
    rate = annual_rate(terms.get(f"prices.{key}.rate"), f"offer.prices.{key}.rate")
    fees = _fees(doc.fees, terms, "fees") + _fees(doc.prices[key].fees, terms, f"prices.{key}.fees")
    return key, rate, fees


def _excess(schedule: Schedule, cap: Decimal) -> float:
    """The annualised rate above the cap, in floats (for the estimate only)."""
    return float_irr([float(f) for f in schedule.cash_flows()]) * 12 - float(cap)


def reprice_to_cap(
    amount: Decimal,
    months: int,
    list_rate: Decimal,
    method: Method,
    *,
    cap: Decimal,
    fees: Sequence[Fee],
    start: date,
    day_count: str,
) -> Schedule | None:
    """The schedule at the largest grid rate, at most ``list_rate``, within ``cap``.

    Returns
    -------
    Schedule or None
        None when even a 0 % nominal rate is above the cap (the fees alone break it).
    """

    built: dict[Decimal, Schedule] = {}

    def plan(rate: Decimal) -> Schedule:
        found = built.get(rate)
        if found is None:
            found = built[rate] = build_schedule(
                amount, months, rate, method, start=start, day_count_convention=day_count, fees=fees
            )
        return found

    top = plan(list_rate)
    if within_cap(top, cap):
        return top
    # the fees add a roughly constant excess to the rate: start below it by that excess, then
    # one secant step between the two points
    hi, f_hi = float(list_rate), _excess(top, cap)
    lo = max(0.0, hi - f_hi)
    f_lo = _excess(plan(rate_floor(Decimal(repr(lo)))), cap)
    guess = lo
    if f_hi != f_lo:
        guess = min(max(lo - f_lo * (hi - lo) / (f_hi - f_lo), 0.0), hi)
    rate = min(rate_floor(Decimal(repr(guess))), list_rate)
    current = plan(rate)
    while not within_cap(current, cap):  # step down onto the grid rate within the cap
        if rate <= 0:
            return None  # the fees alone break the cap
        rate = max(ZERO, rate - RATE_STEP)
        current = plan(rate)
    while rate + RATE_STEP < list_rate:  # and up while the next one is still within it
        upper = plan(rate + RATE_STEP)
        if not within_cap(upper, cap):
            break
        rate, current = rate + RATE_STEP, upper
    return current
