"""Offers for a whole frame: limits, prices under the cap, schedules and ``apr_irr`` in numpy.

For the lab ("what does this price table do to revenue and to the share of offers at the
cap?"): :func:`offers_frame` gives, row for row, what :func:`ruleplus.lending.offers.make_offer`
gives, and :func:`offers_summary` totals it. :func:`schedule_arrays` is the engine: schedules
of many loans at once, one numpy pass per period.

Exact like the row path, not close to it:

- money is integer cents (int64) and rates integer millionths: each line's interest is
  ``round_half_up(balance * rate / 12)`` in integer arithmetic, the value ``Decimal`` gives;
- what needs floats (the annuity payment, the IRR, the NPV at the cap, a limit's income
  multiple or DTI headroom) is computed in float64 and, for the rows whose rounding lands
  within a small margin of a boundary (a half cent, a half basis point, a limit step, an NPV
  of about zero), recomputed with the row path's ``Decimal`` code;
- re-pricing steps on the same six-decimal grid with the same exact test, so it ends on the
  same rate as the row path.

The frame path covers the ``30/360`` day count (every offer section's default) and no grace
period; other sections are refused with an error naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ruleplus.decision import CompiledStrategy, OfferFeeDoc
from ruleplus.errors import DataError
from ruleplus.lending.limits import credit_limit
from ruleplus.lending.money import MAX_AMOUNT, MAX_MONTHS, context
from ruleplus.lending.rates import irr, npv
from ruleplus.lending.schedule import Fee, Method, level_payment

__all__ = [
    "PricedArrays",
    "ScheduleArrays",
    "offers_frame",
    "offers_summary",
    "price_arrays",
    "schedule_arrays",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_MICRO = 1_000_000
_D12 = 12 * _MICRO  # a monthly period's interest: balance * rate_micro / (12 * 10^6)
_CHUNK = 65_536  # rows per block: the cash-flow matrix of a block stays a few tens of MB
_SECANT_STEPS = 4  # estimate refinements before the exact grid steps
_CLOSE = 2e-7  # an estimate this close to the cap (in annual rate) is a step or two away


def _half_up(num: Ints, den: Ints | int) -> Ints:
    """``round_half_up(num / den)`` for ``num >= 0``, ``den > 0``, exactly."""
    return (2 * num + den) // (2 * den)


def _level_payments(p: Ints, rate: Ints, n: Ints) -> Ints:
    """Annuity payments in cents (HALF_UP), as :func:`~ruleplus.lending.schedule.level_payment`."""
    out = _half_up(p, n)  # 0 %: P / n
    has_rate = rate > 0
    if has_rate.any():
        p_r, rate_r, n_r = p[has_rate], rate[has_rate], n[has_rate]
        r = rate_r / _D12
        x = p_r * r / -np.expm1(-n_r * np.log1p(r))
        rounded = np.floor(x + 0.5).astype(np.int64)
        # float64 is good to ~1e-4 cent here; within 1e-3 cent of a tie, Decimal decides
        for j in np.flatnonzero(np.abs(x - np.floor(x) - 0.5) < 1e-3):
            exact = level_payment(
                Decimal(int(p_r[j])) / 100, Decimal(int(rate_r[j])) / _MICRO, int(n_r[j])
            )
            rounded[j] = int(exact * 100)
        out[has_rate] = rounded
    return out


@dataclass
class ScheduleArrays:
    """Schedules of many loans (one row each): cents, and the borrower's cash flows."""

    flows: Ints  # rows x (periods + 1): -disbursed, then each period's payment
    total_interest: Ints
    first_payment: Ints

    @property
    def total_payment(self) -> Ints:
        """Everything repaid after disbursement."""
        return np.asarray(self.flows[:, 1:].sum(axis=1), dtype=np.int64)


