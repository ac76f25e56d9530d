"""Prices by grade, re-pricing down to the cap (exact, maximal on the grid), credit limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ruleplus.decision import OfferDoc, OfferLimitDoc
from ruleplus.errors import DataError
from ruleplus.lending.limits import credit_limit, floor_to, instalment_factor
from ruleplus.lending.money import RATE_STEP
from ruleplus.lending.pricing import cap_rate, price_for, reprice_to_cap
from ruleplus.lending.rates import within_cap
from ruleplus.lending.schedule import Fee, build_schedule, level_payment

D = Decimal
START = date(2026, 6, 30)
CAP = D("0.24")


def test_price_for_grade_and_fallback() -> None:
    doc = OfferDoc.model_validate(
        {
            "amount": "a",
            "months": "m",
            "prices": {
                "A": {"rate": 0.1},
                "*": {"rate": 0.2, "fees": [{"kind": "upfront", "rate": 0.01}]},
            },
            "fees": [{"kind": "periodic", "amount": 3}],
        }
    )
    terms = {
        "prices.A.rate": 0.1,
        "prices.*.rate": 0.2,
        "prices.*.fees.0.rate": 0.01,
        "fees.0.amount": 3,
    }
    key, rate, fees = price_for(doc, terms, "A")  # type: ignore[misc]
    assert (key, rate, [f.kind for f in fees]) == ("A", D("0.1"), ["periodic"])
    key, rate, fees = price_for(doc, terms, "Z")  # type: ignore[misc]
    assert (key, rate, [f.kind for f in fees]) == ("*", D("0.2"), ["periodic", "upfront"])
    no_default = OfferDoc.model_validate(
        {"amount": "a", "months": "m", "prices": {"A": {"rate": 0.1}}}
    )
    assert price_for(no_default, terms, "B") is None
    with pytest.raises(DataError) as err:
        price_for(no_default, {"prices.A.rate": 3}, "A")
    assert err.value.context["field"] == "offer.prices.A.rate"


@pytest.mark.parametrize(
    ("amount", "months", "fees"),
    [
        (D(3000), 3, [Fee("upfront", rate=D("0.02")), Fee("periodic", amount=D(5))]),
        (D(20000), 12, [Fee("upfront", rate=D("0.03"))]),
        (D(500), 6, [Fee("periodic", amount=D(4))]),
        (D(100000), 60, [Fee("periodic", rate=D("0.003"))]),
    ],
)
def test_reprice_is_the_largest_grid_rate_within_the_cap(
    amount: Decimal, months: int, fees: list[Fee]
) -> None:
    list_rate = D("0.199")
    assert not within_cap(build_schedule(amount, months, list_rate, start=START, fees=fees), CAP)
    plan = reprice_to_cap(
        amount,
        months,
        list_rate,
        "equal-installment",
        cap=CAP,
        fees=fees,
        start=START,
        day_count="30/360",
    )
    assert plan is not None
    assert plan.annual_rate < list_rate
    assert within_cap(plan, CAP)
    above = build_schedule(amount, months, plan.annual_rate + RATE_STEP, start=START, fees=fees)
    assert not within_cap(above, CAP)


def test_fees_alone_over_the_cap_and_a_price_within_it() -> None:
    fees = [Fee("upfront", rate=D("0.05"))]
    assert (
        reprice_to_cap(
            D(1000),
            1,
            D("0.1"),
            "equal-installment",
            cap=CAP,
            fees=fees,
            start=START,
            day_count="30/360",
        )
        is None
    )
    plan = reprice_to_cap(
        D(1000),
        12,
        D("0.1"),
        "equal-installment",
        cap=CAP,
        fees=[],
        start=START,
        day_count="30/360",
    )
    assert plan is not None and plan.annual_rate == D("0.1")
    for bad in ("0", "-0.1", "2", "x"):
        with pytest.raises(DataError):
            cap_rate(bad)


def test_credit_limit_parts() -> None:
    doc = OfferLimitDoc.model_validate(
        {
            "income": "i",
            "income_multiple": 5,
            "debt": "d",
            "max_dti": 0.5,
            "score": "s",
            "score_bands": [{"min": 700, "max_amount": 50000}, {"min": 0, "max_amount": 8000}],
            "by_grade": {"C": 6000},
            "maximum": 100000,
            "round_to": 100,
        }
    )
    terms = {
        "limit.income": 4000.0,
        "limit.income_multiple": 5.0,
        "limit.debt": 1000.0,
        "limit.max_dti": 0.5,
        "limit.score": 720,
        "limit.score_bands.0.max_amount": 50000.0,
        "limit.score_bands.1.max_amount": 8000.0,
        "limit.by_grade.C": 6000.0,
        "limit.maximum": 100000.0,
    }
    rate = D("0.12")
    limit = credit_limit(
        doc, terms, "A", method="equal-installment", annual_rate=rate, months=12, fees=[]
    )
    assert limit.parts["income_multiple"] == D(20000)
    assert limit.parts["score_band"] == D(50000)
    # DTI headroom: 4000 * 0.5 - 1000 = 1000 a month, an annuity of 12 at 1% -> ~11255
    headroom = limit.parts["dti"]
    assert abs(headroom - D("11255.08")) < 1
    assert limit.amount == D(11200)  # the smallest part, rounded down to 100
    payment = level_payment(limit.amount, rate, 12)
    assert (1000 + payment) / 4000 <= D("0.5")
    low = credit_limit(
        doc,
        {**terms, "limit.score": 650},
        "C",
        method="equal-installment",
        annual_rate=rate,
        months=12,
        fees=[],
    )
    assert low.amount == D(6000) and low.parts["score_band"] == D(8000)
    nulls = credit_limit(
        doc,
        {**terms, "limit.income": None, "limit.score": None},
        "A",
        method="equal-installment",
        annual_rate=rate,
        months=12,
        fees=[],
    )
    assert nulls.amount == 0  # no income, no score: no credit
    assert instalment_factor("bullet", rate, 12) is None
    assert instalment_factor("equal-principal", rate, 10) == D("0.11")
    assert floor_to(D("12345.678"), D(100)) == D(12300)
