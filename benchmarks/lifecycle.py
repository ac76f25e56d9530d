"""Post-loan benchmark: roll rates + vintages over the full shared status file, whole process.

Both sides run in fresh interpreters, alternately, in the same run, ``--runs`` times each (the
medians are reported): start Python, import, read
``$RULEPLUS_SHARED/data/credit/card_approval/credit_record.csv.zip`` (1,048,575 rows), compute
the roll-rate matrices (whole portfolio, by cohort, by month) and the vintage cells (cohort x
mob: accounts, ever 30/60/90), and build their JSON-ready dictionaries.

* **ruleplus**: ``read_status`` -> ``roll_rates(...).to_dict()`` + ``vintages(...).to_dict()``;
* **pandas**: the straightforward implementation — ``pd.read_csv``, a self-join on
  ``(ID, MONTHS_BALANCE + 1)``, ``crosstab`` / ``groupby`` per cohort and month, and a groupby
  ``cummax`` for the running worst status.

Before timing, one run of each writes its results and the two are compared (exact counts,
shares to 1e-9), so the peer computes the same thing.

Usage::

    python benchmarks/lifecycle.py            # table
    python benchmarks/lifecycle.py --json
    python benchmarks/lifecycle.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FILE = "data/credit/card_approval/credit_record.csv.zip"
BUCKET_OF = {"C": 0, "X": 0, "0": 1, "1": 2, "2": 3, "3": 4, "4": 5, "5": 6}


def _shared() -> Path:
    return Path(os.environ.get("RULEPLUS_SHARED", "../shared")).resolve()


def ruleplus_once(path: Path) -> dict[str, Any]:
    """Roll rates and vintages with ruleplus."""
    from ruleplus.lending import read_status, roll_rates, vintages

    data = read_status(path)
    return {"rollrate": roll_rates(data).to_dict(), **vintages(data).to_dict()}


def _matrix(frame: Any) -> list[list[int]]:
    import pandas as pd

    table = pd.crosstab(frame["level"], frame["level_next"])
    return table.reindex(index=range(7), columns=range(7), fill_value=0).to_numpy().tolist()


def pandas_once(path: Path) -> dict[str, Any]:
    """Roll rates and vintages the straightforward pandas way."""
    import pandas as pd

    df = pd.read_csv(path, dtype={"STATUS": str})
    df["level"] = df["STATUS"].map(BUCKET_OF)
    df["cohort"] = df.groupby("ID")["MONTHS_BALANCE"].transform("min")
    nxt = df[["ID", "MONTHS_BALANCE", "level"]].copy()
    nxt["MONTHS_BALANCE"] -= 1
    joined = df.merge(nxt, on=["ID", "MONTHS_BALANCE"], suffixes=("", "_next"))
    counts = _matrix(joined)
    by_cohort = [{"cohort": int(c), "counts": _matrix(g)} for c, g in joined.groupby("cohort")]
    by_month = [
        {"month": int(m), "counts": _matrix(g)} for m, g in joined.groupby("MONTHS_BALANCE")
    ]
    rates = [[v / sum(row) for v in row] if sum(row) else None for row in counts]
    f = df.sort_values(["ID", "MONTHS_BALANCE"])
    f["mob"] = f["MONTHS_BALANCE"] - f["cohort"]
    f["worst"] = f.groupby("ID")["level"].cummax()
    f["e30"], f["e60"], f["e90"] = f["worst"] >= 2, f["worst"] >= 3, f["worst"] >= 4
    cells = (
        f.groupby(["cohort", "mob"])
        .agg(accounts=("ID", "size"), e30=("e30", "mean"), e60=("e60", "mean"), e90=("e90", "mean"))
        .reset_index()
    )
    vintages = [
        {
            "cohort": int(r.cohort),
            "mob": int(r.mob),
            "accounts": int(r.accounts),
            "ever_30": float(r.e30),
            "ever_60": float(r.e60),
            "ever_90": float(r.e90),
        }
        for r in cells.itertuples()
    ]
    rollrate = {"counts": counts, "rates": rates, "by_cohort": by_cohort, "by_month": by_month}
    return {"rollrate": rollrate, "vintages": vintages}


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    ra, rb = a["rollrate"], b["rollrate"]
    assert ra["counts"] == rb["counts"], "roll-rate counts differ"
    for key, label in (("by_cohort", "cohort"), ("by_month", "month")):
        assert [(p[label], p["counts"]) for p in ra[key]] == [
            (p[label], p["counts"]) for p in rb[key]
        ], f"{key} differs"
    for x, y in zip(ra["rates"], rb["rates"], strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            assert max(abs(p - q) for p, q in zip(x, y, strict=True)) <= 1e-9
    va, vb = a["vintages"], b["vintages"]
    assert len(va) == len(vb), "vintage cells differ"
    for x, y in zip(va, vb, strict=True):
        assert (x["cohort"], x["mob"], x["accounts"]) == (y["cohort"], y["mob"], y["accounts"])
        for k in ("ever_30", "ever_60", "ever_90"):
            assert abs(x[k] - y[k]) <= 1e-9, (x, y)


def _child(which: str, path: Path, out: Path | None = None) -> float:
    cmd = [sys.executable, __file__, "--child", which, "--data", str(path)]
    if out is not None:
        cmd += ["--out", str(out)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark (or, with ``--child``, one side once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=["ruleplus", "pandas"])
    parser.add_argument("--data", type=Path, default=_shared() / FILE)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        result = (ruleplus_once if args.child == "ruleplus" else pandas_once)(args.data)
        if args.out is not None:
            args.out.write_text(json.dumps(result))
        return
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    with tempfile.TemporaryDirectory() as tmp:
        outs = {k: Path(tmp) / f"{k}.json" for k in ("ruleplus", "pandas")}
        for which, out in outs.items():
            _child(which, args.data, out)
        _same(*(json.loads(p.read_text()) for p in outs.values()))
    times: dict[str, list[float]] = {"ruleplus": [], "pandas": []}
    for _ in track(range(args.runs), description="timing", transient=True, disable=args.json):
        for which in times:
            times[which].append(_child(which, args.data))
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "rows": 1_048_575,
        "runs": args.runs,
        "median_s": med,
        "all_s": times,
        "ratio_pandas_over_ruleplus": med["pandas"] / med["ruleplus"],
        "target_s": 3.0,
        "within_target": med["ruleplus"] <= 3.0,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "results_agree": True,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    table = Table(title="roll rates + vintages, whole process, 1,048,575 rows")
    for col in ("implementation", "median s", "runs"):
        table.add_column(col)
    for k in ("ruleplus", "pandas"):
        table.add_row(k, f"{med[k]:.2f}", ", ".join(f"{t:.2f}" for t in times[k]))
    Console().print(table)
    Console().print(f"pandas / ruleplus = {result['ratio_pandas_over_ruleplus']:.1f}x")


if __name__ == "__main__":
    main()
