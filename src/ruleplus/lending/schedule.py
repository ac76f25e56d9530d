"""Repayment schedules, right to the cent.

Four methods (``METHODS``):

- ``equal-installment`` (等额本息, annuity): a level payment ``P r / (1 - (1 + r)^-n)`` with
  ``r`` the nominal rate / 12, rounded to the cent; each line's interest is the balance times
  the period's year fraction (see :mod:`.daycount`) rounded to the cent, the principal the rest;
- ``equal-principal`` (等额本金): the principal ``P / n`` rounded to the cent each period, plus
  the interest on the balance;
- ``interest-only`` (先息后本): interest each period, the whole principal with the last;
- ``bullet`` (到期一次还本付息): principal and simple interest together at maturity.

Every line is rounded to the cent half up and the last line takes the residue, so the
principal always sums to the amount and the balance ends at exactly zero. Grace periods are
interest-only periods at the start (the amortisation runs over the rest). Fees are upfront
(withheld from the amount paid out) or per period (added to each instalment), a fixed amount
or a fraction of the principal. :func:`repay_early` re-amortises after a full or partial early
repayment (``shorter-term`` or ``lower-instalment``); :func:`overdue` prices late instalments
with penalty interest.

Written here rather than taken from a library because none of the Python ones (numpy-financial
included) rounds per line, keeps ``Decimal`` money or knows fees and grace periods; the tests
check the unrounded figures against numpy-financial and closed forms.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from ruleplus.errors import DataError
from ruleplus.lending.daycount import (
    DayCount,
    add_months,
    day_count,
    days_30_360,
    year_fraction,
)
from ruleplus.lending.money import (
    ZERO,
    cents,
    context,
    money,
    term_months,
    to_decimal,
)
from ruleplus.lending.money import (
    amount as check_amount,
)
from ruleplus.lending.money import (
    annual_rate as check_rate,
)

__all__ = [
    "METHODS",
    "PREPAY_MODES",
    "Fee",
    "Instalment",
    "Method",
    "OverdueLine",
    "Prepayment",
    "Schedule",
    "build_schedule",
    "fee_summary",
    "level_payment",
    "method_name",
    "overdue",
    "penalty_interest",
    "repay_early",
    "schedule_flows",
]

Method = Literal["equal-installment", "equal-principal", "interest-only", "bullet"]
METHODS: tuple[str, ...] = get_args(Method)
PrepayMode = Literal["shorter-term", "lower-instalment"]
PREPAY_MODES: tuple[str, ...] = get_args(PrepayMode)
FeeKind = Literal["upfront", "periodic"]


def method_name(value: str, field: str = "method") -> Method:
    """``value`` checked as one of :data:`METHODS` (underscores accepted for dashes)."""
    name = value.replace("_", "-")
    if name not in METHODS:
        raise DataError(f"{field} must be one of {', '.join(METHODS)}, got {value!r}", field=field)
    return name  # type: ignore[return-value]  # checked against the literal's values


@dataclass(frozen=True)
class Fee:
    """A fee: upfront (withheld at disbursement) or periodic (added to every instalment).

    Parameters
    ----------
    kind : {"upfront", "periodic"}
        When it is charged.
    amount : Decimal, optional
        A fixed amount (per period for a periodic fee).
    rate : Decimal, optional
        A fraction of the principal (per period for a periodic fee: a "flat" monthly fee).
    name : str, default="fee"
        Shown in the offer.
    """

    kind: FeeKind
    amount: Decimal | None = None
    rate: Decimal | None = None
    name: str = "fee"

    def __post_init__(self) -> None:
        where = f"fee {self.name!r}"
        if self.kind not in ("upfront", "periodic"):
            raise DataError(f"{where}: kind must be upfront or periodic", field="fee.kind")
        if (self.amount is None) == (self.rate is None):
            raise DataError(f"{where}: give exactly one of amount and rate", field="fee")
        if self.amount is not None:
            object.__setattr__(self, "amount", money(self.amount, "fee.amount"))
        if self.rate is not None:
            rate = to_decimal(self.rate, "fee.rate")
            if not ZERO <= rate < 1:
                raise DataError(
                    f"{where}: rate must be a fraction from 0 to below 1 (0.01 is 1%), got {rate}",
                    field="fee.rate",
                )
            object.__setattr__(self, "rate", rate)

    def charge(self, principal: Decimal) -> Decimal:
        """The fee in money for a loan of ``principal`` (rounded to the cent)."""
        if self.amount is not None:
            return self.amount
        assert self.rate is not None
        return cents(context.multiply(principal, self.rate))

    @classmethod
    def parse(cls, text: str) -> Fee:
        """A fee from ``KIND:VALUE[:NAME]``: ``upfront:2%``, ``periodic:0.3%``, ``upfront:50``.

        A value ending in ``%`` is a rate of the principal; otherwise a fixed amount.
        """
        parts = text.split(":")
        if len(parts) not in (2, 3) or parts[0] not in ("upfront", "periodic"):
            raise DataError(
                f"a fee is KIND:VALUE[:NAME] with KIND upfront or periodic, got {text!r}",
                field="fee",
            )
        kind: FeeKind = "upfront" if parts[0] == "upfront" else "periodic"
        name = parts[2] if len(parts) == 3 else kind
        value = parts[1].strip()
        if value.endswith("%"):
            rate = to_decimal(value[:-1], "fee") / 100
            return cls(kind, rate=rate, name=name)
        return cls(kind, amount=to_decimal(value, "fee"), name=name)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (money and rates as decimal text)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.amount is not None:
            out["amount"] = str(self.amount)
        if self.rate is not None:
            out["rate"] = str(self.rate)
        return out


@dataclass(frozen=True)
class Instalment:
    """One line of a schedule: ``payment = principal + interest + fee``; ``balance`` after it."""

    period: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    fee: Decimal
    balance: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON form: money as decimal text, the date as ISO text."""
        return {
            "period": self.period,
            "due_date": self.due_date.isoformat(),
            "payment": str(self.payment),
            "principal": str(self.principal),
            "interest": str(self.interest),
            "fee": str(self.fee),
            "balance": str(self.balance),
        }


