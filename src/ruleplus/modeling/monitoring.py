"""Stability: population stability index (PSI) and characteristic stability index (CSI).

PSI compares two distributions over the same bins: ``sum((a - e) * ln(a / e))`` with ``e`` the
expected (development) shares and ``a`` the actual ones. Common reading: < 0.1 stable,
0.1-0.25 some shift, > 0.25 a significant shift. A bin empty on one side gets a share floor of
``1e-4`` so the index stays finite. CSI is the same index per characteristic, over the
binner's bins (regular, special, missing), with the points shift for a scorecard.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ruleplus.errors import DataError
from ruleplus.modeling._errors import NotFittedError

__all__ = [
    "csi",
    "psi",
    "psi_against",
    "psi_table",
    "score_distribution",
    "stability_label",
]

FloatArray = NDArray[np.float64]
_FLOOR = 1e-4


def stability_label(value: float) -> str:
    """``stable`` (< 0.1), ``shift`` (< 0.25) or ``major shift``."""
    return "stable" if value < 0.1 else "shift" if value < 0.25 else "major shift"


def _edges(expected: FloatArray, n_bins: int) -> FloatArray:
    qs = np.quantile(expected, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(qs)


def psi_table(
    expected: Any,
    actual: Any,
    n_bins: int = 10,
    edges: Any = None,
) -> pd.DataFrame:
    """Per-bin shares and PSI contributions of a score.

    Parameters
    ----------
    expected, actual : array-like
        Scores of the development sample and of the sample compared with it.
    n_bins : int, default=10
        Quantile bins of ``expected`` (when ``edges`` is not given).
    edges : array-like, optional
        Inner bin edges; bin ``i`` holds ``edges[i-1] < x <= edges[i]``.

    Returns
    -------
    pandas.DataFrame
        ``bin``, ``expected_share``, ``actual_share``, ``psi`` per bin.
    """
    e = np.asarray(expected, dtype=np.float64).reshape(-1)
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    e, a = e[~np.isnan(e)], a[~np.isnan(a)]
    if e.size == 0 or a.size == 0:
        raise DataError("PSI needs values on both sides")
    cuts = _edges(e, n_bins) if edges is None else np.asarray(edges, dtype=np.float64)
    ie = np.searchsorted(cuts, e, side="left")
    ia = np.searchsorted(cuts, a, side="left")
    k = cuts.shape[0] + 1
    es = np.bincount(ie, minlength=k) / e.size
    acts = np.bincount(ia, minlength=k) / a.size
    labels = _interval_labels(cuts)
    return _frame(labels, es, acts)


def _interval_labels(cuts: FloatArray) -> list[str]:
    if cuts.size == 0:
        return ["all"]
    text = [f"{c:.6g}" for c in cuts]
    return (
        [f"<= {text[0]}"] + [f"({a}, {b}]" for a, b in itertools.pairwise(text)] + [f"> {text[-1]}"]
    )


def _frame(labels: list[str], es: FloatArray, acts: FloatArray) -> pd.DataFrame:
    ef = np.maximum(es, _FLOOR)
    af = np.maximum(acts, _FLOOR)
    contrib = (af - ef) * np.log(af / ef)
    return pd.DataFrame({"bin": labels, "expected_share": es, "actual_share": acts, "psi": contrib})


def psi(expected: Any, actual: Any, n_bins: int = 10, edges: Any = None) -> float:
    """Population stability index of ``actual`` against ``expected`` (see :func:`psi_table`)."""
    return float(psi_table(expected, actual, n_bins=n_bins, edges=edges)["psi"].sum())


def csi(binner: Any, expected: Any, actual: Any, points: Any = None) -> pd.DataFrame:
    """Characteristic stability index of every binned feature.

    Parameters
    ----------
    binner : WOETransformer or Scorecard (fitted)
        Gives the bins (and, for a scorecard, the points).
    expected, actual : DataFrame
        Development sample and the sample compared with it.
    points : dict, optional
        Feature -> points per bin; default: the scorecard's when ``binner`` is one.

    Returns
    -------
    pandas.DataFrame
        One row per feature: ``csi``, its reading, and ``points_shift`` (mean points of
        ``actual`` minus mean points of ``expected``) when points are known.
    """
    transformer = getattr(binner, "woe_", binner)
    binnings = getattr(transformer, "binnings_", None)
    if binnings is None:
        raise NotFittedError("csi needs a fitted WOETransformer or Scorecard")
    if points is None and hasattr(binner, "points_by_bin_"):
        points = binner.points_by_bin_
    features = list(getattr(binner, "features_", binnings))
    e_idx = transformer.transform(expected, metric="index")
    a_idx = transformer.transform(actual, metric="index")
    rows = []
    for name in features:
        fb = binnings[name]
        k = len(fb.labels())
        ei = e_idx[name].to_numpy()
        ai = a_idx[name].to_numpy()
        es = np.bincount(np.where(ei < 0, k, ei), minlength=k + 1)[:k] / max(ei.size, 1)
        acts = np.bincount(np.where(ai < 0, k, ai), minlength=k + 1)[:k] / max(ai.size, 1)
        table = _frame(fb.labels(), es, acts)
        value = float(table["psi"].sum())
        row: dict[str, Any] = {"feature": name, "csi": value, "reading": stability_label(value)}
        if points is not None and name in points:
            p = np.asarray(points[name], dtype=np.float64)
            row["points_shift"] = float(acts @ p - es @ p)
        rows.append(row)
    return pd.DataFrame(rows)


def score_distribution(values: Any, n_bins: int = 10) -> dict[str, list[float]]:
    """Quantile edges of ``values`` and the share of rows per bin (kept to compute PSI later)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise DataError("no values to describe")
    cuts = _edges(v, n_bins)
    shares = np.bincount(np.searchsorted(cuts, v, side="left"), minlength=cuts.size + 1) / v.size
    return {"edges": cuts.tolist(), "shares": shares.tolist()}


def psi_against(distribution: dict[str, list[float]], actual: Any) -> pd.DataFrame:
    """PSI table of ``actual`` against a distribution saved by :func:`score_distribution`."""
    cuts = np.asarray(distribution["edges"], dtype=np.float64)
    es = np.asarray(distribution["shares"], dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    a = a[~np.isnan(a)]
    if a.size == 0:
        raise DataError("PSI needs values on both sides")
    acts = np.bincount(np.searchsorted(cuts, a, side="left"), minlength=cuts.size + 1) / a.size
    return _frame(_interval_labels(cuts), es, acts)