def schedule_arrays(
    amount: Ints,
    months: Ints,
    rate: Ints,
    method: Method,
    upfront: Ints,
    periodic: Ints,
) -> ScheduleArrays:
    """Schedules of many loans at once (30/360, no grace).

    Parameters
    ----------
    amount, months, rate, upfront, periodic : int64 arrays
        Principal in cents, term, nominal annual rate in millionths, upfront fees in cents,
        periodic fee per instalment in cents.
    method : str
        One of :data:`~ruleplus.lending.schedule.METHODS`.
    """
    rows = len(amount)
    top = int(months.max()) if rows else 1
    flows = np.zeros((rows, top + 1), dtype=np.int64)
    flows[:, 0] = -(amount - upfront)
    balance = amount.copy()
    total_interest = np.zeros(rows, dtype=np.int64)
    level = _level_payments(amount, rate, months) if method == "equal-installment" else None
    part = _half_up(amount, months) if method == "equal-principal" else None
    if method == "bullet":  # simple interest over the term, rounded once: P * r * n / 12
        q, rem = np.divmod(amount * rate, _D12)
        accrued = q * months + _half_up(rem * months, _D12)
    for t in range(1, top + 1):
        active = months >= t
        last = months == t
        if method == "bullet":
            interest = np.where(last, accrued, 0)
        else:
            interest = np.where(active, _half_up(balance * rate, _D12), 0)
        if level is not None:
            principal = np.minimum(balance, np.maximum(0, level - interest))
        elif part is not None:
            principal = np.minimum(balance, part)
        else:
            principal = np.zeros(rows, dtype=np.int64)
        principal = np.where(last, balance, np.where(active, principal, 0))
        flows[:, t] = principal + interest + np.where(active, periodic, 0)
        balance -= principal
        total_interest += interest
    return ScheduleArrays(flows, total_interest, flows[:, 1] if top else flows[:, 0])


def _float_npv(flows: Floats, rate: Floats) -> tuple[Floats, Floats]:
    """NPV and its derivative in the rate, per row (Horner over the periods)."""
    v = 1.0 / (1.0 + rate)
    value = np.zeros(len(flows))
    slope = np.zeros(len(flows))
    for t in range(flows.shape[1] - 1, -1, -1):
        slope = slope * v + value
        value = value * v + flows[:, t]
    return value, -slope * v * v


def _periodic_irr(flows: Ints) -> Floats:
    """Periodic IRR per row by Newton's method from 0: with a negative first flow and
    non-negative later ones the NPV is convex and falling, so the iterates rise to the root."""
    f = flows.astype(np.float64)
    rate = np.zeros(len(f))
    for _ in range(60):
        value, slope = _float_npv(f, rate)
        step = np.where(slope < 0, value / np.where(slope < 0, slope, -1.0), 0.0)
        rate = rate - step
        if np.all(np.abs(step) < 1e-16 + 1e-13 * np.abs(rate)):
            break
    return rate


def _decimal_flows(row: Ints) -> list[Decimal]:
    flows = [Decimal(int(c)) / 100 for c in row]
    while len(flows) > 2 and flows[-1] == 0:
        flows.pop()
    return flows


def _apr_bp(flows: Ints) -> Ints:
    """``apr_irr`` in basis points (1e-4), HALF_UP like the row path; near-ties in Decimal."""
    x = _periodic_irr(flows) * 12 * 10_000
    out = np.floor(x + 0.5).astype(np.int64)
    for j in np.flatnonzero(np.abs(x - np.floor(x) - 0.5) < 1e-5):
        exact = context.multiply(irr(_decimal_flows(flows[j])), 12)
        out[j] = int(exact.quantize(Decimal("0.0001"), context=context) * 10_000)
    return out


def _within(flows: Ints, cap_micro: Ints) -> Bools:
    """Whether each row's exact annualised rate is at most its cap (NPV at cap / 12 <= 0)."""
    value, _ = _float_npv(flows.astype(np.float64), cap_micro / _D12)
    ok = value <= 0
    scale = np.maximum(np.abs(flows[:, 0]), 1)
    for j in np.flatnonzero(np.abs(value) < 1e-10 * scale):  # float error is ~1e-15 of it
        cap = Decimal(int(cap_micro[j])) / _D12
        ok[j] = npv(_decimal_flows(flows[j]), cap) <= 0
    return ok


