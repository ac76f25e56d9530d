"""Offers benchmark: schedules + annualised rate (IRR) + the cap, vectorised and per row, and the
latency an offer adds inside a decision. One run, one process, the same inputs:

* **vector** - ``ruleplus.lending.vector.price_arrays`` on ``--rows`` offers (default
  1,000,000): equal-instalment schedules to the cent, the exact cap check with re-pricing down
  to the cap, and ``apr_irr``;
* **row** - the same work per offer with the ``Decimal`` row path (``build_schedule``,
  ``reprice_to_cap``, ``annualised``) on a ``--sample`` of those offers;
* **numpy-financial** (the peer) - ``npf.pmt`` + ``npf.irr`` per offer on the same sample: floats,
  no cents, no fees, no cap (the least any per-offer IRR costs in Python);
* **in a decision** - the demo's ``consumer_loan`` on approved synthetic applications:
  ``evaluate(trace=True)`` alone, then with ``decision_offer`` (what the service does), median
  and p99 per call.

Before timing, the vector results are checked against the row path on the sample (every
nominal rate, ``apr_irr``, total and decline equal); any difference stops the run.

Usage::

    python benchmarks/offers.py            # rich table
    python benchmarks/offers.py --json     # one JSON object
    python benchmarks/offers.py --quick    # smoke run (50,000 rows)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy_financial as npf

from ruleplus.datasets import synth_applications
from ruleplus.decision import load_strategy
from ruleplus.lending.offers import decision_offer
from ruleplus.lending.pricing import reprice_to_cap
from ruleplus.lending.rates import annualised
from ruleplus.lending.schedule import Fee
from ruleplus.lending.vector import price_arrays

ROOT = Path(__file__).resolve().parent.parent
STRATEGY = ROOT / "examples" / "strategies" / "consumer_loan.yaml"
CAP = Decimal("0.24")
START = date(2026, 1, 1)


def make_offers(rows: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Random offers: amounts 1,000-200,000, terms 3-36 months, rates 5-29.9 %, fees."""
    rng = np.random.default_rng(seed)
    amount = rng.integers(1_000, 200_000, rows) * 100
    return {
        "amount": amount.astype(np.int64),
        "months": rng.choice([3, 6, 9, 12, 18, 24, 36], rows).astype(np.int64),
        "rate": rng.integers(50_000, 299_000, rows).astype(np.int64),
        "cap": np.full(rows, 240_000, dtype=np.int64),
        "upfront": (amount * rng.choice([0, 0, 1, 2], rows) // 100).astype(np.int64),
        "periodic": rng.choice([0, 0, 500, 1000], rows).astype(np.int64),
    }


def row_offer(o: dict[str, np.ndarray], j: int) -> tuple[int, int, int, int, bool]:
    """One offer by the Decimal row path: (rate micro, apr bp, total, first payment, declined)."""
    amount = Decimal(int(o["amount"][j])) / 100
    fees = []
    if o["upfront"][j]:
        fees.append(Fee("upfront", amount=Decimal(int(o["upfront"][j])) / 100))
    if o["periodic"][j]:
        fees.append(Fee("periodic", amount=Decimal(int(o["periodic"][j])) / 100))
    plan = reprice_to_cap(
        amount,
        int(o["months"][j]),
        Decimal(int(o["rate"][j])) / 1_000_000,
        "equal-installment",
        cap=CAP,
        fees=fees,
        start=START,
        day_count="30/360",
    )
    if plan is None:
        return 0, 0, 0, 0, True
    apr, _ = annualised(plan)
    return (
        int(plan.annual_rate * 1_000_000),
        int(apr * 10_000),
        int(plan.total_payment * 100),
        int(plan.instalments[0].payment * 100),
        False,
    )


def peer_offer(o: dict[str, np.ndarray], j: int) -> float:
    """numpy-financial: the payment and the IRR of the level schedule, in floats."""
    n, r, p = int(o["months"][j]), int(o["rate"][j]) / 12e6, float(o["amount"][j]) / 100
    payment = -float(npf.pmt(r, n, p))
    return float(npf.irr([-p] + [payment] * n)) * 12


def check(o: dict[str, np.ndarray], sample: np.ndarray) -> None:
    sub = {k: v[sample] for k, v in o.items()}
    vec = price_arrays(
        sub["amount"],
        sub["months"],
        sub["rate"],
        sub["cap"],
        "equal-installment",
        sub["upfront"],
        sub["periodic"],
    )
    for i in range(len(sample)):
        want = row_offer(sub, i)
        got = (
            0 if vec.declined[i] else int(vec.nominal_rate[i]),
            0 if vec.declined[i] else int(vec.apr_irr_bp[i]),
            0 if vec.declined[i] else int(vec.total_payment[i]),
            0 if vec.declined[i] else int(vec.first_payment[i]),
            bool(vec.declined[i]),
        )
        if got != want:
            sys.exit(f"vector and row disagree on offer {int(sample[i])}: {got} != {want}")


def in_decision(count: int) -> dict[str, float]:
    """Per-call latency of the demo strategy with and without its offer (approved only)."""
    strategy = load_strategy(STRATEGY)
    records = [
        r
        for r in synth_applications(count * 5, seed=3).to_dicts()
        if strategy.evaluate(r).decision == "approve"
    ][:count]
    plain, offered = [], []
    for _ in range(3):  # interleaved rounds
        for record in records:
            t = time.perf_counter_ns()
            strategy.evaluate(record, trace=True)
            plain.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            decision = strategy.evaluate(record, trace=True)
            decision_offer(strategy, record, decision.outputs, default_cap=CAP, start=START)
            offered.append(time.perf_counter_ns() - t)

    def pct(xs: list[int], q: float) -> float:
        return sorted(xs)[int(q * (len(xs) - 1))] / 1000

    return {
        "approved_applications": len(records),
        "decision_p50_us": pct(plain, 0.5),
        "decision_p99_us": pct(plain, 0.99),
        "decision_with_offer_p50_us": pct(offered, 0.5),
        "decision_with_offer_p99_us": pct(offered, 0.99),
        "offer_p50_us": pct(offered, 0.5) - pct(plain, 0.5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = 50_000 if args.quick else args.rows
    sample_size = min(args.sample, rows) if not args.quick else 300
    offers = make_offers(rows)
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(rows, sample_size, replace=False))
    check(offers, sample)

    started = time.perf_counter()
    vec = price_arrays(
        offers["amount"],
        offers["months"],
        offers["rate"],
        offers["cap"],
        "equal-installment",
        offers["upfront"],
        offers["periodic"],
    )
    vector_s = time.perf_counter() - started
    sub = {k: v[sample] for k, v in offers.items()}
    started = time.perf_counter()
    for i in range(sample_size):
        row_offer(sub, i)
    row_us = (time.perf_counter() - started) / sample_size * 1e6
    started = time.perf_counter()
    for i in range(sample_size):
        peer_offer(sub, i)
    peer_us = (time.perf_counter() - started) / sample_size * 1e6
    latency = in_decision(300 if args.quick else 1000)
    vector_us = vector_s / rows * 1e6
    result: dict[str, Any] = {
        "rows": rows,
        "sample": sample_size,
        "repriced_share": float((vec.nominal_rate < offers["rate"]).mean()),
        "declined_share": float(vec.declined.mean()),
        "vector_s": round(vector_s, 3),
        "vector_offers_per_s": round(rows / vector_s),
        "vector_us_per_offer": round(vector_us, 3),
        "row_us_per_offer": round(row_us, 1),
        "numpy_financial_us_per_offer": round(peer_us, 1),
        "row_over_vector": round(row_us / vector_us, 1),
        "numpy_financial_over_vector": round(peer_us / vector_us, 1),
        "in_decision": latency,
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "numpy": np.__version__,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"offers: {rows:,} schedules + apr_irr + cap (equal instalment)")
    table.add_column("path")
    table.add_column("µs / offer", justify="right")
    table.add_column("vs vector", justify="right")
    table.add_row("ruleplus vector (exact cents)", f"{vector_us:.3f}", "1.0x")
    table.add_row("ruleplus row (Decimal)", f"{row_us:.1f}", f"{row_us / vector_us:.0f}x")
    table.add_row(
        "numpy-financial pmt+irr (floats)", f"{peer_us:.1f}", f"{peer_us / vector_us:.0f}x"
    )
    Console().print(table)
    Console().print(json.dumps(latency))


if __name__ == "__main__":
    main()
