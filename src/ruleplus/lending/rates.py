"""Annualised rates from the actual cash flows (the IRR method).

Since 2021 Chinese lenders must disclose the annualised rate computed from the cash flows the
borrower actually has, fees included: the periodic internal rate of return times the number of
periods per year (:func:`apr_irr`; a fee-free 18 % annuity has ``apr_irr`` 0.18). The effective
annual rate compounds it instead (:func:`effective_annual_rate`). A "flat" product quoting a
monthly fee on the original principal is converted to its true rate by :func:`flat_rate_apr`.

The IRR is solved here (a safeguarded Newton iteration in floats for the start, finished in
``Decimal`` at 50 digits) because numpy-financial works in floats, which cannot tell whether a
rate is exactly at a cap; the tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ruleplus.errors import DataError
from ruleplus.lending.money import ZERO, context, term_months, to_decimal
from ruleplus.lending.schedule import Schedule

__all__ = [
    "APR_STEP",
    "PERIODS_PER_YEAR",
    "annualised",
    "apr_irr",
    "effective_annual_rate",
    "flat_rate_apr",
    "float_irr",
    "irr",
    "npv",
    "quoted_rate",
    "within_cap",
]

PERIODS_PER_YEAR = 12
APR_STEP = Decimal("0.0001")
"""``apr_irr`` is disclosed to a hundredth of a percent."""
_ONE = Decimal(1)
_TOLERANCE = Decimal("1e-24")  # Newton from a 1e-15 start: the next step is ~1e-30


def _check_flows(flows: Sequence[Decimal]) -> None:
    if len(flows) < 2:
        raise DataError("an IRR needs a disbursement and at least one payment", field="cash_flows")
    if flows[0] >= 0:
        raise DataError(
            "the first cash flow (the disbursement) must be negative", field="cash_flows"
        )
    if any(f < 0 for f in flows[1:]) or not any(f > 0 for f in flows[1:]):
        raise DataError(
            "payments after the disbursement must be 0 or more, and not all 0", field="cash_flows"
        )


def npv(flows: Sequence[Decimal], rate: Decimal) -> Decimal:
    """Net present value of ``flows`` (period 0 first) at the periodic ``rate``."""
    v = context.divide(_ONE, context.add(_ONE, rate))
    total = ZERO
    for flow in reversed(flows):  # Horner: ((c_n v + c_{n-1}) v + ...) + c_0
        total = context.add(context.multiply(total, v), flow)
    return total


def float_irr(flows: Sequence[float]) -> float:
    """The periodic IRR in floats: Newton's method kept inside a bracket (bisection otherwise).

    With a negative first flow and non-negative later ones the NPV falls strictly with the
    rate, so the root is unique and the bracket always holds it.
    """
    lo, hi = -0.999999, 1.0
    while _float_npv(flows, hi)[0] > 0:
        hi *= 2
    rate = 0.01
    for _ in range(200):
        value, slope = _float_npv(flows, rate)
        if value > 0:
            lo = rate
        else:
            hi = rate
        step = rate - value / slope if slope < 0 else (lo + hi) / 2
        rate = step if lo < step < hi else (lo + hi) / 2
        if hi - lo < 1e-15 or abs(value) < 1e-12 * abs(flows[0]):
            break
    return rate


def _float_npv(flows: Sequence[float], rate: float) -> tuple[float, float]:
    """NPV and its derivative in the rate (Horner, one pass)."""
    v = 1.0 / (1.0 + rate)
    total = slope = 0.0
    for flow in reversed(flows):
        slope = slope * v + total
        total = total * v + flow
    return total, -slope * v * v


def irr(flows: Sequence[Decimal]) -> Decimal:
    """The periodic internal rate of return of ``flows`` (period 0 first), to ~30 digits.

    Parameters
    ----------
    flows : sequence of Decimal
        A negative disbursement, then payments (0 or more, not all 0).

    Raises
    ------
    DataError
        Flows without exactly one sign change as described.
    """
    exact = [to_decimal(f, "cash_flows") for f in flows]
    _check_flows(exact)
    rate = Decimal(repr(float_irr([float(f) for f in exact])))
    for _ in range(8):  # Newton in Decimal: each step doubles the correct digits
        v = context.divide(_ONE, context.add(_ONE, rate))
        value, slope = ZERO, ZERO
        for t in range(len(exact) - 1, -1, -1):
            value = context.add(context.multiply(value, v), exact[t])
        for t in range(len(exact) - 1, 0, -1):
            slope = context.add(context.multiply(slope, v), context.multiply(exact[t], t))
        slope = -context.multiply(slope, context.multiply(v, v))
        step = context.divide(value, slope)
        rate = context.subtract(rate, step)
        if abs(step) < _TOLERANCE:
            break
    return rate


def quoted_rate(rate: Decimal) -> Decimal:
    """An annualised rate as disclosed: four decimals (a hundredth of a percent), half up.

    The cap is checked on the exact rate (:func:`within_cap`), never on this rounding.
    """
    return rate.quantize(APR_STEP, context=context)


def apr_irr(
    schedule: Schedule | Sequence[Decimal], periods_per_year: int = PERIODS_PER_YEAR
) -> Decimal:
    """The annualised rate by the IRR method: periodic IRR x periods per year, to four decimals.

    Parameters
    ----------
    schedule : Schedule or sequence of Decimal
        A schedule (its :meth:`~Schedule.cash_flows`) or the cash flows themselves.
    periods_per_year : int, default=12
        Monthly instalments.
    """
    flows = schedule.cash_flows() if isinstance(schedule, Schedule) else list(schedule)
    return quoted_rate(context.multiply(irr(flows), periods_per_year))


def effective_annual_rate(
    schedule: Schedule | Sequence[Decimal], periods_per_year: int = PERIODS_PER_YEAR
) -> Decimal:
    """The effective annual rate ``(1 + IRR)^periods - 1``, to four decimals."""
    flows = schedule.cash_flows() if isinstance(schedule, Schedule) else list(schedule)
    periodic = irr(flows)
    grown = context.power(context.add(_ONE, periodic), periods_per_year)
    return quoted_rate(context.subtract(grown, _ONE))


def annualised(
    schedule: Schedule | Sequence[Decimal], periods_per_year: int = PERIODS_PER_YEAR
) -> tuple[Decimal, Decimal]:
    """``(apr_irr, effective_annual_rate)`` from one IRR solve."""
    flows = schedule.cash_flows() if isinstance(schedule, Schedule) else list(schedule)
    periodic = irr(flows)
    grown = context.power(context.add(_ONE, periodic), periods_per_year)
    return (
        quoted_rate(context.multiply(periodic, periods_per_year)),
        quoted_rate(context.subtract(grown, _ONE)),
    )


def within_cap(
    schedule: Schedule | Sequence[Decimal], cap: Decimal, periods_per_year: int = PERIODS_PER_YEAR
) -> bool:
    """Whether the exact annualised rate is at most ``cap``: the NPV at ``cap / periods`` is
    0 or less (no rounding of the rate is involved)."""
    flows = schedule.cash_flows() if isinstance(schedule, Schedule) else list(schedule)
    _check_flows(flows)
    return npv(flows, context.divide(cap, Decimal(periods_per_year))) <= 0


def flat_rate_apr(monthly_rate: object, months: object) -> Decimal:
    """The true annualised rate (IRR method) of a "flat" product.

    A flat product quotes a monthly rate on the *original* principal: each of ``months`` equal
    instalments repays ``1/months`` of it plus ``monthly_rate`` of it, although the balance
    falls. The result is exact (no cent rounding), on a principal of 1.

    Raises
    ------
    DataError
        A rate that is not a fraction from 0 to 1, or a bad term.
    """
    rate = to_decimal(monthly_rate, "monthly_rate")
    if not ZERO <= rate <= 1:
        raise DataError(
            f"monthly_rate must be a fraction from 0 to 1 (0.005 is 0.5% a month), got {rate}",
            field="monthly_rate",
        )
    n = term_months(months)
    payment = context.add(context.divide(_ONE, Decimal(n)), rate)
    return quoted_rate(context.multiply(irr([-_ONE] + [payment] * n), PERIODS_PER_YEAR))