@dataclass
class _Priced:
    rate: Ints
    schedules: ScheduleArrays
    declined: Bools  # the fees alone break the cap


def _price_under_cap(
    amount: Ints,
    months: Ints,
    list_rate: Ints,
    cap: Ints,
    method: Method,
    fees: tuple[Ints, Ints],
    reprice: bool,
) -> _Priced:
    """Schedules at the list rate, re-priced down to the cap where needed (as
    :func:`ruleplus.lending.pricing.reprice_to_cap`: an estimate, then exact steps)."""
    upfront, periodic = fees

    def build(idx: Ints, rates: Ints) -> ScheduleArrays:
        return schedule_arrays(amount[idx], months[idx], rates, method, upfront[idx], periodic[idx])

    everyone = np.arange(len(amount))
    plans = build(everyone, list_rate)
    rate = list_rate.copy()
    declined = np.zeros(len(amount), dtype=bool)
    over = np.flatnonzero(~_within(plans.flows, cap))
    if len(over) == 0:
        return _Priced(rate, plans, declined)
    if not reprice:
        declined[over] = True
        return _Priced(rate, plans, declined)
    top = list_rate[over]
    cap_o = cap[over]
    # the estimate: secant steps on grid rates from the list rate and that rate less its
    # excess (fees add a roughly constant excess), as the row path does
    cap_f = cap_o / _MICRO
    a, f_a = top.copy(), _apr_float(plans.flows[over]) - cap_f
    b = np.floor(np.maximum(0.0, top / _MICRO - f_a) * _MICRO).astype(np.int64)
    f_b = _apr_float(build(over, b).flows) - cap_f
    for _ in range(_SECANT_STEPS):
        active = np.flatnonzero((np.abs(f_b) >= _CLOSE) & (f_a != f_b))
        if len(active) == 0:
            break
        ai, bi = a[active], b[active]
        nxt = (bi - f_b[active] * (bi - ai) / (f_b[active] - f_a[active])) / _MICRO
        c = np.minimum(np.floor(np.maximum(nxt, 0.0) * _MICRO).astype(np.int64), top[active])
        moved = c != bi
        active, c = active[moved], c[moved]
        if len(active) == 0:
            break
        a[active], f_a[active] = b[active], f_b[active]
        b[active] = c
        f_b[active] = _apr_float(build(over[active], c).flows) - cap_f[active]
    current, failed = _largest_within(
        lambda idx, rates: _within(build(over[idx], rates).flows, cap_o[idx]), b, top
    )
    result = build(over, np.maximum(current, 0))
    rate[over] = np.maximum(current, 0)
    declined[over[failed]] = True
    _assign(plans, over, result)
    return _Priced(rate, plans, declined)


def _largest_within(
    check: Callable[[Ints, Ints], Bools], start: Ints, top: Ints
) -> tuple[Ints, Bools]:
    """:func:`ruleplus.lending.pricing.largest_within` for many rows at once: the largest grid
    rate below ``top`` that ``check(rows, rates)`` accepts, and the rows where not even 0 is."""
    n = len(start)
    everyone = np.arange(n)
    ok = check(everyone, start)
    lo = np.where(ok, start, -1)  # a rate known within (-1: none yet)
    hi = np.where(ok, top, start)  # a rate known above
    step = np.ones(n, dtype=np.int64)
    failed = np.zeros(n, dtype=bool)
    searching = np.ones(n, dtype=bool)
    while True:  # gallop: up from a good rate, down from a bad one, doubling the step
        g = np.flatnonzero(searching)
        if len(g) == 0:
            break
        up = lo[g] >= 0
        probe = np.where(up, lo[g] + step[g], np.maximum(0, hi[g] - step[g]))
        bracketed = up & (probe >= hi[g])
        searching[g[bracketed]] = False
        g, probe, up = g[~bracketed], probe[~bracketed], up[~bracketed]
        if len(g) == 0:
            continue
        good = check(g, probe)
        lo[g[good]] = probe[good]
        hi[g[~good]] = probe[~good]
        bottom = ~up & ~good & (probe == 0)
        failed[g[bottom]] = True
        searching[g[np.where(up, ~good, good) | bottom]] = False
        step[g] *= 2
    while True:  # bisect each bracket
        b = np.flatnonzero(~failed & (hi - lo > 1))
        if len(b) == 0:
            break
        mid = (lo[b] + hi[b]) // 2
        good = check(b, mid)
        lo[b[good]] = mid[good]
        hi[b[~good]] = mid[~good]
    return lo, failed