@dataclass(frozen=True)
class Prepayment:
    """An early repayment of ``principal`` with the instalment of ``period`` (0: at
    disbursement), plus its ``fee``."""

    period: int
    principal: Decimal
    fee: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"period": self.period, "principal": str(self.principal), "fee": str(self.fee)}


@dataclass(frozen=True)
class Schedule:
    """A repayment schedule and the terms it was built from (see :func:`build_schedule`)."""

    amount: Decimal
    months: int
    annual_rate: Decimal
    method: Method
    day_count: DayCount
    start: date
    fees: tuple[Fee, ...]
    grace_months: int
    instalments: tuple[Instalment, ...]
    prepayments: tuple[Prepayment, ...] = field(default=())

    @property
    def upfront_fee(self) -> Decimal:
        """Fees withheld at disbursement."""
        return sum((f.charge(self.amount) for f in self.fees if f.kind == "upfront"), ZERO)

    @property
    def periodic_fees(self) -> Decimal:
        """Fees charged with the instalments, in total."""
        return sum((i.fee for i in self.instalments), ZERO)

    @property
    def disbursed(self) -> Decimal:
        """What the borrower receives: the amount less the upfront fees."""
        return self.amount - self.upfront_fee

    @property
    def total_payment(self) -> Decimal:
        """Everything the borrower repays after disbursement (instalments and prepayments)."""
        paid = sum((i.payment for i in self.instalments), ZERO)
        return paid + sum((p.principal + p.fee for p in self.prepayments), ZERO)

    @property
    def total_interest(self) -> Decimal:
        """Interest over the schedule."""
        return sum((i.interest for i in self.instalments), ZERO)

    def cash_flows(self) -> list[Decimal]:
        """The borrower's cash flows by period: ``-disbursed`` at 0, then what is paid.

        The flows the annualised rate (:func:`ruleplus.lending.rates.apr_irr`) is the IRR of.
        """
        flows = [-self.disbursed] + [ZERO] * self.months
        for line in self.instalments:
            flows[line.period] += line.payment
        for pre in self.prepayments:
            flows[pre.period] += pre.principal + pre.fee
        while len(flows) > 2 and flows[-1] == 0:  # repaid early: the term ends with it
            flows.pop()
        return flows

    def to_dict(self) -> dict[str, Any]:
        """JSON form (money as decimal text)."""
        return {
            "amount": str(self.amount),
            "months": self.months,
            "method": self.method,
            "nominal_rate": str(self.annual_rate),
            "day_count": self.day_count,
            "start": self.start.isoformat(),
            "grace_months": self.grace_months,
            "fees": fee_summary(self),
            "instalments": [i.to_dict() for i in self.instalments],
            "prepayments": [p.to_dict() for p in self.prepayments],
            "total_payment": str(self.total_payment),
            "total_interest": str(self.total_interest),
        }


