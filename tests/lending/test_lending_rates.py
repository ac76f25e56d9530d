"""Annualised rates: IRR against numpy-financial and closed forms; the cap check is exact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruleplus.errors import DataError
from ruleplus.lending.rates import (
    apr_irr,
    effective_annual_rate,
    flat_rate_apr,
    irr,
    npv,
    within_cap,
)
from ruleplus.lending.schedule import METHODS, Fee, build_schedule

START = date(2026, 3, 10)
D = Decimal


def test_fee_free_annuity_has_its_nominal_rate() -> None:
    for rate in ("0.18", "0.24", "0.0365", "0.36"):
        s = build_schedule(100000, 12, rate, start=START)
        assert apr_irr(s) == D(rate)


def test_irr_matches_numpy_financial() -> None:
    fees = [Fee("upfront", rate=D("0.03")), Fee("periodic", amount=D("15"))]
    for method in METHODS:
        s = build_schedule(20000, 24, "0.15", method, start=START, fees=fees)
        flows = s.cash_flows()
        assert abs(float(irr(flows)) - npf.irr([float(f) for f in flows])) < 1e-10


def test_closed_forms() -> None:
    # bullet: (1 + i)^n = 1 + r n / 12
    s = build_schedule(10000, 12, "0.12", "bullet", start=START)
    assert abs(float(irr(s.cash_flows())) - (1.12 ** (1 / 12) - 1)) < 1e-12
    # interest-only without fees: every period earns exactly r / 12
    assert apr_irr(build_schedule(10000, 9, "0.2", "interest-only", start=START)) == D("0.2")
    # one period with an upfront fee f: i = (1 + r/12) / (1 - f) - 1
    one = build_schedule(10000, 1, "0.12", start=START, fees=[Fee("upfront", rate=D("0.01"))])
    assert abs(irr(one.cash_flows()) - (D(10100) / D(9900) - 1)) < D("1e-25")
    # effective annual rate: (1 + i)^12 - 1
    assert effective_annual_rate(build_schedule(100000, 12, "0.12", start=START)) == D("0.1268")


def test_flat_rate_products() -> None:
    for monthly, months in (("0.005", 12), ("0.0075", 24), ("0.02", 3)):
        payment = 1 / months + float(monthly)
        expected = npf.rate(months, -payment, 1, 0) * 12
        assert abs(float(flat_rate_apr(monthly, months)) - expected) < 0.00005
    # the classic: 0.5% a month flat over 12 months is close to 10.9% a year, not 6%
    assert flat_rate_apr("0.005", 12) == D("0.1090")
    assert flat_rate_apr(0, 12) == 0
    with pytest.raises(DataError) as err:
        flat_rate_apr("-0.01", 12)
    assert err.value.context["field"] == "monthly_rate"


def test_a_fee_pushes_the_rate_over_the_cap() -> None:
    cap = D("0.24")
    plain = build_schedule(10000, 12, "0.2", start=START)
    assert within_cap(plain, cap)
    feed = build_schedule(10000, 12, "0.2", start=START, fees=[Fee("upfront", rate=D("0.03"))])
    assert apr_irr(feed) > cap and not within_cap(feed, cap)
    # within_cap is the sign of the NPV at the cap's periodic rate: exactly at it is within
    at = build_schedule(100000, 12, "0.24", "interest-only", start=START)
    assert npv(at.cash_flows(), cap / 12) == 0 and within_cap(at, cap)


def test_bad_cash_flows() -> None:
    for flows in ([D(100), D(-110)], [D(-100)], [D(-100), D(0)], [D(-100), D(-5), D(200)]):
        with pytest.raises(DataError) as err:
            irr(flows)
        assert err.value.context["field"] == "cash_flows"


@settings(max_examples=100, deadline=None)
@given(
    amount=st.decimals(min_value=D("500"), max_value=D("2000000"), places=2),
    months=st.integers(1, 60),
    rate=st.decimals(min_value=D(0), max_value=D("0.36"), places=4),
    method=st.sampled_from(METHODS),
    upfront=st.decimals(min_value=D(0), max_value=D("0.05"), places=3),
)
def test_irr_recomputed_from_the_instalments(
    amount: Decimal, months: int, rate: Decimal, method: str, upfront: Decimal
) -> None:
    s = build_schedule(
        amount, months, rate, method, start=START, fees=[Fee("upfront", rate=upfront)]
    )
    stated = apr_irr(s)
    flows = [-(s.amount - s.upfront_fee)] + [i.payment for i in s.instalments]
    recomputed = npf.irr([float(f) for f in flows]) * 12
    assert abs(recomputed - float(stated)) <= 0.00005 + 1e-9
    assert within_cap(s, stated + D("0.00005"))
    monthly = amount * rate / 12
    if upfront == 0 and method == "interest-only" and monthly == monthly.quantize(D("0.01")):
        assert stated == rate  # whole cents of interest: no rounding at all