def _apr_float(flows: Ints) -> Floats:
    return _periodic_irr(flows) * 12


def _take(s: ScheduleArrays, idx: Ints) -> ScheduleArrays:
    return ScheduleArrays(s.flows[idx], s.total_interest[idx], s.first_payment[idx])


def _assign(target: ScheduleArrays, idx: Ints, source: ScheduleArrays) -> None:
    width = source.flows.shape[1]
    target.flows[idx] = 0
    target.flows[idx, :width] = source.flows
    target.total_interest[idx] = source.total_interest
    target.first_payment[idx] = source.first_payment


@dataclass
class PricedArrays:
    """Offers priced under their caps: the nominal rates (millionths), ``apr_irr`` (basis
    points of 0.0001), the totals (cents), and which were declined (fees alone over the cap,
    or any excess with ``reprice=False``)."""

    nominal_rate: Ints
    apr_irr_bp: Ints
    total_payment: Ints
    total_interest: Ints
    first_payment: Ints
    declined: Bools


def price_arrays(
    amount: Ints,
    months: Ints,
    list_rate: Ints,
    cap: Ints,
    method: Method = "equal-installment",
    upfront: Ints | None = None,
    periodic: Ints | None = None,
    *,
    reprice: bool = True,
) -> PricedArrays:
    """Schedules, the cap check (re-pricing down to it) and ``apr_irr`` for many offers, in
    blocks of 65,536 rows; the same numbers as the row path (see the module docstring).

    Parameters
    ----------
    amount, months, list_rate, cap : int64 arrays
        Principal (cents), term, list rate and cap (millionths).
    method : str, default="equal-installment"
        One of :data:`~ruleplus.lending.schedule.METHODS`.
    upfront, periodic : int64 arrays, optional
        Upfront fees and the fee per instalment (cents; default none).
    reprice : bool, default=True
        Lower the rate to the cap (else decline what is above it).
    """
    rows = len(amount)
    none = np.zeros(rows, dtype=np.int64)
    upfront = none if upfront is None else upfront
    periodic = none if periodic is None else periodic
    ints = [np.zeros(rows, dtype=np.int64) for _ in range(5)]
    out = PricedArrays(ints[0], ints[1], ints[2], ints[3], ints[4], np.zeros(rows, dtype=bool))
    for start in range(0, rows, _CHUNK):
        part = slice(start, start + _CHUNK)
        priced = _price_under_cap(
            amount[part],
            months[part],
            list_rate[part],
            cap[part],
            method,
            (upfront[part], periodic[part]),
            reprice,
        )
        out.nominal_rate[part] = priced.rate
        out.apr_irr_bp[part] = _apr_bp(priced.schedules.flows)
        out.total_payment[part] = priced.schedules.total_payment
        out.total_interest[part] = priced.schedules.total_interest
        out.first_payment[part] = priced.schedules.first_payment
        out.declined[part] = priced.declined
    return out


# the frame path ---------------------------------------------------------------------------------
def _column(terms: pl.DataFrame, slot: str, rows: int) -> Floats:
    if slot not in terms.columns:
        return np.full(rows, np.nan)
    return terms.get_column(slot).cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)