def fee_summary(schedule: Schedule) -> dict[str, Any]:
    """The fees of a schedule: ``upfront``, ``periodic`` (all lines), ``total`` and ``items``."""
    upfront, periodic = schedule.upfront_fee, schedule.periodic_fees
    return {
        "upfront": str(upfront),
        "periodic": str(periodic),
        "total": str(upfront + periodic),
        "items": [f.to_dict() for f in schedule.fees],
    }


def level_payment(principal: Decimal, annual_rate: Decimal, periods: int) -> Decimal:
    """The annuity payment of ``principal`` over ``periods`` months at ``annual_rate``
    (nominal, compounded monthly), rounded to the cent half up."""
    if annual_rate == 0:
        return cents(context.divide(principal, Decimal(periods)))
    r = context.divide(annual_rate, Decimal(12))
    discount = context.power(context.add(Decimal(1), r), -periods)
    return cents(context.divide(context.multiply(principal, r), context.subtract(1, discount)))


def _interest(balance: Decimal, rate: Decimal, fraction: tuple[int, int]) -> Decimal:
    numerator, denominator = fraction
    exact = context.multiply(context.multiply(balance, rate), Decimal(numerator))
    return cents(context.divide(exact, Decimal(denominator)))


@dataclass(frozen=True)
class _Period:
    number: int
    due: date
    fraction: tuple[int, int]


@functools.lru_cache(maxsize=4096)
def _periods(start: date, months: int, convention: DayCount, first: int = 1) -> tuple[_Period, ...]:
    """The periods of a term (kept: a price search builds many schedules on the same dates)."""
    out = []
    for k in range(first, months + 1):
        begin, due = add_months(start, k - 1), add_months(start, k)
        out.append(_Period(k, due, year_fraction(begin, due, convention)))
    return tuple(out)


Line = tuple[_Period, Decimal, Decimal, Decimal]
"""A schedule line before it becomes an :class:`Instalment`: period, principal, interest,
balance after it."""


def _lines(
    balance: Decimal,
    periods: Sequence[_Period],
    method: Method,
    rate: Decimal,
    grace: int,
    *,
    payment: Decimal | None = None,
    part: Decimal | None = None,
) -> list[Line]:
    """The lines paying ``balance`` off over ``periods``; with a fixed ``payment`` (annuity) or
    ``part`` (equal principal) the schedule stops as soon as the balance is paid (shorter term).
    """
    lines: list[Line] = []
    n = len(periods)
    amortising = n - grace
    fixed = payment is not None or part is not None
    if method == "equal-installment" and payment is None:
        payment = level_payment(balance, rate, amortising)
    if method == "equal-principal" and part is None:
        part = cents(context.divide(balance, Decimal(amortising)))
    accrued = 0  # bullet: simple interest, rounded once at maturity (numerators of one basis)
    for k, period in enumerate(periods):
        last = k == n - 1
        if method == "bullet":
            accrued += period.fraction[0]
            interest = _interest(balance, rate, (accrued, period.fraction[1])) if last else ZERO
        else:
            interest = _interest(balance, rate, period.fraction)
        if last:
            principal = balance
        elif k < grace or method in ("interest-only", "bullet"):
            principal = ZERO
        elif method == "equal-installment":
            assert payment is not None
            principal = min(balance, max(ZERO, payment - interest))
        else:
            assert part is not None
            principal = min(balance, part)
        balance -= principal
        lines.append((period, principal, interest, balance))
        if fixed and balance == 0:
            break
    return lines


def _amortise(
    balance: Decimal,
    periods: Sequence[_Period],
    method: Method,
    rate: Decimal,
    grace: int,
    fee: Decimal,
    *,
    payment: Decimal | None = None,
    part: Decimal | None = None,
) -> list[Instalment]:
    """:func:`_lines` as instalments, with the periodic ``fee`` on each."""
    return [
        Instalment(p.number, p.due, principal + interest + fee, principal, interest, fee, left)
        for p, principal, interest, left in _lines(
            balance, periods, method, rate, grace, payment=payment, part=part
        )
    ]


