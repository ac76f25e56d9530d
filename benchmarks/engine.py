"""Engine benchmark: ruleplus against GoRules zen-engine and a hand-written floor, one run.

Everything is measured in the same process on the same inputs:

* **row** - ``Strategy.evaluate(record)`` (and ``trace=True``) on the 2,000 reference
  applications, cycled; per-call ``time.perf_counter_ns``;
* **zen** - zen-engine 2.1.3 on the same JDM graph through its keyed API
  (``ZenEngine({"loader": ...}).evaluate(key, ctx)``) and its ``evaluate_batch``;
* **floor** - ``benchmarks/_floor.py``, the policy as a plain Python if-chain;
* **vector** - ``Strategy.evaluate_frame(df)`` on ``--rows`` synthetic applications.

Row timings run in ``--rounds`` interleaved rounds (ruleplus, ruleplus+trace, zen, floor, repeat)
and each figure is the median across rounds. Before anything is timed, the floor, zen and ruleplus
are checked against every expected output in ``reference-loan-applications.jsonl``; any
disagreement stops the run.

Usage::

    python benchmarks/engine.py            # rich table
    python benchmarks/engine.py --json     # one JSON object
    python benchmarks/engine.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

try:  # ``python -m benchmarks.engine`` from the repo root
    from benchmarks._floor import decide as floor_decide
    from benchmarks._timing import summarise, time_calls
except ModuleNotFoundError:  # ``python benchmarks/engine.py``
    from _floor import decide as floor_decide
    from _timing import summarise, time_calls  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
STRATEGY = ROOT / "examples" / "strategies" / "reference_loan.yaml"
ZEN_KEY = "reference-loan-policy"
INPUT_COLUMNS = (
    "applicantId",
    "creditScore",
    "monthlyIncome",
    "monthlyDebt",
    "loanAmount",
    "termMonths",
    "employmentYears",
    "delinquencies24m",
    "residentialStatus",
)
TOLERANCE = 1e-9

Record = dict[str, Any]


# --------------------------------------------------------------------------- inputs and checks


def shared_dir() -> Path:
    """``$RULEPLUS_SHARED`` (default ``../shared``), relative paths taken from the repo root."""
    path = Path(os.environ.get("RULEPLUS_SHARED", "../shared"))
    return path if path.is_absolute() else (ROOT / path).resolve()


def load_reference(path: Path) -> list[tuple[Record, Record]]:
    """The ``(input, expected)`` pairs of the reference JSONL file."""
    with path.open(encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    return [(line["input"], line["expected"]) for line in lines]


def _same_value(got: Any, want: Any) -> bool:
    numeric = (int, float)
    if isinstance(want, numeric) and not isinstance(want, bool):
        try:
            return not isinstance(got, bool | str) and abs(float(got) - float(want)) <= TOLERANCE
        except (TypeError, ValueError):
            return False
    return bool(got == want)


def same_outputs(got: Record, want: Record) -> bool:
    """Same keys; numbers equal within ``TOLERANCE``; everything else equal."""
    return set(got) == set(want) and all(_same_value(got[k], v) for k, v in want.items())


def check(name: str, pairs: Sequence[tuple[Record, Record]]) -> None:
    """Stop the run (exit status 1) unless every ``(got, expected)`` pair matches."""
    bad = [(i, got, want) for i, (got, want) in enumerate(pairs) if not same_outputs(got, want)]
    if bad:
        lines = [f"{name}: {len(bad)} of {len(pairs)} reference outputs disagree"]
        for i, got, want in bad[:5]:
            pad = " " * len(str(i + 1))
            lines.append(f"  line {i + 1}: expected {want}\n  {pad}     got {got}")
        raise SystemExit("\n".join(lines))


def verify(
    name: str, decide: Callable[[Record], Record], reference: Sequence[tuple[Record, Record]]
) -> None:
    """Run ``decide`` on every reference input (a copy) and ``check`` the outputs."""
    check(name, [(decide(dict(rec)), want) for rec, want in reference])


def frame_outputs(frame: Any) -> list[Record]:
    """Rows of an ``evaluate_frame`` result, with null (not-produced) outputs dropped."""
    return [{k: v for k, v in row.items() if v is not None} for row in frame.to_dicts()]


# --------------------------------------------------------------------------- timing


def rounds_median(per_round: list[dict[str, float]]) -> dict[str, float]:
    """Each statistic's median across rounds."""
    return {k: statistics.median(r[k] for r in per_round) for k in per_round[0]}


