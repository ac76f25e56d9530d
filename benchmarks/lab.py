"""Lab benchmark: a backtest of the consumer-loan strategy over 1,000,000 synthetic
applications, with a swap set against a variant and three segments, end to end.

* **ruleplus** (``ruleplus.lab.backtest``): read the Parquet file, load and compile the
  strategy and its variant (``with_parameters``: a stricter cut-off and debt-to-income limit),
  decide every row with both (``evaluate_frame``), count rates, bad rates, the swap set and
  the ``partner`` / ``channel`` / ``product`` breakdowns, and serialise the result as JSON
  (also measured with the decline-reason distribution, which needs the engine's per-row
  reason lists: ``reasons=True``, the CLI default);
* **pandas apply**: the same decisions with ``DataFrame.apply(..., axis=1)`` calling
  ``strategy.evaluate`` per row for both strategies, then ``groupby`` for the same counts;
* **evaluate loop**: a plain Python loop of ``strategy.evaluate`` over the records, counted with
  ``collections.Counter``.

The two row-wise peers run on a sample (``--sample``, default 100,000 rows, the first rows of
the same file) and are extrapolated linearly to the full million (row-wise cost is linear in
rows; ``--sample 1000000`` measures them in full). Before timing, each peer's swap set on its
sample is checked equal to ``backtest`` on the same sample. Medians of ``--runs`` runs,
alternating, in one process (the synthetic data are generated once, outside the timings).

Usage::

    python benchmarks/lab.py               # table
    python benchmarks/lab.py --json --runs 5 --sample 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROWS = 1_000_000
SEGMENTS = ("partner", "channel", "product")
VARIANT = {"cutoff": 620, "maxDti": 0.5}


def _strategies() -> tuple[Any, Any]:
    from ruleplus.cli.demo import example_strategy_path
    from ruleplus.decision import load_strategy

    a = load_strategy(example_strategy_path("consumer_loan.yaml"))
    return a, a.with_parameters(VARIANT)


def ruleplus_once(path: Path, reasons: bool = False) -> tuple[float, dict[str, Any]]:
    """The whole backtest: read, compile, decide twice, count, serialise."""
    import polars as pl

    from ruleplus.lab import backtest

    started = time.perf_counter()
    frame = pl.read_parquet(path)
    a, b = _strategies()
    result = backtest(a, frame, against=b, outcome="defaulted", segments=SEGMENTS, reasons=reasons)
    json.dumps(result)
    return time.perf_counter() - started, result


def _swap_of_pandas(frame: Any) -> dict[tuple[str, str], int]:
    return {k: int(v) for k, v in frame.groupby(["a", "b"]).size().items()}


def pandas_once(path: Path, rows: int) -> tuple[float, dict[tuple[str, str], int]]:
    """Row-wise ``apply`` of ``strategy.evaluate`` for both strategies, then ``groupby``."""
    import pandas as pd

    started = time.perf_counter()
    df = pd.read_parquet(path).head(rows)
    a, b = _strategies()
    df["a"] = df.apply(lambda r: a.evaluate(r.to_dict()).decision, axis=1)
    df["b"] = df.apply(lambda r: b.evaluate(r.to_dict()).decision, axis=1)
    approved = df["a"] == "approve"
    summary = {"approval_rate": approved.mean(), "bad": df.loc[approved, "defaulted"].mean()}
    cells = df.groupby(["a", "b"])["defaulted"].agg(["size", "mean"])
    segments = [df.groupby(s)["a"].value_counts(normalize=True) for s in SEGMENTS]
    assert summary and len(cells) and segments
    swap = _swap_of_pandas(df)
    return time.perf_counter() - started, swap


def loop_once(path: Path, rows: int) -> tuple[float, dict[tuple[str, str], int]]:
    """A Python loop of ``strategy.evaluate`` over the records, counted with ``Counter``."""
    import polars as pl

    started = time.perf_counter()
    records = pl.read_parquet(path).head(rows).to_dicts()
    a, b = _strategies()
    swap: Counter[tuple[str, str]] = Counter()
    segments: dict[str, Counter[tuple[Any, str]]] = {s: Counter() for s in SEGMENTS}
    bad: Counter[tuple[str, str]] = Counter()
    for record in records:
        da, db = a.evaluate(record).decision, b.evaluate(record).decision
        swap[(da, db)] += 1
        bad[(da, db)] += record["defaulted"]
        for s in SEGMENTS:
            segments[s][(record[s], da)] += 1
    return time.perf_counter() - started, dict(swap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import polars as pl

    from ruleplus.datasets import synth_applications
    from ruleplus.lab import backtest

    sample = min(args.sample, args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "applications.parquet"
        synth_applications(args.rows, seed=0).write_parquet(path)
        # the peers compute the same swap set as the lab, on their sample
        a, b = _strategies()
        head = pl.read_parquet(path).head(sample)
        reference = backtest(a, head, against=b)
        expected = {(c["a"], c["b"]): c["count"] for c in reference["swap_set"]}
        _, swap_pandas = pandas_once(path, min(sample, 5_000))
        head_small = backtest(a, head.head(min(sample, 5_000)), against=b)
        assert swap_pandas == {(c["a"], c["b"]): c["count"] for c in head_small["swap_set"]}
        ours, ours_reasons, peer_apply, peer_loop = [], [], [], []
        first = None
        for run in range(args.runs):
            seconds, result = ruleplus_once(path)
            first = first if first is not None else seconds
            ours.append(seconds)
            ours_reasons.append(ruleplus_once(path, reasons=True)[0])
            seconds, swap = pandas_once(path, sample)
            assert swap == expected, "pandas apply disagrees with the lab"
            peer_apply.append(seconds * args.rows / sample)
            seconds, swap = loop_once(path, sample)
            assert swap == expected, "evaluate loop disagrees with the lab"
            peer_loop.append(seconds * args.rows / sample)
            if not args.json:
                print(
                    f"run {run + 1}: ruleplus {ours[-1]:.2f}s, apply ~{peer_apply[-1]:.1f}s, "
                    f"loop ~{peer_loop[-1]:.1f}s (extrapolated from {sample:,} rows)"
                )
    med = statistics.median
    report = {
        "rows": args.rows,
        "runs": args.runs,
        "peer_sample_rows": sample,
        "peers_extrapolated": sample < args.rows,
        "ruleplus_s": med(ours),
        "ruleplus_first_s": first,
        "ruleplus_with_decline_reasons_s": med(ours_reasons),
        "pandas_apply_s": med(peer_apply),
        "evaluate_loop_s": med(peer_loop),
        "speedup_vs_pandas_apply": med(peer_apply) / med(ours),
        "speedup_vs_evaluate_loop": med(peer_loop) / med(ours),
        "swap_set_cells": len(result["swap_set"]),
        "segments": len(result["by_segment"]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()}",
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"\nbacktest of {args.rows:,} applications, swap set against a variant, 3 segments")
    print(f"  ruleplus lab backtest : {report['ruleplus_s']:.2f} s (median of {args.runs})")
    with_reasons = report["ruleplus_with_decline_reasons_s"]
    print(f"  ... and decline reasons: {with_reasons:.2f} s")
    print(
        f"  pandas row-wise apply : {report['pandas_apply_s']:.1f} s "
        f"({report['speedup_vs_pandas_apply']:.0f}x slower)"
    )
    print(
        f"  strategy.evaluate loop: {report['evaluate_loop_s']:.1f} s "
        f"({report['speedup_vs_evaluate_loop']:.1f}x slower)"
    )
    if report["peers_extrapolated"]:
        print(f"  (row-wise peers measured on {sample:,} rows and extrapolated)")
    print(f"  machine: {report['machine']}")


if __name__ == "__main__":
    main()
