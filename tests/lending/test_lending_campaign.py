"""Pre-approved campaign lists: eligibility, ranking by propensity, offers under the cap."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy_financial as npf
import polars as pl
import pytest

from ruleplus.decision import compile_strategy
from ruleplus.errors import DataError
from ruleplus.lending.campaign import build_campaign

CAMPAIGN = """
id: cross_sell
version: "1"
decision_field: decision
inputs:
  customer_id: {type: string, required: true}
  monthlyIncome: {type: number, required: true, min: 0}
  monthlyDebt: {type: number, required: true, min: 0}
  behaviourScore: {type: number, required: true}
  monthsOnBook: {type: integer, required: true, min: 0}
  worst12m: {type: integer, required: true, min: 0, max: 6}
  openedEmails: {type: integer, min: 0}
outputs: [decision, grade, propensity]
nodes:
  - id: eligibility
    type: expression
    description: no delinquency in 12 months, six months on book, behaviour score 600+
    assign:
      decision: >-
        if worst12m == 0 and monthsOnBook >= 6 and behaviourScore >= 600
        then "approve" else "decline"
  - id: grade_and_propensity
    type: expression
    assign:
      grade: 'if behaviourScore >= 700 then "A" else if behaviourScore >= 650 then "B" else "C"'
      propensity: >-
        1 / (1 + exp(-(0.02 * (behaviourScore - 650) + 0.3 * coalesce(openedEmails, 0) - 1)))
offer:
  amount: "null"
  months: "24"
  grade: grade
  limit:
    income: monthlyIncome
    income_multiple: 4
    debt: monthlyDebt
    max_dti: 0.5
    maximum: 50000
    minimum: 1000
    round_to: 100
  prices:
    A: {rate: 0.12}
    B: {rate: 0.18, fees: [{name: service, kind: upfront, rate: 0.01}]}
    C: {rate: 0.30}
  cap: 0.24
"""
START = dt.date(2026, 12, 1)


def _customers(seed: int, n: int = 120) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "customer_id": f"c{i:03d}",
            "monthlyIncome": float(rng.integers(800, 12_000)),
            "monthlyDebt": float(rng.integers(0, 3_000)),
            "behaviourScore": float(rng.integers(540, 780)),
            "monthsOnBook": int(rng.integers(0, 40)),
            "worst12m": int(rng.choice([0, 0, 0, 1, 2])),
            "openedEmails": int(rng.integers(0, 5)),
        }
        for i in range(n)
    ]


def _eligible(c: dict[str, object]) -> bool:
    return c["worst12m"] == 0 and c["monthsOnBook"] >= 6 and c["behaviourScore"] >= 600  # type: ignore[operator]


def _propensity(c: dict[str, object]) -> float:
    z = 0.02 * (float(c["behaviourScore"]) - 650) + 0.3 * float(c["openedEmails"]) - 1  # type: ignore[arg-type]
    return 1 / (1 + math.exp(-z))


@pytest.mark.parametrize("seed", [1, 2])
def test_list_is_eligible_ranked_and_under_the_cap(seed: int) -> None:
    customers = _customers(seed)
    strategy = compile_strategy(CAMPAIGN)
    result = build_campaign(customers, strategy, start=START)
    by_id = {str(c["customer_id"]): c for c in customers}
    eligible = [c for c in customers if _eligible(c)]
    summary = result.summary()
    assert summary["customers"] == len(customers)
    assert summary["ineligible"] == len(customers) - len(eligible)
    assert summary["offered"] + sum(summary["declined"].values()) == len(eligible)
    assert result.entries, "some customers get an offer"
    # ranked by propensity, highest first (ties by id)
    keys = [(-e.propensity, e.customer_id) for e in result.entries]
    assert keys == sorted(keys)
    assert [e.rank for e in result.entries] == list(range(1, len(result.entries) + 1))
    for e in result.entries:
        c = by_id[e.customer_id]
        assert _eligible(c)
        assert e.propensity == pytest.approx(_propensity(c), abs=1e-12)
        s = e.offer.schedule
        # the limit: 4x income, DTI headroom, 50,000 at most, in hundreds
        assert s.amount <= Decimal("50000") and s.amount % 100 == 0
        assert s.amount <= Decimal(str(c["monthlyIncome"])) * 4
        # the fee-inclusive annualised rate (IRR, by numpy-financial) is within the 24% cap
        flows = [float(f) for f in s.cash_flows()]
        assert 12 * npf.irr(flows) <= 0.24 + 1e-6
        assert e.offer.apr_irr <= Decimal("0.24")
        if e.offer.grade == "C":  # listed at 30%: re-priced down to the cap
            assert e.offer.repriced and s.annual_rate < Decimal("0.30")


def test_cuts_and_the_campaign_file(tmp_path: Path) -> None:
    customers = _customers(3)
    strategy = compile_strategy(CAMPAIGN)
    full = build_campaign(customers, strategy, start=START)
    top = build_campaign(customers, strategy, start=START, top=5)
    assert [e.customer_id for e in top.entries] == [e.customer_id for e in full.entries[:5]]
    assert top.summary()["below_cut"] == len(full.entries) - 5
    cut = build_campaign(customers, strategy, start=START, min_propensity=0.5)
    assert all(e.propensity >= 0.5 for e in cut.entries)
    assert len(cut.entries) == sum(e.propensity >= 0.5 for e in full.entries)
    path = full.write(tmp_path / "campaign.csv")
    back = pl.read_csv(path, schema_overrides={"offer_amount": pl.String})
    assert back["customer_id"].to_list() == [e.customer_id for e in full.entries]
    assert back["offer_amount"].to_list() == [str(e.offer.schedule.amount) for e in full.entries]


def test_strategy_must_have_an_offer_and_a_propensity() -> None:
    no_offer = CAMPAIGN[: CAMPAIGN.index("offer:")]
    with pytest.raises(DataError, match="no offer section"):
        build_campaign(_customers(4, 5), compile_strategy(no_offer), start=START)
    with pytest.raises(DataError, match="does not output"):
        build_campaign(_customers(4, 5), compile_strategy(CAMPAIGN), propensity="uptake")
