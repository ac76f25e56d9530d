"""JDM benchmark: the reference policy imported from GoRules JDM, against the YAML version and
zen-engine, in one run.

Measured in the same process on the 2,000 reference applications (cycled):

* **yaml** - ``examples/strategies/reference_loan.yaml`` (the hand-written strategy);
* **jdm** - ``compile_strategy(reference-loan-policy.jdm.json)``: the graph through the JDM
  importer, run by the ruleplus engine;
* **jdm native** - :class:`~ruleplus.decision.importers.jdm.JdmGraph`, the graph interpreted
  with zen's semantics (decimals, dynamic types) by ruleplus's ZEN runtime;
* **zen** - zen-engine 2.1.3 on the same graph (keyed API, static loader, as in
  ``benchmarks/engine.py``);
* **vector** - ``evaluate_frame`` of the yaml and jdm strategies on ``--rows`` rows.

Every variant is first checked against every expected output; a disagreement stops the run.
Row timings run in ``--rounds`` interleaved rounds; each figure is the median across rounds.

Usage::

    python benchmarks/jdm.py            # rich table
    python benchmarks/jdm.py --json     # one JSON object
    python benchmarks/jdm.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from ruleplus.decision import compile_strategy, load_strategy

try:  # ``python -m benchmarks.jdm`` from the repo root
    from benchmarks._timing import summarise, time_calls
except ModuleNotFoundError:  # ``python benchmarks/jdm.py``
    from _timing import summarise, time_calls  # type: ignore[no-redef]
from ruleplus.decision.importers.jdm import JdmGraph, same_json

ROOT = Path(__file__).resolve().parent.parent
YAML = ROOT / "examples" / "strategies" / "reference_loan.yaml"
ZEN_KEY = "reference-loan-policy"

Record = dict[str, Any]


def shared_dir() -> Path:
    """``$RULEPLUS_SHARED`` (default ``../shared``), relative paths taken from the repo root."""
    path = Path(os.environ.get("RULEPLUS_SHARED", "../shared"))
    return path if path.is_absolute() else (ROOT / path).resolve()


def verify(name: str, decide: Callable[[Record], Record], cases: Sequence[Any]) -> None:
    """Stop the run unless ``decide`` gives every expected output."""
    bad = [c for c in cases if not same_json(decide(dict(c["input"])), c["expected"])]
    if bad:
        raise SystemExit(f"{name}: {len(bad)} of {len(cases)} reference outputs disagree")


def synthetic(cases: Sequence[Any], rows: int) -> pl.DataFrame:
    """``rows`` applications: the reference inputs repeated."""
    base = pl.DataFrame([c["input"] for c in cases])
    reps = -(-rows // base.height)
    return pl.concat([base] * reps).head(rows)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print a table (or JSON) and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20_000, help="timed calls per round")
    parser.add_argument("--rows", type=int, default=200_000, help="rows for evaluate_frame")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run (few calls)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.rows = 2, 2_000, 20_000

    import zen

    bench = shared_dir() / "benchmarks"
    graph_path = bench / "reference-loan-policy.jdm.json"
    document = json.loads(graph_path.read_text(encoding="utf-8"))
    lines = (bench / "reference-loan-applications.jsonl").read_text(encoding="utf-8")
    cases = [json.loads(line) for line in lines.splitlines() if line.strip()]
    inputs = [c["input"] for c in cases]

    t0 = time.perf_counter()
    yaml_strategy = load_strategy(YAML)
    yaml_compile_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    jdm_strategy = compile_strategy(document, name=ZEN_KEY)
    jdm_compile_ms = (time.perf_counter() - t0) * 1000
    native = JdmGraph(document, name=ZEN_KEY)
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {ZEN_KEY: document}}})

    variants: dict[str, Callable[[Record], Any]] = {
        "yaml": lambda r: yaml_strategy.evaluate(r).outputs,
        "jdm": lambda r: jdm_strategy.evaluate(r).outputs,
        "jdm_trace": lambda r: jdm_strategy.evaluate(r, trace=True).outputs,
        "jdm_native": lambda r: native.evaluate(r)["result"],
        "zen": lambda r: partial(engine.evaluate, ZEN_KEY)(r)["result"],
    }
    for name, fn in variants.items():
        verify(name, fn, cases)
    frame = pl.DataFrame(inputs)
    for name, strategy in (("yaml vector", yaml_strategy), ("jdm vector", jdm_strategy)):
        rows = strategy.evaluate_frame(frame).to_dicts()
        got = [
            {k: v for k, v in row.items() if v is not None and k in strategy.outputs}
            for row in rows
        ]
        bad = sum(not same_json(g, c["expected"]) for g, c in zip(got, cases, strict=True))
        if bad:
            raise SystemExit(f"{name}: {bad} of {len(cases)} reference outputs disagree")

    per_round: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            per_round[name].append(
                summarise(time_calls(fn, inputs, args.calls, min(args.calls, 2_000)))
            )
    row = {
        name: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        for name, rounds in per_round.items()
    }
    big = synthetic(cases, args.rows)
    vector: dict[str, float] = {}
    for name, strategy in (("yaml", yaml_strategy), ("jdm", jdm_strategy)):
        strategy.evaluate_frame(big.head(1_000))
        walls = []
        for _ in range(max(2, args.rounds // 2)):
            t0 = time.perf_counter()
            strategy.evaluate_frame(big)
            walls.append(time.perf_counter() - t0)
        vector[f"{name}_rows_per_s"] = args.rows / statistics.median(walls)

    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "zen_engine": metadata.version("zen-engine"),
        },
        "checked": {"cases": len(cases), "variants": [*variants, "yaml vector", "jdm vector"]},
        "compile_ms": {"yaml": yaml_compile_ms, "jdm_import_and_compile": jdm_compile_ms},
        "row": row,
        "ratios": {
            "jdm_vs_yaml_median": row["jdm"]["median_us"] / row["yaml"]["median_us"],
            "zen_vs_jdm_median": row["zen"]["median_us"] / row["jdm"]["median_us"],
            "zen_vs_jdm_native_median": row["zen"]["median_us"] / row["jdm_native"]["median_us"],
        },
        "vector": vector,
        "rounds": args.rounds,
        "calls_per_round": args.calls,
        "rows": args.rows,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"reference policy, {len(cases)} applications checked, one run")
        for col in ("variant", "median µs", "p99 µs", "decisions/s"):
            table.add_column(col, justify="right" if col != "variant" else "left")
        for name, stats in row.items():
            table.add_row(
                name,
                f"{stats['median_us']:.2f}",
                f"{stats['p99_us']:.2f}",
                f"{stats['per_s']:,.0f}",
            )
        console = Console()
        console.print(table)
        console.print(
            f"vector: yaml {vector['yaml_rows_per_s']:,.0f} rows/s, "
            f"jdm {vector['jdm_rows_per_s']:,.0f} rows/s; ratios {result['ratios']}"
        )
    return result


if __name__ == "__main__":
    main()
