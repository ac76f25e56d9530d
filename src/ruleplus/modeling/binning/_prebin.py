"""Pre-binning: cut a feature into at most ``max_prebins`` fine bins and count each class.

Hand-written because speed matters (the target is half of optbinning's time on 1.5 million
rows) and because the fine bins are all the optimiser needs: after this step the data are never
touched again. Numeric features take weighted quantile cut points of the distinct values (of a
random sample of ``sample_size`` rows when there are more), placed between two adjacent distinct
values at the "roundest" number there (``35.5`` → ``35.5``, ``4871``/``5120`` → ``5000``), so the
exported rules read well and assign training rows exactly as the fit did. Then every row is
counted in one pass: ``np.searchsorted`` for the bin, ``np.bincount`` with the weights for the
totals and the events. A feature with fewer distinct values than ``max_prebins`` gets one fine
bin per value. Categorical features get one fine bin per category (rare ones, below
``cat_cutoff``, pooled), ordered by event rate so that merging neighbours is meaningful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "CategoricalPrebins",
    "NumericPrebins",
    "nice_cut",
    "prebin_categorical",
    "prebin_numeric",
]

FloatArray = NDArray[np.float64]


def nice_cut(lo: float, hi: float) -> float:
    """The roundest number ``c`` with ``lo < c <= hi`` (fewest significant digits).

    Values ``<= lo`` fall left of ``c`` and values ``>= hi`` right of it, so any such ``c`` sorts
    the observed values the same way; the roundest one reads best in a rule.
    """
    if not lo < hi:
        raise ValueError("lo must be smaller than hi")
    if math.isinf(lo) or math.isinf(hi):
        return hi
    span = hi - lo
    top = math.floor(math.log10(max(abs(lo), abs(hi), span))) if span > 0 else 0
    for exp in range(top + 1, -18, -1):
        step = 10.0**exp if exp >= 0 else 1.0 / 10.0 ** (-exp)
        k = math.floor(lo / step) + 1
        c = k * step if exp >= 0 else k / 10.0 ** (-exp)
        if exp < 0:
            c = round(c, -exp)
        if lo < c <= hi:
            return float(c)
    return float(hi)


@dataclass
class NumericPrebins:
    """Fine bins of a numeric feature.

    Attributes
    ----------
    cuts : ndarray
        Increasing cut points; fine bin ``i`` holds ``cuts[i-1] <= x < cuts[i]``.
    events, totals : ndarray
        Weighted count of events (bads) and of all rows per fine bin.
    """

    cuts: FloatArray
    events: FloatArray
    totals: FloatArray


def prebin_numeric(
    x: FloatArray,
    y: NDArray[Any],
    w: FloatArray,
    *,
    max_prebins: int = 50,
    sample_size: int | None = 200_000,
    seed: int = 0,
) -> NumericPrebins:
    """Fine bins of the finite values ``x`` (no NaN, no special codes) with labels ``y``.

    Parameters
    ----------
    x, y, w : ndarray
        Values, 0/1 labels and weights of the rows to bin.
    max_prebins : int, default=50
        At most this many fine bins (quantiles of the weighted distribution).
    sample_size : int or None, default=200_000
        Choose cut points on a random sample of this many rows when there are more
        (the counts always use every row). None: always use every row.
    seed : int, default=0
        Seed of the sample.
    """
    n = x.shape[0]
    if n == 0:
        return NumericPrebins(np.empty(0), np.zeros(1), np.zeros(1))
    unit = bool(np.all(w == 1.0))
    if sample_size is not None and n > sample_size:
        pick = np.random.default_rng(seed).choice(n, size=sample_size, replace=False)
        xs, ws = x[pick], w[pick]
    else:
        xs, ws = x, w
    if unit:
        uniq, counts = np.unique(xs, return_counts=True)
        weights = counts.astype(np.float64)
    else:
        uniq, inverse = np.unique(xs, return_inverse=True)
        weights = np.bincount(inverse, weights=ws, minlength=uniq.shape[0]).astype(np.float64)
    k = uniq.shape[0]
    if k <= max_prebins:
        ends = np.arange(k - 1)
    else:
        cum = np.cumsum(weights)
        targets = cum[-1] * np.arange(1, max_prebins) / max_prebins
        ends = np.unique(np.searchsorted(cum, targets, side="left"))
        ends = ends[ends < k - 1]
    cuts = np.array([nice_cut(float(uniq[i]), float(uniq[i + 1])) for i in ends], dtype=np.float64)
    index = np.searchsorted(cuts, x, side="right")
    m = cuts.shape[0] + 1
    totals: FloatArray
    events: FloatArray
    if unit:
        totals = np.bincount(index, minlength=m).astype(np.float64)
        events = np.bincount(index, weights=y.astype(np.float64), minlength=m).astype(np.float64)
    else:
        totals = np.bincount(index, weights=w, minlength=m).astype(np.float64)
        events = np.bincount(index, weights=w * y, minlength=m).astype(np.float64)
    while cuts.shape[0] and not np.all(totals > 0):  # only weights of zero can empty a bin
        empty = np.flatnonzero(totals <= 0)
        cuts = np.delete(cuts, np.unique(np.maximum(empty - 1, 0)))
        index = np.searchsorted(cuts, x, side="right")
        m = cuts.shape[0] + 1
        totals = np.bincount(index, weights=w, minlength=m).astype(np.float64)
        events = np.bincount(index, weights=w * y, minlength=m).astype(np.float64)
    return NumericPrebins(cuts, events, totals)


@dataclass
class CategoricalPrebins:
    """Fine bins of a categorical feature, ordered by event rate.

    Attributes
    ----------
    groups : list of list
        Categories of each fine bin (one each, or the pooled rare ones).
    events, totals : ndarray
        Weighted count of events and of all rows per fine bin.
    """

    groups: list[list[Any]] = field(default_factory=list)
    events: FloatArray = field(default_factory=lambda: np.zeros(0))
    totals: FloatArray = field(default_factory=lambda: np.zeros(0))


def factorize(values: NDArray[np.object_]) -> tuple[NDArray[np.intp], list[Any]]:
    """Codes (-1 for missing) and the distinct categories, in order of first appearance."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), list(uniques)


