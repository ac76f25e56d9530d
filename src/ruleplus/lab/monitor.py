"""Monitoring: stability of inputs and scores, and approval-rate drift, against a baseline.

Each column is binned on the baseline (numbers: baseline deciles; text and booleans: one bin
per baseline value, one for values the baseline never had; both: one bin for missing values),
and the index is :func:`ruleplus.modeling.monitoring.psi` over those bins — the model factory's
formula (share floor included), not a second copy of it. For an input the index is usually
called the characteristic stability index (CSI), for a score the PSI; the levels are the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from ruleplus.decision import CompiledStrategy
from ruleplus.errors import DataError
from ruleplus.lab.frames import application_frame, decide_frame
from ruleplus.lab.stats import two_proportion_test

__all__ = [
    "ACT",
    "APPROVAL_ACT",
    "APPROVAL_WATCH",
    "STABLE",
    "WINDOWS",
    "Binning",
    "approval_level",
    "bin_codes",
    "column_psi",
    "fit_binning",
    "monitor",
    "psi_level",
]

#: PSI below this: stable.
STABLE = 0.1
#: PSI above this: act (between STABLE and ACT: watch).
ACT = 0.25
#: Approval-rate change (absolute, in rate points) from which to watch, and to act.
APPROVAL_WATCH = 0.02
APPROVAL_ACT = 0.05
#: Rolling windows: name -> polars truncation interval.
WINDOWS = {"day": "1d", "week": "1w", "month": "1mo"}
_MAX_CATEGORIES = 50  # text columns with more distinct baseline values are ids, not monitored

IntArray = npt.NDArray[np.int64]


def psi_level(value: float) -> str:
    """``stable`` (< 0.1), ``watch`` (0.1 to 0.25) or ``act`` (> 0.25)."""
    return "stable" if value < STABLE else "watch" if value <= ACT else "act"


def approval_level(difference: float) -> str:
    """``stable``, ``watch`` or ``act`` for an approval-rate change (absolute rate points)."""
    size = abs(difference)
    return "stable" if size < APPROVAL_WATCH else "watch" if size <= APPROVAL_ACT else "act"


@dataclass(frozen=True)
class Binning:
    """Bins of one column, fitted on the baseline."""

    column: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...] = ()
    categories: tuple[Any, ...] = ()

    @property
    def size(self) -> int:
        """Number of bins (the missing bin, and the unseen bin of a categorical, included)."""
        return len(self.edges) + 2 if self.kind == "numeric" else len(self.categories) + 2

    def labels(self) -> list[str]:
        """Bin labels, in code order."""
        if self.kind == "categorical":
            return [str(c) for c in self.categories] + ["(other)", "(missing)"]
        text = [f"{e:.6g}" for e in self.edges]
        if not text:
            return ["all", "(missing)"]
        middle = [f"({a}, {b}]" for a, b in itertools.pairwise(text)]
        return [f"<= {text[0]}", *middle, f"> {text[-1]}", "(missing)"]


def fit_binning(series: pl.Series, n_bins: int = 10) -> Binning:
    """Bins of ``series`` (the baseline): deciles of a number, the values of a category."""
    name = series.name
    if series.dtype.is_numeric() and series.dtype != pl.Boolean:
        values = series.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
        if values.size == 0:
            return Binning(name, "numeric")
        qs = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
        return Binning(name, "numeric", tuple(float(q) for q in np.unique(qs)))
    cats = series.drop_nulls().unique().sort()
    return Binning(name, "categorical", categories=tuple(cats.to_list()))


def bin_codes(binning: Binning, series: pl.Series) -> IntArray:
    """The bin of every value of ``series`` (codes ``0 .. binning.size - 1``)."""
    missing = binning.size - 1
    if binning.kind == "numeric":
        if not series.dtype.is_numeric():
            raise DataError(
                f"column {binning.column!r} is a number in the baseline, not here",
                column=binning.column,
            )
        values = series.cast(pl.Float64).fill_nan(None)
        known = values.is_not_null().to_numpy()
        raw = values.fill_null(0.0).to_numpy()
        codes = np.searchsorted(np.asarray(binning.edges), raw, side="left")
        return np.where(known, codes, missing).astype(np.int64)
    lookup = {value: k for k, value in enumerate(binning.categories)}
    other = len(binning.categories)
    return np.fromiter(
        (missing if v is None else lookup.get(v, other) for v in series.to_list()),
        dtype=np.int64,
        count=series.len(),
    )


def column_psi(binning: Binning, baseline: IntArray, current: IntArray) -> float:
    """PSI of the ``current`` codes against the ``baseline`` codes over ``binning``'s bins."""
    from ruleplus.modeling.monitoring import psi  # the model factory's formula (needs pandas)

    edges = np.arange(binning.size - 1, dtype=np.float64) + 0.5  # code k lands in bin k
    return float(psi(baseline, current, edges=edges))


