"""Schedules: closed forms, numpy-financial, cent rounding, dates, fees, grace, prepayment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruleplus.errors import DataError
from ruleplus.lending.daycount import add_months, days_30_360, due_dates, year_fraction
from ruleplus.lending.schedule import (
    METHODS,
    Fee,
    build_schedule,
    level_payment,
    overdue,
    penalty_interest,
    repay_early,
)

START = date(2026, 1, 15)
D = Decimal


def test_annuity_payment_matches_numpy_financial() -> None:
    for amount, months, rate in [
        (10000, 12, "0.18"),
        (250000, 360, "0.049"),
        (999.99, 7, "0.2399"),
    ]:
        expected = -npf.pmt(float(rate) / 12, months, float(amount))
        assert abs(float(level_payment(D(str(amount)), D(rate), months)) - expected) <= 0.005


def test_annuity_schedule_lines() -> None:
    s = build_schedule(10000, 12, "0.18", start=START)
    assert [i.payment for i in s.instalments[:-1]] == [D("916.80")] * 11
    first = s.instalments[0]
    assert first.interest == D("150.00") and first.principal == D("766.80")
    # numpy-financial's per-period split, line by line, within the cents rounding carries
    for i in s.instalments:
        assert abs(float(i.interest) + npf.ipmt(0.015, i.period, 12, 10000)) < 0.05
    assert sum(i.principal for i in s.instalments) == D(10000)
    assert s.instalments[-1].balance == 0
    # the last line takes the residue: within a few cents of the others
    assert abs(s.instalments[-1].payment - D("916.80")) <= D("0.05")


def test_equal_principal_closed_form() -> None:
    s = build_schedule(12000, 12, "0.12", "equal-principal", start=START)
    assert all(i.principal == D(1000) for i in s.instalments)
    # interest on a falling balance: 1% of 12000, 11000, ..., 1000 -> 780 in all
    assert s.total_interest == D(780)
    assert [i.interest for i in s.instalments[:3]] == [D(120), D(110), D(100)]


def test_interest_only_and_bullet() -> None:
    s = build_schedule(10000, 6, "0.12", "interest-only", start=START)
    assert [i.principal for i in s.instalments] == [D(0)] * 5 + [D(10000)]
    assert all(i.interest == D(100) for i in s.instalments)
    b = build_schedule(10000, 6, "0.12", "bullet", start=START)
    assert [i.payment for i in b.instalments[:-1]] == [D(0)] * 5
    assert b.instalments[-1].payment == D(10600)  # simple interest 10000 * 12% * 6/12


def test_zero_rate_and_one_period() -> None:
    s = build_schedule(100, 3, 0, start=START)
    assert [i.payment for i in s.instalments] == [D("33.33"), D("33.33"), D("33.34")]
    assert s.total_interest == 0
    one = build_schedule(5000, 1, "0.24", start=START)
    assert len(one.instalments) == 1
    assert one.instalments[0].payment == D(5100) and one.instalments[0].balance == 0


def test_large_amount_is_exact() -> None:
    s = build_schedule("1000000000", 480, "0.999999", start=START)
    assert sum(i.principal for i in s.instalments) == D("1000000000")
    assert s.instalments[-1].balance == 0


def test_due_dates_month_ends_and_leap_years() -> None:
    assert due_dates(date(2027, 12, 31), 3) == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
    ]
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)  # from the start, not from Feb
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert year_fraction(date(2028, 2, 1), date(2028, 3, 1), "actual/365") == (29, 365)
    assert year_fraction(date(2028, 2, 1), date(2028, 3, 1), "actual/360") == (29, 360)
    assert year_fraction(date(2028, 2, 1), date(2028, 3, 1), "30/360") == (1, 12)
    assert days_30_360(date(2026, 1, 31), date(2026, 2, 28)) == 28
    assert days_30_360(date(2026, 1, 30), date(2026, 3, 31)) == 60


def test_actual_day_counts_use_the_days_of_each_period() -> None:
    s = build_schedule(
        36500, 2, "0.10", "interest-only", start=date(2028, 1, 1), day_count_convention="actual/365"
    )
    assert [i.interest for i in s.instalments] == [D("310.00"), D("290.00")]  # 31 and 29 days
    s = build_schedule(36000, 1, "0.10", start=date(2028, 2, 1), day_count_convention="actual/360")
    assert s.instalments[0].interest == D("290.00")


def test_fees() -> None:
    fees = [Fee("upfront", rate=D("0.02")), Fee("periodic", amount=D("10"), name="account")]
    s = build_schedule(10000, 12, "0.10", fees=fees, start=START)
    assert s.upfront_fee == D(200) and s.disbursed == D(9800)
    assert all(i.fee == D(10) for i in s.instalments)
    assert all(i.payment == i.principal + i.interest + i.fee for i in s.instalments)
    assert s.cash_flows()[0] == D(-9800)
    assert Fee.parse("upfront:1.5%") == Fee("upfront", rate=D("0.015"), name="upfront")
    assert Fee.parse("periodic:25:service") == Fee("periodic", amount=D(25), name="service")


def test_grace_periods_are_interest_only_then_amortise() -> None:
    s = build_schedule(12000, 12, "0.12", start=START, grace_months=3)
    assert [i.principal for i in s.instalments[:3]] == [D(0)] * 3
    assert [i.interest for i in s.instalments[:3]] == [D(120)] * 3
    assert s.instalments[3].payment == level_payment(D(12000), D("0.12"), 9)
    assert s.instalments[-1].balance == 0


def test_early_repayment_lower_instalment_and_shorter_term() -> None:
    s = build_schedule(12000, 12, "0.12", start=START)
    lower = repay_early(s, 4, 4000, mode="lower-instalment")
    assert len(lower.instalments) == 12
    balance = s.instalments[3].balance - 4000
    assert lower.instalments[4].payment == level_payment(balance, D("0.12"), 8)
    shorter = repay_early(s, 4, 4000, mode="shorter-term")
    assert len(shorter.instalments) < 12
    assert shorter.instalments[4].payment == s.instalments[4].payment
    for plan in (lower, shorter):
        assert sum(i.principal for i in plan.instalments) + 4000 == D(12000)
        assert plan.instalments[-1].balance == 0
    full = repay_early(s, 6, fee_rate="0.01")
    assert len(full.instalments) == 6
    assert full.prepayments[0].principal == s.instalments[5].balance
    assert full.prepayments[0].fee == (s.instalments[5].balance * D("0.01")).quantize(D("0.01"))
    assert len(full.cash_flows()) == 7
    ep = repay_early(
        build_schedule(12000, 12, "0.12", "equal-principal", start=START),
        2,
        3000,
        mode="shorter-term",
    )
    assert (
        all(i.principal == D(1000) for i in ep.instalments[2:-1])
        and ep.instalments[-1].balance == 0
    )
    with pytest.raises(DataError, match="shorter-term"):
        repay_early(
            build_schedule(1000, 6, "0.1", "bullet", start=START), 2, 100, mode="shorter-term"
        )
    with pytest.raises(DataError) as err:
        repay_early(s, 4, 999999)
    assert err.value.context["field"] == "principal"


def test_penalty_interest() -> None:
    assert penalty_interest(D(1000), date(2026, 3, 1), date(2026, 3, 11), "0.365") == D(10)
    assert penalty_interest(D(1000), date(2026, 3, 1), date(2026, 2, 11), "0.365") == 0
    s = build_schedule(12000, 12, "0.12", start=START)
    late = overdue(s, date(2026, 4, 20), paid_periods=1, annual_penalty_rate="0.18")
    assert [line.period for line in late] == [2, 3]
    assert late[0].days == (date(2026, 4, 20) - date(2026, 3, 15)).days
    assert late[0].penalty == penalty_interest(
        late[0].amount, late[0].due_date, date(2026, 4, 20), "0.18"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": float("nan")}, "amount"),
        ({"months": 0}, "months"),
        ({"months": 481}, "months"),
        ({"months": 2.5}, "months"),
        ({"annual_rate": -0.1}, "annual_rate"),
        ({"annual_rate": 18}, "annual_rate"),
        ({"annual_rate": "0.1234567"}, "annual_rate"),
        ({"method": "balloon"}, "method"),
        ({"grace_months": 12}, "grace_months"),
        ({"day_count_convention": "actual/actual"}, "day_count"),
        ({"fees": [Fee("upfront", amount=D(20000))]}, "fees"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"amount": 10000, "months": 12, "annual_rate": "0.18", **kwargs}
    with pytest.raises(DataError) as err:
        build_schedule(start=START, **args)  # type: ignore[arg-type]
    assert err.value.context["field"] == field
    assert field.split("_")[0] in err.value.message


@settings(max_examples=150, deadline=None)
@given(
    amount=st.decimals(min_value=D("1.00"), max_value=D("5000000"), places=2),
    months=st.integers(1, 120),
    rate=st.decimals(min_value=D(0), max_value=D("0.36"), places=6),
    method=st.sampled_from(METHODS),
    convention=st.sampled_from(["30/360", "actual/365", "actual/360"]),
    grace=st.integers(0, 5),
)
def test_properties(
    amount: Decimal, months: int, rate: Decimal, method: str, convention: str, grace: int
) -> None:
    s = build_schedule(
        amount,
        months,
        rate,
        method,
        start=START,
        day_count_convention=convention,
        grace_months=min(grace, months - 1),
    )
    lines = s.instalments
    assert len(lines) == months
    assert sum(i.principal for i in lines) == amount
    assert lines[-1].balance == 0
    assert all(i.principal >= 0 and i.interest >= 0 and i.balance >= 0 for i in lines)
    assert all(i.payment == i.principal + i.interest + i.fee for i in lines)
    assert all(i.payment == i.payment.quantize(D("0.01")) for i in lines)
    balance = amount
    for i in lines:
        balance -= i.principal
        assert i.balance == balance
