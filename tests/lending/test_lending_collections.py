"""Collections queue: ordering by expected recovery = pay_probability x balance - action_cost."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import polars as pl
import pytest

from ruleplus.decision import compile_strategy
from ruleplus.errors import DataError
from ruleplus.lending.collections import (
    ACTIONS,
    collections_queue,
    example_collections_strategy,
    queue_summary,
)

# pay_probability = score / 1000, cost = 2 + 1% of the balance: the formula is known here
LINEAR = """
id: linear_collections
version: "1"
inputs:
  account_id: {type: string}
  bucket: {type: string, required: true}
  balance: {type: number, required: true}
  score: {type: number, required: true}
outputs: [action, pay_probability, action_cost]
nodes:
  - id: all
    type: expression
    assign:
      action: '"call"'
      pay_probability: score / 1000
      action_cost: 2 + 0.01 * balance
"""


def _accounts(seed: int, n: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    buckets = ["current", "M1", "M2", "M3", "M4", "M5", "M6+"]
    return pl.DataFrame(
        {
            "account_id": [f"acc{i:04d}" for i in range(n)],
            "bucket": [buckets[int(k)] for k in rng.integers(0, 7, n)],
            "balance": np.round(rng.uniform(10, 20_000, n), 2),
            "score": rng.integers(450, 800, n).astype(float),
        }
    )


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@pytest.mark.parametrize("seed", [1, 2])
def test_ordering_follows_the_formula(seed: int) -> None:
    accounts = _accounts(seed)
    queue = collections_queue(accounts, compile_strategy(LINEAR))
    rows = accounts.filter(pl.col("bucket") != "current").to_dicts()
    want = []
    for r in rows:
        balance = _cents(Decimal(str(r["balance"])))
        cost = _cents(Decimal(2) + Decimal("0.01") * balance)
        er = _cents(Decimal(r["score"] / 1000) * balance - cost)
        want.append((-er, -balance, r["account_id"]))
    want.sort()
    assert [q.account_id for q in queue] == [w[2] for w in want]
    assert [q.expected_recovery for q in queue] == [-w[0] for w in want]
    assert [q.rank for q in queue] == list(range(1, len(rows) + 1))
    ers = [float(q.expected_recovery) for q in queue]
    assert ers == sorted(ers, reverse=True)
    # the float formula agrees to the cent
    for q in queue:
        er = q.pay_probability * float(q.balance) - float(q.action_cost)
        assert abs(er - float(q.expected_recovery)) <= 0.005 + 1e-9


def test_example_strategy_actions_by_bucket_and_score() -> None:
    accounts = _accounts(3)
    queue = collections_queue(accounts)
    assert queue, "delinquent accounts are queued"
    assert {q.action for q in queue} <= set(ACTIONS)
    assert all(q.bucket != "current" for q in queue)
    by_id = {r["account_id"]: r for r in accounts.to_dicts()}
    strategy = example_collections_strategy()
    for q in queue:
        row = by_id[q.account_id]
        out = strategy.evaluate(row).outputs
        assert q.action == out["action"]
        assert q.pay_probability == out["pay_probability"]
        want = _cents(Decimal(out["pay_probability"]) * q.balance - q.action_cost)
        assert q.expected_recovery == want
        if q.bucket == "M6+":
            assert q.action == "agency"
        if q.bucket == "M1" and row["score"] >= 640:
            assert q.action == "sms_reminder"
    ers = [q.expected_recovery for q in queue]
    assert ers == sorted(ers, reverse=True)
    summary = queue_summary(queue)
    assert summary["total"]["accounts"] == len(queue)
    assert Decimal(summary["total"]["balance"]) == sum(q.balance for q in queue)


def test_held_accounts_status_codes_and_errors() -> None:
    rows = [
        {"account_id": "a", "status": "0", "balance": 100, "score": 700},
        {"account_id": "b", "status": "3", "balance": 900, "score": 500},
        {"account_id": "c", "status": "C", "balance": 50, "score": 500},
    ]
    queue = collections_queue(rows, held={"b"})
    assert [(q.account_id, q.bucket) for q in queue] == [("a", "M1")]
    with pytest.raises(DataError, match="balance"):
        collections_queue([{"account_id": "x", "bucket": "M1", "balance": -5}])
    with pytest.raises(DataError, match="not one of"):
        collections_queue([{"account_id": "x", "bucket": "M9", "balance": 5}])
    with pytest.raises(DataError, match="does not output"):
        collections_queue(
            [{"account_id": "x", "bucket": "M1", "balance": 5, "score": 1}],
            compile_strategy(LINEAR.replace("[action, pay_probability, action_cost]", "[action]")),
        )


def test_performance_attributes_payments_to_the_last_action() -> None:
    from ruleplus.lending.collections import collections_performance

    events = [
        {"account_id": "a", "kind": "action", "action": "sms_reminder"},
        {"account_id": "b", "kind": "action", "action": "call"},
        {"account_id": "a", "kind": "promise", "amount": "50.00"},
        {"account_id": "a", "kind": "payment", "amount": "50.00"},
        {"account_id": "a", "kind": "payment", "amount": "25.50"},
        {"account_id": "b", "kind": "action", "action": "field_visit"},
        {"account_id": "b", "kind": "payment", "amount": "100"},
        {"account_id": "c", "kind": "payment", "amount": "10"},
    ]
    table = collections_performance(events)
    assert table["sms_reminder"] == {
        "actions": 1,
        "promises": 1,
        "payments": 2,
        "paid": "75.50",
        "pay_rate": 1.0,
    }
    assert table["call"]["pay_rate"] == 0.0  # b paid only after the field visit
    assert table["field_visit"]["paid"] == "100.00"
    assert table["-"] == {
        "actions": 0,
        "promises": 0,
        "payments": 1,
        "paid": "10.00",
        "pay_rate": None,
    }


def test_a_boolean_among_numbers_is_refused_not_read_as_one() -> None:
    rows = [
        {"account_id": "a", "bucket": "M1", "balance": 100, "score": 700},
        {"account_id": "b", "bucket": "M2", "balance": 900, "score": True},
    ]
    with pytest.raises(DataError, match="'score' of account 1 is true/false") as raised:
        collections_queue(rows)
    assert raised.value.context["field"] == "accounts[1].score"