def schedule_flows(
    amount: Decimal,
    months: int,
    annual_rate: Decimal,
    method: Method,
    *,
    start: date,
    day_count_convention: DayCount,
    fees: Sequence[Fee],
) -> list[Decimal]:
    """The cash flows of ``build_schedule(...)`` (no grace) without building the schedule:
    what a price search checks many times. The arguments are taken as already checked."""
    upfront = sum((f.charge(amount) for f in fees if f.kind == "upfront"), ZERO)
    fee = sum((f.charge(amount) for f in fees if f.kind == "periodic"), ZERO)
    periods = _periods(start, months, day_count_convention)
    flows = [upfront - amount]
    flows += [
        principal + interest + fee
        for _, principal, interest, _ in _lines(amount, periods, method, annual_rate, 0)
    ]
    return flows


def build_schedule(
    amount: Any,
    months: Any,
    annual_rate: Any,
    method: str = "equal-installment",
    *,
    start: date | None = None,
    day_count_convention: str = "30/360",
    fees: Iterable[Fee] = (),
    grace_months: int = 0,
) -> Schedule:
    """Build a schedule.

    Parameters
    ----------
    amount : Decimal, int or str
        The principal (more than 0, whole cents, at most one billion).
    months : int
        The term, 1 to 480 monthly periods.
    annual_rate : Decimal, int or str
        The nominal annual rate as a fraction, 0 to 1 (six decimals at most).
    method : str, default="equal-installment"
        One of :data:`METHODS`.
    start : date, optional
        The disbursement date (default today); due dates follow monthly.
    day_count_convention : str, default="30/360"
        ``30/360``, ``actual/365`` or ``actual/360`` (see :mod:`.daycount`).
    fees : iterable of Fee, default=()
        Upfront and periodic fees.
    grace_months : int, default=0
        Interest-only periods at the start (0 to ``months - 1``).

    Raises
    ------
    DataError
        A bad argument, named.
    """
    principal = check_amount(amount)
    n = term_months(months)
    rate = check_rate(annual_rate)
    chosen = method_name(method)
    convention = day_count(day_count_convention)
    if isinstance(grace_months, bool) or not isinstance(grace_months, int):
        raise DataError("grace_months must be a whole number", field="grace_months")
    if not 0 <= grace_months < n:
        raise DataError(
            f"grace_months must be from 0 to months - 1 ({n - 1}), got {grace_months}",
            field="grace_months",
        )
    fee_list = tuple(fees)
    start = start or date.today()
    upfront = sum((f.charge(principal) for f in fee_list if f.kind == "upfront"), ZERO)
    if upfront >= principal:
        raise DataError(
            f"upfront fees ({upfront}) must be less than the amount ({principal})", field="fees"
        )
    periodic = sum((f.charge(principal) for f in fee_list if f.kind == "periodic"), ZERO)
    lines = _amortise(
        principal, _periods(start, n, convention), chosen, rate, grace_months, periodic
    )
    return Schedule(
        principal, n, rate, chosen, convention, start, fee_list, grace_months, tuple(lines)
    )


