"""Monitoring: PSI/CSI against an independent numpy computation, windows, levels, drift."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from ruleplus.decision import CompiledStrategy
from ruleplus.errors import DataError
from ruleplus.lab import ACT, STABLE, monitor, psi_level

FLOOR = 1e-4


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected, FLOOR)
    a = np.maximum(actual, FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _numeric_psi(base: np.ndarray, cur: np.ndarray, bins: int = 10) -> float:
    """Deciles of the baseline (right-closed bins), plus a bin for missing values."""
    known = base[~np.isnan(base)]
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))

    def shares(x: np.ndarray) -> np.ndarray:
        counts = np.zeros(edges.size + 2)
        for v in x:
            if np.isnan(v):
                counts[-1] += 1
            else:
                counts[int(np.sum(edges < v))] += 1  # the number of edges strictly below v
        return counts / x.size

    return _psi(shares(base), shares(cur))


def _categorical_psi(base: list, cur: list) -> float:
    cats = sorted({v for v in base if v is not None})

    def shares(x: list) -> np.ndarray:
        counts = np.zeros(len(cats) + 2)
        for v in x:
            counts[-1 if v is None else cats.index(v) if v in cats else len(cats)] += 1
        return counts / len(x)

    return _psi(shares(base), shares(cur))


def test_psi_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    base_x = rng.normal(600, 50, 4000)
    cur_x = rng.normal(615, 60, 3000)
    base_x[rng.random(4000) < 0.05] = np.nan
    cur_x[rng.random(3000) < 0.15] = np.nan
    base_c = rng.choice(["app", "web", "h5", None], 4000, p=[0.5, 0.3, 0.15, 0.05]).tolist()
    cur_c = rng.choice(["app", "web", "api", None], 3000, p=[0.3, 0.3, 0.3, 0.1]).tolist()
    base = pl.DataFrame({"x": base_x, "c": base_c}).with_columns(pl.col("x").fill_nan(None))
    cur = pl.DataFrame({"x": cur_x, "c": cur_c}).with_columns(pl.col("x").fill_nan(None))
    result = monitor(base, cur)
    got = {c["column"]: c for c in result["columns"]}
    assert got["x"]["psi"] == pytest.approx(_numeric_psi(base_x, cur_x), rel=1e-12)
    assert got["c"]["psi"] == pytest.approx(_categorical_psi(base_c, cur_c), rel=1e-12)
    assert got["c"]["kind"] == "categorical" and got["x"]["kind"] == "numeric"
    shares = {b["bin"]: b["current_share"] for b in got["c"]["bins"]}
    assert shares["(other)"] == pytest.approx(cur_c.count("api") / 3000)
    assert sum(b["baseline_share"] for b in got["x"]["bins"]) == pytest.approx(1.0)
    assert got["c"]["level"] == psi_level(got["c"]["psi"])


def test_levels() -> None:
    assert (STABLE, ACT) == (0.1, 0.25)
    assert [psi_level(v) for v in (0.0, 0.099, 0.1, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "act",
    ]


def test_windows_and_approval_drift_with_a_strategy(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    base = applications.filter(pl.col("applicationTime") < dt.datetime(2024, 1, 1))
    cur = applications.filter(pl.col("applicationTime") >= dt.datetime(2024, 1, 1))
    # a drifted month: incomes halved in the last month of the current sample
    last = cur["applicationTime"].max()
    assert isinstance(last, dt.datetime)
    start = dt.datetime(last.year, last.month, 1)
    cur = cur.with_columns(
        pl.when(pl.col("applicationTime") >= start)
        .then(pl.col("monthlyIncome") // 2)
        .otherwise(pl.col("monthlyIncome"))
        .alias("monthlyIncome")
    )
    result = monitor(
        base, cur, strategy=consumer_loan, time_column="applicationTime", window="month"
    )
    columns = {c["column"]: c for c in result["columns"]}
    assert "score:score" in columns and columns["score:score"]["index"] == "psi"
    assert columns["age"]["index"] == "csi" and "applicantId" not in columns
    windows = result["windows"]
    assert windows[-1]["start"] == start.isoformat()
    assert windows[-1]["psi"]["monthlyIncome"] > ACT
    assert all(w["psi"]["monthlyIncome"] < STABLE for w in windows[:-1])
    rows = cur.filter(pl.col("applicationTime") >= start).to_dicts()
    approved = sum(consumer_loan.evaluate(r).decision == "approve" for r in rows)
    assert windows[-1]["approval_rate"] == approved / len(rows)
    assert windows[-1]["n"] == len(rows)
    all_cur = sum(consumer_loan.evaluate(r).decision == "approve" for r in cur.to_dicts())
    assert result["approval"]["current_rate"] == all_cur / cur.height


def test_weeks_and_days_and_bad_arguments(applications: pl.DataFrame) -> None:
    base, cur = applications.head(3000), applications.tail(3000)
    weekly = monitor(base, cur, columns=["creditScore"], time_column="applicationTime")
    starts = [dt.datetime.fromisoformat(w["start"]) for w in weekly["windows"]]
    assert all(s.weekday() == 0 for s in starts)  # weeks start on Monday
    assert sum(w["n"] for w in weekly["windows"]) == 3000
    daily = monitor(
        base, cur.head(50), columns=["creditScore"], time_column="applicationTime", window="day"
    )
    assert sum(w["n"] for w in daily["windows"]) == 50
    with pytest.raises(DataError, match="window"):
        monitor(base, cur, window="year")
    with pytest.raises(DataError, match="no column 'nope'"):
        monitor(base, cur, columns=["nope"])
    with pytest.raises(DataError, match="both"):
        monitor(base.head(0), cur)


def test_time_zone_aware_windows(applications: pl.DataFrame) -> None:
    aware = applications.with_columns(pl.col("applicationTime").dt.replace_time_zone("UTC"))
    result = monitor(
        aware.head(3000),
        aware.tail(3000),
        columns=["age"],
        time_column="applicationTime",
        window="month",
    )
    assert result["windows"][0]["start"].endswith("+00:00")
    assert sum(w["n"] for w in result["windows"]) == 3000