def _exact_units(values: Floats, scale: int, field: str) -> Ints:
    """Floats that stand for decimals with at most ``log10(scale)`` places, as exact integers."""
    scaled = values * scale
    units = np.rint(scaled)
    bad = np.isfinite(values) & (np.abs(scaled - units) > 1e-6 * np.maximum(1.0, np.abs(scaled)))
    if bad.any():
        raise DataError(
            f"{field} must have at most {len(str(scale)) - 1} decimals for the frame path, "
            f"got {values[np.flatnonzero(bad)[0]]!r}",
            field=field,
        )
    return np.nan_to_num(units).astype(np.int64)


def _fee_cents(
    docs: Sequence[OfferFeeDoc], terms: pl.DataFrame, prefix: str, amount: Ints
) -> tuple[Ints, Ints]:
    rows = len(amount)
    upfront = np.zeros(rows, dtype=np.int64)
    periodic = np.zeros(rows, dtype=np.int64)
    for i, doc in enumerate(docs):
        fixed = _column(terms, f"{prefix}.{i}.amount", rows)
        share = _column(terms, f"{prefix}.{i}.rate", rows)
        charge = np.where(
            np.isfinite(fixed), _exact_units(fixed, 100, f"offer.{prefix}.{i}.amount"), 0
        )
        micro = _exact_units(share, _MICRO, f"offer.{prefix}.{i}.rate")
        charge = np.where(np.isfinite(share), _half_up(amount * micro, _MICRO), charge)
        if doc.kind == "upfront":
            upfront += charge
        else:
            periodic += charge
    return upfront, periodic


def _fees_of(terms: pl.DataFrame, docs: Sequence[OfferFeeDoc], prefix: str, j: int) -> list[Fee]:
    out = []
    for i, doc in enumerate(docs):
        amount = (
            terms.get_column(f"{prefix}.{i}.amount")[j]
            if f"{prefix}.{i}.amount" in terms.columns
            else None
        )
        rate = (
            terms.get_column(f"{prefix}.{i}.rate")[j]
            if f"{prefix}.{i}.rate" in terms.columns
            else None
        )
        if amount is None and rate is None:
            continue
        out.append(
            Fee(
                doc.kind,
                amount=None if amount is None else Decimal(repr(float(amount))),
                rate=None if rate is None else Decimal(repr(float(rate))),
                name=doc.name,
            )
        )
    return out