def repay_early(
    schedule: Schedule,
    after_period: int,
    principal: Any = None,
    *,
    mode: str = "lower-instalment",
    fee_rate: Any = 0,
) -> Schedule:
    """The schedule after an early repayment made with instalment ``after_period``.

    Parameters
    ----------
    schedule : Schedule
        The schedule so far (it may already contain prepayments).
    after_period : int
        The instalments up to this one are paid as scheduled (0: before the first one).
    principal : Decimal, optional
        The principal repaid early; ``None`` (or the whole balance) repays in full.
    mode : {"lower-instalment", "shorter-term"}, default="lower-instalment"
        Keep the remaining term and lower the instalments, or keep the instalment (annuity) or
        principal part (equal principal) and end sooner.
    fee_rate : Decimal, default=0
        An early-repayment fee, as a fraction of the principal repaid.

    Raises
    ------
    DataError
        A period outside the schedule, more than the balance, an unknown mode, or
        ``shorter-term`` for a method without instalments of principal.
    """
    last = schedule.instalments[-1].period
    if isinstance(after_period, bool) or not isinstance(after_period, int):
        raise DataError("after_period must be a whole number", field="after_period")
    if not 0 <= after_period < last:
        raise DataError(
            f"after_period must be from 0 to {last - 1} (an instalment still to pay)",
            field="after_period",
        )
    if mode not in PREPAY_MODES:
        raise DataError(f"mode must be one of {', '.join(PREPAY_MODES)}", field="mode")
    kept = [i for i in schedule.instalments if i.period <= after_period]
    balance = (
        kept[-1].balance
        if kept
        else schedule.amount
        - sum((p.principal for p in schedule.prepayments if p.period == 0), ZERO)
    )
    repaid = balance if principal is None else money(principal, "principal", allow_zero=False)
    if repaid > balance:
        raise DataError(f"principal {repaid} is more than the balance {balance}", field="principal")
    fee_fraction = to_decimal(fee_rate, "fee_rate")
    if not ZERO <= fee_fraction < 1:
        raise DataError("fee_rate must be a fraction from 0 to below 1", field="fee_rate")
    prepayment = Prepayment(after_period, repaid, cents(context.multiply(repaid, fee_fraction)))
    remaining = balance - repaid
    lines = list(kept)
    if remaining > 0:
        periods = _periods(schedule.start, last, schedule.day_count, first=after_period + 1)
        grace = max(0, schedule.grace_months - after_period)
        fee = sum((f.charge(schedule.amount) for f in schedule.fees if f.kind == "periodic"), ZERO)
        later = [i for i in schedule.instalments if i.period > after_period]
        if mode == "lower-instalment":
            lines += _amortise(
                remaining, periods, schedule.method, schedule.annual_rate, grace, fee
            )
        elif schedule.method == "equal-installment":
            level = later[min(grace, len(later) - 1)].payment - fee  # the first amortising line
            lines += _amortise(
                remaining,
                periods,
                "equal-installment",
                schedule.annual_rate,
                grace,
                fee,
                payment=level,
            )
        elif schedule.method == "equal-principal":
            part = later[min(grace, len(later) - 1)].principal
            lines += _amortise(
                remaining, periods, "equal-principal", schedule.annual_rate, grace, fee, part=part
            )
        else:
            raise DataError(
                f"shorter-term needs instalments of principal; {schedule.method} has none "
                "(use lower-instalment)",
                field="mode",
            )
    return replace(
        schedule,
        instalments=tuple(lines),
        prepayments=(*schedule.prepayments, prepayment),
    )


@dataclass(frozen=True)
class OverdueLine:
    """One late instalment: ``days`` past due on ``as_of``, its ``amount`` and ``penalty``."""

    period: int
    due_date: date
    days: int
    amount: Decimal
    penalty: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "period": self.period,
            "due_date": self.due_date.isoformat(),
            "days": self.days,
            "amount": str(self.amount),
            "penalty": str(self.penalty),
        }


def penalty_interest(
    overdue_amount: Any,
    due: date,
    as_of: date,
    annual_penalty_rate: Any,
    convention: str = "actual/365",
) -> Decimal:
    """Penalty interest (罚息) on ``overdue_amount`` from ``due`` to ``as_of``: simple interest
    at ``annual_penalty_rate`` for the days late (none when not late), rounded to the cent."""
    late = money(overdue_amount, "overdue_amount")
    rate = check_rate(annual_penalty_rate, "annual_penalty_rate")
    chosen = day_count(convention)
    if as_of <= due:
        return ZERO
    days = (as_of - due).days if chosen != "30/360" else days_30_360(due, as_of)
    basis = 365 if chosen == "actual/365" else 360
    return _interest(late, rate, (days, basis))


def overdue(
    schedule: Schedule,
    as_of: date,
    paid_periods: int,
    annual_penalty_rate: Any,
    convention: str = "actual/365",
) -> list[OverdueLine]:
    """The instalments after ``paid_periods`` that were due before ``as_of``, each with its
    penalty interest (on the whole instalment)."""
    return [
        OverdueLine(
            line.period,
            line.due_date,
            (as_of - line.due_date).days,
            line.payment,
            penalty_interest(line.payment, line.due_date, as_of, annual_penalty_rate, convention),
        )
        for line in schedule.instalments
        if line.period > paid_periods and line.due_date < as_of
    ]