def prebin_categorical(
    values: NDArray[np.object_],
    y: NDArray[Any],
    w: FloatArray,
    *,
    cat_cutoff: float | None = None,
    total_weight: float | None = None,
) -> CategoricalPrebins:
    """Fine bins of present categories ``values`` (no missing, no special codes).

    Parameters
    ----------
    values, y, w : ndarray
        Categories, 0/1 labels and weights of the rows to bin.
    cat_cutoff : float, optional
        Categories whose share of ``total_weight`` is below this are pooled in one fine bin.
    total_weight : float, optional
        Denominator of the shares (default: the weight of these rows).
    """
    codes, cats = factorize(values)
    k = len(cats)
    totals = np.bincount(codes, weights=w, minlength=k).astype(np.float64)
    events = np.bincount(codes, weights=w * y, minlength=k).astype(np.float64)
    groups: list[list[Any]] = [[c] for c in cats]
    if cat_cutoff:
        denom = total_weight if total_weight else float(totals.sum())
        rare = totals / denom < cat_cutoff
        if rare.sum() >= 2:
            keep = ~rare
            groups = [g for g, r in zip(groups, rare, strict=True) if not r] + [
                [c for c, r in zip(cats, rare, strict=True) if r]
            ]
            totals = np.append(totals[keep], totals[rare].sum())
            events = np.append(events[keep], events[rare].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(totals > 0, events / np.where(totals > 0, totals, 1.0), 0.0)
    order = np.lexsort((np.asarray([str(g[0]) for g in groups]), rate))
    return CategoricalPrebins(
        [sorted(groups[i], key=str) for i in order], events[order], totals[order]
    )