def offers_frame(
    strategy: CompiledStrategy,
    applications: pl.DataFrame,
    *,
    default_cap: Decimal,
    decisions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The offer of every row of ``applications`` (decided by ``strategy`` unless
    ``decisions`` holds its :meth:`~ruleplus.decision.CompiledStrategy.evaluate_frame` result).

    Returns
    -------
    polars.DataFrame
        One row per application: ``offer`` (an offer was issued), ``declined`` (an ``OFFER_*``
        code, else null), ``grade``, ``price``, ``repriced``; money in integer cents
        (``limit_cents``, ``amount_cents``, ``upfront_fee_cents``, ``periodic_fees_cents``,
        ``first_payment_cents``, ``total_payment_cents``, ``total_interest_cents``); rates in
        integer units (``list_rate_micro`` and ``nominal_rate_micro`` in millionths,
        ``apr_irr_bp`` and ``cap_bp`` in basis points of 0.0001). No floats hold money.

    Raises
    ------
    DataError
        The strategy has no offer section, the section is outside the frame path (a day count
        other than 30/360), or a term, price or fee is refused (as on the row path).
    """
    program = strategy.offer
    if program is None:
        raise DataError(f"strategy {strategy.id!r} has no offer section", field="offer")
    doc = program.doc
    if doc.day_count != "30/360":
        raise DataError("the frame path computes 30/360 offers only", field="offer.day_count")
    if decisions is None:
        decisions = strategy.evaluate_frame(applications)
    outputs = decisions.select([c for c in strategy.outputs if c in decisions.columns])
    joined = applications.drop([c for c in outputs.columns if c in applications.columns])
    terms = program.terms_frame(pl.concat([joined, outputs], how="horizontal"))
    rows = terms.height
    wanted = terms.get_column("_offer").to_numpy().astype(bool)
    code = np.full(rows, None, dtype=object)
    months_f = _column(terms, "months", rows)
    code[wanted & np.isnan(months_f)] = "OFFER_TERMS"
    live = wanted & np.isfinite(months_f)
    bad_term = live & ((months_f != np.rint(months_f)) | (months_f < 1) | (months_f > MAX_MONTHS))
    if bad_term.any():
        raise DataError(
            f"months must be between 1 and {MAX_MONTHS}, "
            f"got {months_f[np.flatnonzero(bad_term)[0]]}",
            field="months",
        )
    months = np.nan_to_num(months_f, nan=1).astype(np.int64)
    grades = (
        terms.get_column("grade").cast(pl.String).to_numpy()
        if "grade" in terms.columns
        else np.full(rows, None, dtype=object)
    )
    keys = np.array([g if g is not None and g in doc.prices else "*" for g in grades], dtype=object)
    if "*" not in doc.prices:
        unpriced = live & (keys == "*")
        code[unpriced] = "OFFER_GRADE"
        live &= ~unpriced
    list_rate = np.zeros(rows, dtype=np.int64)
    upfront_rate_docs: dict[str, list[OfferFeeDoc]] = {}
    for key, price in doc.prices.items():
        mine = live & (keys == key)
        values = _column(terms, f"prices.{key}.rate", rows)
        micro = _exact_units(np.where(mine, values, 0.0), _MICRO, f"offer.prices.{key}.rate")
        if (mine & (np.isnan(values) | (micro < 0) | (micro > _MICRO))).any():
            raise DataError(
                f"offer.prices.{key}.rate must be a fraction between 0 and 1",
                field=f"offer.prices.{key}.rate",
            )
        list_rate = np.where(mine, micro, list_rate)
        upfront_rate_docs[key] = [*doc.fees, *price.fees]
    cap_f = _column(terms, "cap", rows)
    cap_f = np.where(np.isnan(cap_f), float(default_cap), cap_f)
    if (live & ((cap_f <= 0) | (cap_f > 1))).any():
        raise DataError("offer.cap must be a fraction above 0, at most 1 (0.24)", field="offer.cap")
    cap_micro = _exact_units(cap_f, _MICRO, "offer.cap")
    limit_cents, has_limit = _limits(strategy, terms, live, keys, grades, list_rate, months)
    asked = _column(terms, "amount", rows)
    asked_cents = np.where(
        np.abs(asked * 100 - np.rint(asked * 100)) <= 1e-6 * np.maximum(1.0, np.abs(asked * 100)),
        np.rint(asked * 100),
        np.floor(asked * 100),
    )
    no_amount = live & np.isnan(asked) & ~has_limit
    code[no_amount] = "OFFER_TERMS"
    live &= ~no_amount
    want = np.where(np.isnan(asked), limit_cents, np.nan_to_num(asked_cents)).astype(np.int64)
    lent = np.where(has_limit, np.minimum(want, limit_cents), want)
    minimum = _column(terms, "limit.minimum", rows)
    too_small = live & ((lent <= 0) | (lent < np.nan_to_num(minimum) * 100))
    code[too_small] = "OFFER_LIMIT"
    live &= ~too_small
    if (live & (lent > int(MAX_AMOUNT) * 100)).any():
        raise DataError(f"amount must be at most {MAX_AMOUNT:,}", field="amount")
    upfront = np.zeros(rows, dtype=np.int64)
    periodic = np.zeros(rows, dtype=np.int64)
    for key in upfront_rate_docs:
        prefix_fees = [(doc.fees, "fees"), (doc.prices[key].fees, f"prices.{key}.fees")]
        mine = live & (keys == key)
        for fee_docs, prefix in prefix_fees:
            u, p = _fee_cents(fee_docs, terms, prefix, np.where(mine, lent, 0))
            upfront += np.where(mine, u, 0)
            periodic += np.where(mine, p, 0)
    idx = np.flatnonzero(live)
    out_rate = list_rate.copy()
    apr = np.zeros(rows, dtype=np.int64)
    totals = {k: np.zeros(rows, dtype=np.int64) for k in ("pay", "interest", "first", "fees")}
    for start in range(0, len(idx), _CHUNK):
        part = idx[start : start + _CHUNK]
        priced = _price_under_cap(
            lent[part],
            months[part],
            list_rate[part],
            cap_micro[part],
            doc.method,
            (upfront[part], periodic[part]),
            doc.over_cap == "reprice",
        )
        out_rate[part] = priced.rate
        code[part[priced.declined]] = "OFFER_CAP"
        apr[part] = _apr_bp(priced.schedules.flows)
        totals["pay"][part] = priced.schedules.total_payment
        totals["interest"][part] = priced.schedules.total_interest
        totals["first"][part] = priced.schedules.first_payment
        totals["fees"][part] = periodic[part] * months[part]
    issued = live & np.array([c is None for c in code])
    return pl.DataFrame(
        {
            "offer": issued,
            "declined": pl.Series(code.tolist(), dtype=pl.String),
            "grade": pl.Series(grades.tolist(), dtype=pl.String),
            "price": pl.Series(
                [k if ok else None for k, ok in zip(keys, live, strict=True)], dtype=pl.String
            ),
            "repriced": issued & (out_rate < list_rate),
            "limit_cents": np.where(wanted & has_limit, limit_cents, 0),
            "amount_cents": np.where(issued, lent, 0),
            "months": np.where(issued, months, 0),
            "list_rate_micro": np.where(issued, list_rate, 0),
            "nominal_rate_micro": np.where(issued, out_rate, 0),
            "apr_irr_bp": np.where(issued, apr, 0),
            "cap_bp": cap_micro // 100,
            "upfront_fee_cents": np.where(issued, upfront, 0),
            "periodic_fees_cents": np.where(issued, totals["fees"], 0),
            "first_payment_cents": np.where(issued, totals["first"], 0),
            "total_payment_cents": np.where(issued, totals["pay"], 0),
            "total_interest_cents": np.where(issued, totals["interest"], 0),
        }
    )


def _limits(
    strategy: CompiledStrategy,
    terms: pl.DataFrame,
    live: Bools,
    keys: npt.NDArray[Any],
    grades: npt.NDArray[Any],
    list_rate: Ints,
    months: Ints,
) -> tuple[Ints, Bools]:
    """Limits in cents (float, with the rows near a rounding step redone by the row code)."""
    assert strategy.offer is not None
    doc = strategy.offer.doc
    spec = doc.limit
    rows = terms.height
    parts: list[Floats] = []
    income = np.nan_to_num(_column(terms, "limit.income", rows))
    multiple = _column(terms, "limit.income_multiple", rows)
    if spec.income_multiple is not None:
        parts.append(np.where(np.isnan(multiple), np.inf, np.maximum(0.0, income * multiple)))
    max_dti = _column(terms, "limit.max_dti", rows)
    periodic_fixed = np.zeros(rows)
    periodic_rated = np.zeros(rows)
    for key, price in doc.prices.items():
        mine = keys == key
        for fee_docs, prefix in ((doc.fees, "fees"), (price.fees, f"prices.{key}.fees")):
            for i, fee in enumerate(fee_docs):
                if fee.kind != "periodic":
                    continue
                periodic_fixed += np.where(
                    mine, np.nan_to_num(_column(terms, f"{prefix}.{i}.amount", rows)), 0
                )
                periodic_rated += np.where(
                    mine, np.nan_to_num(_column(terms, f"{prefix}.{i}.rate", rows)), 0
                )
    if spec.max_dti is not None and doc.method != "bullet":
        r = list_rate / _D12
        n = months.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            if doc.method == "equal-installment":
                factor = np.where(r > 0, r / -np.expm1(-n * np.log1p(r)), 1 / n)
            elif doc.method == "equal-principal":
                factor = 1 / n + r
            else:  # interest-only: the interest, or principal and interest for one period
                factor = np.where(months == 1, 1 + r, np.where(r > 0, r, np.nan))
        debt = np.nan_to_num(_column(terms, "limit.debt", rows))
        headroom = income * max_dti - debt - periodic_fixed
        dti = np.where(
            np.isnan(factor) | np.isnan(max_dti),
            np.inf,
            np.maximum(0.0, headroom / (factor + periodic_rated)),
        )
        parts.append(dti)
    if spec.score_bands:
        score = _column(terms, "limit.score", rows)
        band = np.zeros(rows)
        found = np.zeros(rows, dtype=bool)
        for i, entry in sorted(enumerate(spec.score_bands), key=lambda e: -e[1].min):
            hit = ~found & (score >= entry.min)
            band = np.where(
                hit, np.nan_to_num(_column(terms, f"limit.score_bands.{i}.max_amount", rows)), band
            )
            found |= hit
        parts.append(band)
    if spec.by_grade:
        by = np.full(rows, np.inf)
        for grade in spec.by_grade:
            value = np.nan_to_num(_column(terms, f"limit.by_grade.{grade}", rows))
            by = np.where(grades == grade, value, by)
        parts.append(by)
    maximum = _column(terms, "limit.maximum", rows)
    if spec.maximum is not None:
        parts.append(np.where(np.isnan(maximum), np.inf, maximum))
    if not parts:
        return np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=bool)
    smallest = np.minimum.reduce(parts)
    has = np.isfinite(smallest)
    step = spec.round_to
    q = np.where(has, smallest / step, 0.0)
    cents = (np.floor(q) * round(step * 100)).astype(np.int64)
    near = (
        live
        & has
        & (
            (q - np.floor(q) < 1e-7 * np.maximum(1.0, q))
            | (np.ceil(q) - q < 1e-7 * np.maximum(1.0, q))
        )
    )
    if near.any():
        names = terms.columns
        for j in np.flatnonzero(near):  # at a rounding step: the row path's Decimal decides
            row = dict(zip(names, terms.row(int(j)), strict=True))
            key = str(keys[j])
            fees = _fees_of(terms, doc.fees, "fees", int(j)) + _fees_of(
                terms, doc.prices[key].fees, f"prices.{key}.fees", int(j)
            )
            exact = credit_limit(
                spec,
                row,
                None if grades[j] is None else str(grades[j]),
                method=doc.method,
                annual_rate=Decimal(int(list_rate[j])) / _MICRO,
                months=int(months[j]),
                fees=fees,
            )
            if exact.amount is not None:
                cents[j] = int(exact.amount * 100)
    return cents, has


def offers_summary(frame: pl.DataFrame) -> dict[str, Any]:
    """What a price table does: offers, declines by reason, the share at the cap, revenue.

    ``revenue`` is interest plus fees over the schedules, as decimal text (exact); shares and
    the mean ``apr_irr`` are floats (they are ratios, not money).
    """
    issued = frame.filter(pl.col("offer"))
    count = issued.height
    revenue_cents = int(
        issued.select(
            pl.col("total_interest_cents").sum()
            + pl.col("upfront_fee_cents").sum()
            + pl.col("periodic_fees_cents").sum()
        ).item()
        or 0
    )
    lent_cents = int(issued.get_column("amount_cents").sum() or 0)
    declined = frame.filter(pl.col("declined").is_not_null()).get_column("declined").value_counts()
    return {
        "offers": count,
        "declined": dict(
            zip(declined["declined"].to_list(), declined["count"].to_list(), strict=True)
        ),
        "share_at_cap": (issued.get_column("repriced").sum() / count) if count else 0.0,
        "lent": str(Decimal(lent_cents) / 100),
        "revenue": str(Decimal(revenue_cents) / 100),
        "mean_apr_irr": float(issued.select(pl.col("apr_irr_bp").mean()).item() or 0) / 10_000,
    }