class Bulk(NamedTuple):
    """A bulk timing: median wall seconds, CPU seconds per wall second, the last result."""

    seconds: float
    cpu_per_wall: float
    last: Any


def time_bulk(fn: Callable[[], Any], repeats: int) -> Bulk:
    """Median wall seconds of ``fn()`` over ``repeats`` runs (process CPU time alongside)."""
    wall, cpu, last = [], [], None
    for _ in range(repeats):
        last = None
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        last = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    median = statistics.median(wall)
    return Bulk(median, statistics.median(c / w for c, w in zip(cpu, wall, strict=True)), last)


# --------------------------------------------------------------------------- engines


def make_zen(jdm_path: Path) -> Any:
    """A keyed zen engine whose static loader holds the JDM graph under ``ZEN_KEY``.

    A callback loader (``{"loader": fn}``) is called again on every ``evaluate`` and the graph is
    rebuilt each time, so the static loader is the fair, fast configuration.
    """
    import zen

    content = json.loads(jdm_path.read_text(encoding="utf-8"))
    return zen.ZenEngine({"loader": {"type": "static", "content": {ZEN_KEY: content}}})


def zen_variants(jdm_path: Path, inputs: Sequence[Record], calls: int) -> dict[str, float]:
    """Median µs of the other zen entry points (``--zen-variants``), for the record."""
    import zen

    text = jdm_path.read_text(encoding="utf-8")
    content = zen.ZenDecisionContent(text)
    engine = zen.ZenEngine({"loader": lambda _key: content})
    decision = engine.create_decision(content)
    fns: dict[str, Callable[[Record], Any]] = {
        "callback_loader_content_median_us": partial(engine.evaluate, ZEN_KEY),
        "callback_loader_json_text_median_us": partial(
            zen.ZenEngine({"loader": lambda _key: text}).evaluate, ZEN_KEY
        ),
        "create_decision_evaluate_median_us": decision.evaluate,
    }
    return {
        k: summarise(time_calls(fn, inputs, calls, calls // 10))["median_us"]
        for k, fn in fns.items()
    }


def load_ruleplus() -> tuple[Any, Callable[..., Any]]:
    """The reference strategy and ``synth_applications``; raises ImportError if not built yet."""
    from ruleplus.decision import load_strategy

    strategy = load_strategy(str(STRATEGY))
    from ruleplus.datasets import synth_applications

    return strategy, synth_applications


# --------------------------------------------------------------------------- machine and output


def machine() -> dict[str, Any]:
    """CPU, cores, Python and library versions of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    import polars as pl

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "polars": version("polars"),
        "polars_threads": pl.thread_pool_size(),
        "zen_engine": version("zen-engine"),
        "numpy": version("numpy"),
        "ruleplus": version("ruleplus"),
    }


def print_table(res: dict[str, Any]) -> None:
    """The human-readable report (presentation only: every number comes from ``res``)."""
    from rich.console import Console
    from rich.table import Table

    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    title = f"ruleplus engine benchmark - {res['calls']:,} calls x {res['rounds']} rounds"
    table = Table(title=title, caption="bulk rows: µs per row; time vs ruleplus evaluate_frame")
    for col in ("engine", "median µs", "p99 µs", "decisions/s", "time vs ruleplus"):
        table.add_column(col, justify="left" if col == "engine" else "right")

    def row(
        name: str, med: float | None, p99: float | None, per_s: float | None, base: float | None
    ) -> None:
        ratio = None if med is None or base is None else med / base
        table.add_row(
            name,
            num(med, ".2f"),
            num(p99, ".2f"),
            num(per_s, ",.0f"),
            "-" if ratio is None else f"{ratio:.2f}x",
        )

    def per_row_us(per_s: float | None) -> float | None:
        return None if not per_s else 1e6 / per_s

    base = res["row_median_us"]
    row("ruleplus evaluate", base, res["row_p99_us"], res["row_rows_per_s"], base)
    row("ruleplus evaluate(trace=True)", res["trace_median_us"], None, None, base)
    row(
        "zen-engine evaluate (keyed)",
        res["zen_median_us"],
        res["zen_p99_us"],
        res["zen_rows_per_s"],
        base,
    )
    row(
        "floor: hand-written Python",
        res["floor_median_us"],
        res["floor_p99_us"],
        res["floor_rows_per_s"],
        base,
    )
    table.add_section()
    base = per_row_us(res["vector_rows_per_s"])
    row(
        f"ruleplus evaluate_frame ({res['vector_rows']:,} rows)",
        base,
        None,
        res["vector_rows_per_s"],
        base,
    )
    row(
        f"zen-engine {res['zen_batch_method']} ({res['zen_batch_rows']:,} rows)",
        per_row_us(res["zen_batch_rows_per_s"]),
        None,
        res["zen_batch_rows_per_s"],
        base,
    )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    m = res["machine"]
    console.print(
        f"speedup vs zen {num(res['speedup_vs_zen'], '.2f')}x | "
        f"ruleplus / floor {num(res['floor_ratio'], '.2f')}x | "
        f"trace cost {num(res['trace_ratio'], '.2f')}x | "
        f"vector vs zen batch {num(res['vector_vs_zen_batch'], '.1f')}x | "
        f"harness overhead {res['harness_overhead_us']:.3f} µs/call (not subtracted)"
    )
    console.print(
        f"machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), "
        f"Python {m['python']}, polars {m['polars']} ({m['polars_threads']} threads), "
        f"zen-engine {m['zen_engine']}"
    )
    if res.get("ruleplus_missing"):
        console.print(f"[yellow]ruleplus not measured: {res['ruleplus_missing']}[/yellow]")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=20_000, help="timed calls per engine per round")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median taken)")
    p.add_argument("--warmup", type=int, default=2_000, help="untimed calls before each block")
    p.add_argument("--rows", type=int, default=1_000_000, help="synthetic rows for evaluate_frame")
    p.add_argument("--zen-batch-rows", type=int, default=100_000, help="rows for evaluate_batch")
    p.add_argument("--repeats", type=int, default=3, help="repeats of the bulk timings (median)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic applications")
    p.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument(
        "--zen-variants",
        action="store_true",
        help="also time zen's callback loader and create_decision API",
    )
    p.add_argument(
        "--skip-ruleplus",
        action="store_true",
        help="measure only zen and the floor (ruleplus figures are null)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.rounds, args.warmup = 2_000, 3, 200
        args.rows, args.zen_batch_rows, args.repeats = 20_000, 5_000, 2
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    shared = shared_dir() / "benchmarks"
    jdm_path = shared / "reference-loan-policy.jdm.json"
    reference = load_reference(shared / "reference-loan-applications.jsonl")
    inputs = [rec for rec, _ in reference]

    strategy = synth = None
    missing = None
    if args.skip_ruleplus:
        missing = "--skip-ruleplus"
    else:
        try:
            strategy, synth = load_ruleplus()
        except ImportError as exc:
            raise SystemExit(
                f"ruleplus is not importable ({exc}); run `pip install -e . --no-deps` in the "
                "venv, or pass --skip-ruleplus to measure only the peers"
            ) from exc

    zen_engine = make_zen(jdm_path)
    zen_eval = partial(zen_engine.evaluate, ZEN_KEY)
    verify("floor", floor_decide, reference)
    verify("zen-engine", lambda rec: zen_eval(rec)["result"], reference)
    if strategy is not None:
        verify("ruleplus evaluate", lambda rec: strategy.evaluate(rec).outputs, reference)
        verify(
            "ruleplus evaluate(trace=True)",
            lambda rec: strategy.evaluate(rec, trace=True).outputs,
            reference,
        )

    engines: dict[str, Callable[[Record], Any]] = {}
    if strategy is not None:
        engines["row"] = strategy.evaluate
        engines["trace"] = partial(strategy.evaluate, trace=True)
    engines["zen"] = zen_eval
    engines["floor"] = floor_decide
    engines["harness"] = lambda rec: None
    rounds: dict[str, list[dict[str, float]]] = {k: [] for k in engines}
    for _ in range(args.rounds):
        for name, fn in engines.items():
            own = [dict(rec) for rec in inputs]  # no engine sees another's (possibly mutated) dicts
            rounds[name].append(summarise(time_calls(fn, own, args.calls, args.warmup)))
    row = {k: rounds_median(v) for k, v in rounds.items()}

    # bulk: ruleplus evaluate_frame on synthetic rows; zen evaluate_batch on the first of them
    import polars as pl

    vector: Bulk | None = None
    vector_mismatches = None
    if strategy is not None and synth is not None:
        df = synth(args.rows, seed=args.seed)
        ref_frame = pl.DataFrame(inputs, infer_schema_length=None).cast(
            {c: df.schema[c] for c in INPUT_COLUMNS if c in df.schema}
        )
        got = frame_outputs(strategy.evaluate_frame(ref_frame))
        check("ruleplus evaluate_frame", list(zip(got, [w for _, w in reference], strict=True)))
        head = df.head(args.zen_batch_rows)
        head_outputs = frame_outputs(strategy.evaluate_frame(head))  # also the warm-up
        vector = time_bulk(lambda: strategy.evaluate_frame(df), args.repeats)
        batch_inputs = head.select(INPUT_COLUMNS).to_dicts()
    else:
        batch_inputs = [dict(inputs[i % len(inputs)]) for i in range(args.zen_batch_rows)]
    requests = [{"key": ZEN_KEY, "context": rec} for rec in batch_inputs]
    zen_engine.evaluate_batch(requests[:1_000])  # warm-up
    batch = time_bulk(lambda: zen_engine.evaluate_batch(requests), args.repeats)
    failed = [r for r in batch.last if not r.get("success")]
    if failed:
        raise SystemExit(f"zen-engine evaluate_batch: {len(failed)} requests failed: {failed[0]}")
    # cross-checks on the synthetic rows, zen's answers as the reference (reported, not fatal)
    zen_outputs = [r["data"]["result"] for r in batch.last]
    floor_mismatches = sum(
        not same_outputs(floor_decide(rec), want)
        for rec, want in zip(batch_inputs, zen_outputs, strict=True)
    )
    if vector is not None:
        vector_mismatches = sum(
            not same_outputs(got_row, want)
            for got_row, want in zip(head_outputs, zen_outputs, strict=True)
        )

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a / b

    r, t = row.get("row", {}), row.get("trace", {})
    vector_rows_per_s = None if vector is None else args.rows / vector.seconds
    res: dict[str, Any] = {
        "row_median_us": r.get("median_us"),
        "row_p99_us": r.get("p99_us"),
        "row_rows_per_s": r.get("per_s"),
        "trace_median_us": t.get("median_us"),
        "trace_ratio": ratio(t.get("median_us"), r.get("median_us")),
        "zen_median_us": row["zen"]["median_us"],
        "zen_p99_us": row["zen"]["p99_us"],
        "zen_rows_per_s": row["zen"]["per_s"],
        "zen_batch_rows_per_s": len(requests) / batch.seconds,
        "zen_batch_rows": len(requests),
        "zen_batch_cpu_per_wall": batch.cpu_per_wall,
        "zen_batch_inputs": "synthetic" if vector is not None else "reference, cycled",
        "zen_batch_method": "evaluate_batch",
        "zen_api": 'ZenEngine({"loader": {"type": "static", ...}}).evaluate(key, ctx)',
        "floor_median_us": row["floor"]["median_us"],
        "floor_p99_us": row["floor"]["p99_us"],
        "floor_rows_per_s": row["floor"]["per_s"],
        "harness_overhead_us": row["harness"]["median_us"],
        "vector_rows_per_s": vector_rows_per_s,
        "vector_rows": args.rows if vector is not None else 0,
        "vector_cpu_per_wall": None if vector is None else vector.cpu_per_wall,
        "floor_vs_zen_batch_mismatches": floor_mismatches,
        "vector_vs_zen_batch_mismatches": vector_mismatches,
        "speedup_vs_zen": ratio(row["zen"]["median_us"], r.get("median_us")),
        "floor_ratio": ratio(r.get("median_us"), row["floor"]["median_us"]),
        "vector_vs_zen_batch": ratio(vector_rows_per_s, len(requests) / batch.seconds),
        "calls": args.calls,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "reference_rows": len(reference),
        "ruleplus_missing": missing,
        "machine": machine(),
    }
    if args.zen_variants:
        res["zen_variants"] = zen_variants(jdm_path, inputs, max(1, args.calls // 4))
    return res


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    res = run(args)
    if args.json:
        print(json.dumps(res))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
