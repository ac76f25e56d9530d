"""The frame path agrees with the row path exactly, row for row, for every method."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from ruleplus.datasets import synth_applications
from ruleplus.decision import compile_strategy, load_strategy
from ruleplus.errors import DataError
from ruleplus.lending.offers import OfferDecline, make_offer
from ruleplus.lending.schedule import build_schedule
from ruleplus.lending.vector import offers_frame, offers_summary, schedule_arrays

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "examples" / "strategies" / "consumer_loan.yaml"
CAP = Decimal("0.24")


def cents(value: Decimal) -> int:
    return int(value * 100)


def assert_agree(strategy: Any, frame: pl.DataFrame) -> dict[str, int]:
    vector = offers_frame(strategy, frame, default_cap=CAP)
    seen = {"offer": 0, "repriced": 0, "declined": 0, "none": 0}
    for j, record in enumerate(frame.to_dicts()):
        outputs = strategy.evaluate(record).outputs
        row = make_offer(strategy, record, outputs, default_cap=CAP, start=date(2026, 1, 1))
        got = vector.row(j, named=True)
        if row is None:
            assert not got["offer"] and got["declined"] is None, j
            seen["none"] += 1
        elif isinstance(row, OfferDecline):
            assert got["declined"] == row.code and not got["offer"], j
            seen["declined"] += 1
        else:
            s = row.schedule
            assert got["offer"], j
            assert got["amount_cents"] == cents(s.amount), j
            assert got["limit_cents"] == (
                cents(row.limit.amount) if row.limit.amount is not None else 0
            )
            assert got["nominal_rate_micro"] == int(s.annual_rate * 10**6), j
            assert got["list_rate_micro"] == int(row.list_rate * 10**6), j
            assert got["apr_irr_bp"] == int(row.apr_irr * 10**4), j
            assert got["total_payment_cents"] == cents(s.total_payment), j
            assert got["total_interest_cents"] == cents(s.total_interest), j
            assert got["first_payment_cents"] == cents(s.instalments[0].payment), j
            assert got["upfront_fee_cents"] == cents(s.upfront_fee), j
            assert got["periodic_fees_cents"] == cents(s.periodic_fees), j
            assert got["repriced"] == row.repriced, j
            seen["offer"] += 1
            seen["repriced"] += row.repriced
    return seen


def test_the_demo_strategy_agrees_over_many_rows() -> None:
    strategy = load_strategy(CONSUMER)
    seen = assert_agree(strategy, synth_applications(2500, seed=31))
    assert seen["offer"] > 300 and seen["repriced"] > 100
    summary = offers_summary(
        offers_frame(strategy, synth_applications(2500, seed=31), default_cap=CAP)
    )
    assert summary["offers"] == seen["offer"]
    assert 0 < summary["share_at_cap"] < 1 and Decimal(summary["revenue"]) > 0


DOC = """
id: grid
inputs:
  income: {type: number}
  amount: {type: number}
  months: {type: integer}
  grade: {type: string}
  score: {type: number}
outputs: [decision]
nodes:
  - id: decide
    type: expression
    assign: {decision: "'approve'"}
offer:
  amount: amount
  months: months
  grade: grade
  method: METHOD
  limit:
    income: income
    income_multiple: 6
    max_dti: 0.5
    score: score
    score_bands: [{min: 600, max_amount: 90000}, {min: 0, max_amount: 20000}]
    by_grade: {C: 15000}
    maximum: 120000
    minimum: 300
    round_to: 50
  prices:
    A: {rate: 0.0725}
    B: {rate: 0.155, fees: [{kind: upfront, rate: 0.015}]}
    C: {rate: 0.2299, fees: [{kind: upfront, amount: 99}, {kind: periodic, rate: 0.0025}]}
    "*": {rate: 0, fees: [{kind: periodic, amount: 7.5}]}
  over_cap: OVER
"""


def random_frame(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "income": np.round(rng.lognormal(8.5, 0.7, rows), 2),
            # whole units, tenths and cents
            "amount": np.round(
                rng.lognormal(8.5, 1.2, rows) * 100 // 10 ** rng.integers(0, 3, rows)
            )
            * 10.0 ** rng.integers(0, 3, rows)
            / 100,
            "months": rng.choice([1, 2, 3, 6, 9, 12, 18, 24, 36, 60], rows),
            "grade": rng.choice(["A", "B", "C", "D"], rows),
            "score": rng.integers(450, 800, rows).astype(float),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(None)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )


@pytest.mark.parametrize(
    ("method", "over_cap"),
    [
        ("equal-installment", "reprice"),
        ("equal-principal", "reprice"),
        ("interest-only", "decline"),
        ("bullet", "reprice"),
    ],
)
def test_every_method_agrees(method: str, over_cap: str) -> None:
    strategy = compile_strategy(DOC.replace("METHOD", method).replace("OVER", over_cap))
    seen = assert_agree(strategy, random_frame(600, seed=len(method)))
    assert seen["offer"] > 100


def test_schedule_arrays_match_the_decimal_schedules() -> None:
    rng = np.random.default_rng(5)
    amount = rng.integers(100, 10**9, 400, dtype=np.int64)
    months = rng.integers(1, 120, 400, dtype=np.int64)
    rate = rng.integers(0, 10**6, 400, dtype=np.int64)
    zero = np.zeros(400, dtype=np.int64)
    for method in ("equal-installment", "equal-principal", "interest-only", "bullet"):
        arrays = schedule_arrays(amount, months, rate, method, zero, zero)  # type: ignore[arg-type]
        for j in range(0, 400, 7):
            s = build_schedule(
                Decimal(int(amount[j])) / 100,
                int(months[j]),
                Decimal(int(rate[j])) / 10**6,
                method,
                start=date(2026, 1, 1),
            )
            payments = [cents(i.payment) for i in s.instalments]
            assert arrays.flows[j, 1 : len(payments) + 1].tolist() == payments
            assert int(arrays.total_interest[j]) == cents(s.total_interest)


def test_outside_the_frame_path() -> None:
    strategy = compile_strategy(
        DOC.replace("METHOD", "bullet")
        .replace("OVER", "reprice")
        .replace("  over_cap", "  day_count: actual/365\n  over_cap")
    )
    with pytest.raises(DataError) as err:
        offers_frame(strategy, random_frame(5, 1), default_cap=CAP)
    assert err.value.context["field"] == "offer.day_count"
    plain = compile_strategy(
        "id: x\ninputs: {a: {type: number}}\n"
        "nodes: [{id: n, type: expression, assign: {decision: \"'approve'\"}}]"
    )
    with pytest.raises(DataError):
        offers_frame(plain, random_frame(5, 1), default_cap=CAP)
    bad = random_frame(5, 1).with_columns(pl.lit(0).alias("months"))
    with pytest.raises(DataError) as err:
        offers_frame(
            compile_strategy(DOC.replace("METHOD", "bullet").replace("OVER", "reprice")),
            bad,
            default_cap=CAP,
        )
    assert err.value.context["field"] == "months"