def _shares(codes: IntArray, size: int) -> list[float]:
    if codes.size == 0:
        return [0.0] * size
    shares: list[float] = (np.bincount(codes, minlength=size) / codes.size).tolist()
    return shares


def _default_columns(baseline: pl.DataFrame, current: pl.DataFrame, skip: set[str]) -> list[str]:
    out = []
    for name, dtype in baseline.schema.items():
        if name in skip or name.startswith("_") or name not in current.columns:
            continue
        if dtype.is_temporal() or isinstance(dtype, pl.List | pl.Struct | pl.Array):
            continue
        if dtype == pl.String and baseline.get_column(name).n_unique() > _MAX_CATEGORIES:
            continue  # ids, phones, device ids
        out.append(name)
    return out


def _with_outputs(
    frame: pl.DataFrame, strategy: CompiledStrategy
) -> tuple[pl.DataFrame, list[str]]:
    frame = application_frame(frame, strategy)
    outputs = decide_frame(strategy, frame)
    scores = [
        name
        for name, dtype in outputs.schema.items()
        if name in strategy.outputs
        and name != strategy.decision_field
        and dtype.is_numeric()
        and dtype != pl.Boolean
    ]
    extra = outputs.select(
        [pl.col(s).alias(f"score:{s}") for s in scores]
        + [pl.col(strategy.decision_field).cast(pl.String).alias("_decision")]
    )
    return pl.concat([frame, extra], how="horizontal"), [f"score:{s}" for s in scores]


