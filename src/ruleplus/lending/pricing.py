"""Risk-based prices under the annualised-rate cap.

The price of a grade is a nominal rate and fees (:func:`price_for`). When the schedule's
fee-inclusive annualised rate (IRR method) is above the cap, :func:`reprice_to_cap` lowers the
nominal rate to the largest rate on the six-decimal grid whose schedule is still within the
cap, checked exactly (:func:`ruleplus.lending.rates.within_cap`); when the fees alone break
the cap there is no such rate and the offer is declined.

The search starts from a secant estimate in floats (a few schedules), then gallops and bisects
on the grid with the exact check (:func:`largest_within`), so the answer does not depend on
the estimate (cents rounding can leave the rate flat over hundreds of grid steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ruleplus.decision import OfferDoc, OfferFeeDoc
from ruleplus.errors import DataError
from ruleplus.lending.daycount import day_count as day_count_name
from ruleplus.lending.money import RATE_STEP, ZERO, annual_rate, rate_floor, to_decimal
from ruleplus.lending.rates import float_irr, within_cap
from ruleplus.lending.schedule import Fee, Method, Schedule, build_schedule, schedule_flows

__all__ = ["cap_rate", "largest_within", "price_for", "reprice_to_cap"]

_SECANT_STEPS = 4  # estimate refinements before the exact grid steps
_CLOSE = 2e-7  # an estimate this close to the cap (in annual rate) is a step or two away


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


def _excess(flows: Sequence[Decimal], cap: Decimal) -> float:
    """The annualised rate above the cap, in floats (for the estimate only)."""
    return float_irr([float(f) for f in flows]) * 12 - float(cap)


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

    built: dict[Decimal, list[Decimal]] = {}

    def plan(rate: Decimal) -> list[Decimal]:  # the search needs the cash flows only
        found = built.get(rate)
        if found is None:
            found = built[rate] = schedule_flows(
                amount,
                months,
                rate,
                method,
                start=start,
                day_count_convention=convention,
                fees=fees,
            )
        return found

    convention = day_count_name(day_count)
    top_schedule = build_schedule(
        amount, months, list_rate, method, start=start, day_count_convention=day_count, fees=fees
    )
    if within_cap(top_schedule, cap):
        return top_schedule
    top = built[list_rate] = top_schedule.cash_flows()
    # the estimate: secant steps on grid rates, from the list rate and that rate less its
    # excess (fees add a roughly constant excess), until close to the cap
    a, f_a = list_rate, _excess(top, cap)
    b = rate_floor(max(ZERO, list_rate - Decimal(repr(f_a))))
    f_b = _excess(plan(b), cap)
    for _ in range(_SECANT_STEPS):
        if abs(f_b) < _CLOSE or f_a == f_b:
            break
        nxt = (float(b) - f_b * float(b - a) / (f_b - f_a)) * 1_000_000
        c = min(Decimal(max(math.floor(nxt), 0)) * RATE_STEP, list_rate)
        if c == b:
            break
        a, f_a, b, f_b = b, f_b, c, _excess(plan(c), cap)
    found = largest_within(
        lambda units: within_cap(plan(units * RATE_STEP), cap),
        int(b / RATE_STEP),
        int(list_rate / RATE_STEP),
    )
    if found is None:
        return None
    return build_schedule(
        amount,
        months,
        found * RATE_STEP,
        method,
        start=start,
        day_count_convention=day_count,
        fees=fees,
    )


def largest_within(ok: Callable[[int], bool], start: int, top: int) -> int | None:
    """The largest grid rate (in steps of :data:`RATE_STEP`) below ``top`` for which ``ok``
    holds, searched from ``start``: gallop (1, 2, 4… steps) to bracket it, then bisect.

    ``top`` itself is known not to hold. With ``ok`` monotone (within the cap at a rate, within
    it at every lower rate) the answer does not depend on ``start``. None when not even 0 holds.
    """
    step = 1
    if ok(start):
        lo, hi = start, top
        while lo + step < hi:
            if not ok(lo + step):
                hi = lo + step
                break
            lo += step
            step *= 2
    else:
        hi = start
        while True:
            probe = max(0, hi - step)
            if ok(probe):
                lo = probe
                break
            if probe == 0:
                return None
            hi, step = probe, step * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo
