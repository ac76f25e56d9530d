# ruff: noqa: N803, N806  (scikit-learn naming: X, X_train)
"""Model-factory benchmark: ruleplus against optbinning, scorecardpy, toad and LightGBM, one run.

Everything is measured in the same process on the same splits (70/30 stratified, ``--seed``):

* **scorecard** - on GMSC, Taiwan and German credit: fit time (binning every feature, WOE,
  logistic regression) and test AUC / KS of ruleplus ``Scorecard()``, optbinning
  ``BinningProcess`` + ``Scorecard``, scorecardpy ``woebin`` + ``woebin_ply`` + logistic
  regression and toad ``Combiner`` (chi-merge, missing values apart) + ``WOETransformer`` +
  logistic regression;
* **gbm** - on GMSC: plain ``lightgbm.LGBMClassifier()`` against ruleplus ``GBMClassifier()``;
* **binning at scale** - ``WOETransformer().fit`` against optbinning ``BinningProcess.fit`` on
  1.5 million rows (GMSC repeated ten times, float columns with 1% noise).

Each library is warmed up on a small sample before it is timed. A peer that is not installed or
fails is reported as such; the run goes on. Data come from ``$RULEPLUS_SHARED`` (default
``../shared``).

Usage::

    python benchmarks/modeling.py            # rich tables
    python benchmarks/modeling.py --json     # one JSON object
    python benchmarks/modeling.py --quick    # smoke run (no 1.5M rows, fewer peers)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from ruleplus.config import Settings
from ruleplus.modeling import GBMClassifier, Scorecard, WOETransformer, auc, ks

DATASETS = {
    "gmsc": ("data/credit/gmsc/cs-training.csv.zip", "SeriousDlqin2yrs"),
    "taiwan": ("data/credit/taiwan/UCI_Credit_Card.csv", "default.payment.next.month"),
    "german": ("data/credit/german/germancredit.csv", "creditability"),
}


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and 0/1 target of a shared credit data set."""
    path, target = DATASETS[name]
    frame = pd.read_csv(Settings.load().shared_dir / path)
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed")]]
    frame = frame.drop(columns=[c for c in ("ID",) if c in frame.columns])
    y = frame.pop(target)
    if y.dtype == object or str(y.dtype).startswith("str"):
        y = (y.astype(str).str.lower() == "bad").astype(int)
    return frame, y.to_numpy().astype(int)