def monitor(
    baseline: pl.DataFrame,
    current: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    strategy: CompiledStrategy | None = None,
    time_column: str | None = None,
    window: str = "week",
    decision: str | None = None,
    approve: str = "approve",
    n_bins: int = 10,
) -> dict[str, Any]:
    """Stability of ``current`` against ``baseline``, overall and per rolling window.

    Parameters
    ----------
    baseline, current : polars.DataFrame
        The reference sample (e.g. the development sample or last quarter) and the recent one.
    columns : sequence of str, optional
        Columns to monitor (default: every common column except ids, dates and nested ones;
        with ``strategy``: its inputs).
    strategy : CompiledStrategy, optional
        Decide both samples: its numeric outputs are monitored as scores (``score:NAME``) and
        its decisions give the approval rates.
    time_column : str, optional
        Date column of ``current``: the indices per ``window``.
    window : {"day", "week", "month"}
        Rolling window length.
    decision : str, optional
        Column holding decisions already made (stored decisions), when no ``strategy``.
    approve : str
        The decision value counted as approved.
    n_bins : int
        Quantile bins of numeric columns.

    Returns
    -------
    dict
        ``columns`` (per column: index, level and bin shares, largest index first),
        ``approval`` (rates, difference, z test, level) and ``windows`` (per window: ``n``,
        ``approval_rate`` and the index of every column).
    """
    if window not in WINDOWS:
        raise DataError(f"window must be one of {', '.join(WINDOWS)}", field="window")
    if baseline.is_empty() or current.is_empty():
        raise DataError("monitoring needs rows in both the baseline and the current sample")
    scores: list[str] = []
    if strategy is not None:
        baseline, scores = _with_outputs(baseline, strategy)
        current, _ = _with_outputs(current, strategy)
        decision = "_decision"
    if time_column is not None and time_column not in current.columns:
        raise DataError(f"no column {time_column!r} in the current sample", column=time_column)
    if columns is None:
        if strategy is not None:
            columns = [c for c in strategy.input_fields if c in baseline.columns]
            columns = [*_default_columns(baseline.select(columns), current, set()), *scores]
        else:
            skip = {c for c in (time_column, decision) if c}
            columns = _default_columns(baseline, current, skip)
    else:
        columns = [*columns, *(s for s in scores if s not in columns)]
    for name in columns:
        for side, frame in (("baseline", baseline), ("current", current)):
            if name not in frame.columns:
                raise DataError(f"no column {name!r} in the {side} sample", column=name)
    binnings = {name: fit_binning(baseline.get_column(name), n_bins) for name in columns}
    base_codes = {name: bin_codes(b, baseline.get_column(name)) for name, b in binnings.items()}
    cur_codes = {name: bin_codes(b, current.get_column(name)) for name, b in binnings.items()}
    results: list[dict[str, Any]] = []
    for name, b in binnings.items():
        value = column_psi(b, base_codes[name], cur_codes[name])
        results.append(
            {
                "column": name,
                "role": "score" if name in scores else "input",
                "index": "psi" if name in scores else "csi",
                "kind": b.kind,
                "psi": value,
                "level": psi_level(value),
                "bins": [
                    {"bin": label, "baseline_share": e, "current_share": a}
                    for label, e, a in zip(
                        b.labels(),
                        _shares(base_codes[name], b.size),
                        _shares(cur_codes[name], b.size),
                        strict=True,
                    )
                ],
            }
        )
    results.sort(key=lambda r: (-float(r["psi"]), str(r["column"])))
    out: dict[str, Any] = {
        "baseline_n": baseline.height,
        "current_n": current.height,
        "levels": {"stable": f"< {STABLE}", "watch": f"{STABLE} to {ACT}", "act": f"> {ACT}"},
        "columns": results,
    }
    if decision is not None:
        out["approval"] = _approval(baseline, current, decision, approve)
    if time_column is not None:
        out["window"] = window
        out["windows"] = _windows(
            current, time_column, window, binnings, base_codes, cur_codes, decision, approve
        )
    return out


def _approved(frame: pl.DataFrame, decision: str, approve: str) -> int:
    if decision not in frame.columns:
        raise DataError(f"no decision column {decision!r}", column=decision)
    return int((frame.get_column(decision).cast(pl.String) == approve).sum())


def _approval(
    baseline: pl.DataFrame, current: pl.DataFrame, decision: str, approve: str
) -> dict[str, Any]:
    k_a, n_a = _approved(baseline, decision, approve), baseline.height
    k_b, n_b = _approved(current, decision, approve), current.height
    test = two_proportion_test(k_a, n_a, k_b, n_b)
    assert test is not None  # both sides have rows
    return {
        "baseline_rate": test.p_a,
        "current_rate": test.p_b,
        "difference": test.difference,
        "z": test.z,
        "p_value": test.p_value,
        "level": approval_level(test.difference),
    }


def _windows(
    current: pl.DataFrame,
    time_column: str,
    window: str,
    binnings: dict[str, Binning],
    base_codes: dict[str, IntArray],
    cur_codes: dict[str, IntArray],
    decision: str | None,
    approve: str,
) -> list[dict[str, Any]]:
    times = current.get_column(time_column)
    if not times.dtype.is_temporal():
        raise DataError(f"column {time_column!r} must hold dates or date-times", column=time_column)
    starts = times.dt.truncate(WINDOWS[window])
    groups = (
        pl.DataFrame({"start": starts})
        .with_row_index("row")
        .drop_nulls("start")
        .group_by("start")
        .agg(pl.col("row"))
        .sort("start")
    )
    approved = (
        (current.get_column(decision).cast(pl.String) == approve).fill_null(False).to_numpy()
        if decision is not None
        else None
    )
    out = []
    for start, members in groups.iter_rows():
        rows = np.asarray(members, dtype=np.int64)
        entry: dict[str, Any] = {"start": start.isoformat(), "n": int(rows.size)}
        if approved is not None:
            entry["approval_rate"] = float(approved[rows].mean())
        entry["psi"] = {
            name: column_psi(b, base_codes[name], cur_codes[name][rows])
            for name, b in binnings.items()
        }
        out.append(entry)
    return out