def categorical(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


Fitter = Callable[[pd.DataFrame, np.ndarray], Callable[[pd.DataFrame], np.ndarray]]


def fit_ruleplus(X: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    card = Scorecard().fit(X, y)
    return lambda Z: card.predict_proba(Z)[:, 1]


def fit_optbinning(X: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    from optbinning import BinningProcess
    from optbinning import Scorecard as OBScorecard

    process = BinningProcess(list(X.columns), categorical_variables=categorical(X))
    card = OBScorecard(
        binning_process=process,
        estimator=LogisticRegression(max_iter=1000),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
    ).fit(X, y)
    return lambda Z: card.predict_proba(Z)[:, 1]


def fit_scorecardpy(X: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    import scorecardpy as sc

    data = X.assign(_y=y)
    bins = sc.woebin(data, y="_y", print_step=0, no_cores=1)
    woe = sc.woebin_ply(data.drop(columns="_y"), bins, print_step=0)
    lr = LogisticRegression(max_iter=1000).fit(woe, y)
    columns = list(woe.columns)
    return lambda Z: lr.predict_proba(sc.woebin_ply(Z, bins, print_step=0)[columns])[:, 1]


def fit_toad(X: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
    import toad

    combiner = toad.transform.Combiner()
    combiner.fit(X.assign(_y=y), y="_y", method="chi", min_samples=0.05, empty_separate=True)
    woe = toad.transform.WOETransformer()
    train = woe.fit_transform(combiner.transform(X), y)
    lr = LogisticRegression(max_iter=1000).fit(train, y)
    return lambda Z: lr.predict_proba(woe.transform(combiner.transform(Z)))[:, 1]


SCORECARDS: dict[str, Fitter] = {
    "ruleplus": fit_ruleplus,
    "optbinning": fit_optbinning,
    "scorecardpy": fit_scorecardpy,
    "toad": fit_toad,
}


def measure(
    fit: Fitter, X_tr: pd.DataFrame, y_tr: np.ndarray, X_te: pd.DataFrame, y_te: np.ndarray
) -> dict[str, Any]:
    """Fit time and test AUC / KS; ``error`` when the library fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            predict = fit(X_tr, y_tr)
            seconds = time.perf_counter() - start
            p = np.asarray(predict(X_te), dtype=float)
        return {"fit_s": seconds, "auc": auc(y_te, p), "ks": ks(y_te, p)}
    except Exception as exc:  # a peer's failure is a result, not a crash
        return {"error": f"{type(exc).__name__}: {str(exc)[:160]}"}


def warm_up(names: list[str]) -> dict[str, str]:
    """Run every library once on a small sample (imports, JIT, thread pools)."""
    X, y = load("german")
    failed = {}
    for name in names:
        result = measure(SCORECARDS[name], X.iloc[:300], y[:300], X.iloc[300:], y[300:])
        if "error" in result:
            failed[name] = result["error"]
    return failed


def scorecards(seed: int, peers: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name in DATASETS:
        X, y = load(name)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        for lib in peers:
            result = measure(SCORECARDS[lib], X_tr, y_tr, X_te, y_te)
            rows.append({"dataset": name, "library": lib, "rows": len(X_tr), **result})
            print(f"  {name:7s} {lib:12s} {result}", file=sys.stderr, flush=True)
    return rows


def gbm(seed: int) -> list[dict[str, Any]]:
    import lightgbm as lgb

    X, y = load("gmsc")
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)

    def plain(Xa: pd.DataFrame, ya: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
        model = lgb.LGBMClassifier(verbosity=-1, random_state=seed).fit(Xa, ya)
        return lambda Z: model.predict_proba(Z)[:, 1]

    def ours(Xa: pd.DataFrame, ya: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
        model = GBMClassifier(random_state=seed).fit(Xa, ya)
        return lambda Z: model.predict_proba(Z)[:, 1]

    rows = []
    for lib, fit in (("lightgbm (defaults)", plain), ("ruleplus GBM", ours)):
        result = measure(fit, X_tr, y_tr, X_te, y_te)
        rows.append({"dataset": "gmsc", "library": lib, "rows": len(X_tr), **result})
        print(f"  gbm {lib:20s} {result}", file=sys.stderr, flush=True)
    return rows


def big_binning(seed: int, repeats: int) -> list[dict[str, Any]]:
    X, y = load("gmsc")
    rng = np.random.default_rng(seed)
    big = pd.concat([X] * repeats, ignore_index=True)
    for column in big.columns:
        if pd.api.types.is_float_dtype(big[column]):
            noise = rng.normal(0.0, 0.01 * float(np.nanstd(X[column])), len(big))
            big[column] = big[column] + noise
    yy = np.tile(y, repeats)
    rows = []

    def ours() -> None:
        WOETransformer().fit(big, yy)

    def optbinning() -> None:
        from optbinning import BinningProcess

        BinningProcess(list(big.columns)).fit(big, yy)

    for lib, run in (("ruleplus", ours), ("optbinning", optbinning)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                run()
                rows.append(
                    {"library": lib, "rows": len(big), "fit_s": time.perf_counter() - start}
                )
        except Exception as exc:
            rows.append({"library": lib, "rows": len(big), "error": f"{type(exc).__name__}: {exc}"})
        print(f"  binning {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in (
        "ruleplus",
        "numpy",
        "pandas",
        "scikit-learn",
        "lightgbm",
        "optbinning",
        "scorecardpy",
        "toad",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}"


def print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Scorecards: 70/30 stratified split, seed {result['seed']}")
    for col in ("data set", "train rows", "library", "fit (s)", "test AUC", "test KS", "note"):
        table.add_column(col, justify="left" if col in ("data set", "library", "note") else "right")

    def add(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            if "error" in r:
                table.add_row(
                    r.get("dataset", ""),
                    f"{r['rows']:,}",
                    r["library"],
                    "",
                    "",
                    "",
                    r["error"][:60],
                )
            else:
                table.add_row(
                    r.get("dataset", ""),
                    f"{r['rows']:,}",
                    r["library"],
                    f"{r['fit_s']:.2f}",
                    f"{r['auc']:.4f}",
                    f"{r['ks']:.4f}",
                    "",
                )

    add(result["scorecards"])
    console.print(table)
    table = Table(title="Gradient boosting on GMSC")
    for col in ("data set", "train rows", "library", "fit (s)", "test AUC", "test KS", "note"):
        table.add_column(col, justify="left" if col in ("data set", "library", "note") else "right")
    add(result["gbm"])
    console.print(table)
    if result.get("binning"):
        table = Table(title="Binning every GMSC feature, GMSC x10 with noise")
        for col in ("library", "rows", "fit (s)", "note"):
            table.add_column(col)
        for r in result["binning"]:
            table.add_row(
                r["library"],
                f"{r['rows']:,}",
                f"{r.get('fit_s', float('nan')):.2f}",
                r.get("error", ""),
            )
        console.print(table)
    for key, value in result["ratios"].items():
        console.print(f"{key}: {value:.3f}")
    console.print(f"machine: {result['machine']}; versions: {result['versions']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=10, help="GMSC copies for binning at scale")
    args = parser.parse_args(argv)
    peers = list(SCORECARDS) if not args.quick else ["ruleplus", "optbinning"]
    print("warming up", file=sys.stderr, flush=True)
    failed = warm_up(peers)
    for name, error in failed.items():
        print(f"  {name} unavailable: {error}", file=sys.stderr)
    result: dict[str, Any] = {
        "seed": args.seed,
        "machine": machine(),
        "versions": versions(),
        "scorecards": scorecards(args.seed, peers),
        "gbm": gbm(args.seed),
        "binning": [] if args.quick else big_binning(args.seed, args.repeats),
    }
    ratios: dict[str, float] = {}
    by = {(r["dataset"], r["library"]): r for r in result["scorecards"] if "error" not in r}
    for name in DATASETS:
        ours, peer = by.get((name, "ruleplus")), by.get((name, "optbinning"))
        if ours and peer:
            ratios[f"{name}: AUC ruleplus - optbinning"] = ours["auc"] - peer["auc"]
            ratios[f"{name}: fit time ruleplus / optbinning"] = ours["fit_s"] / peer["fit_s"]
    timed = {r["library"]: r for r in result["binning"] if "fit_s" in r}
    if "ruleplus" in timed and "optbinning" in timed:
        ratios["1.5M-row binning time ruleplus / optbinning"] = (
            timed["ruleplus"]["fit_s"] / timed["optbinning"]["fit_s"]
        )
    result["ratios"] = ratios
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
