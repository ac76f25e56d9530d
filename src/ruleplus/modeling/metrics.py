"""Discrimination and calibration metrics: AUC, Gini, KS, ROC and KS curves, gains, calibration.

Hand-written (rather than scikit-learn's) because a credit validation needs them together, with
sample weights, from one sort of the scores: the ROC curve, the KS curve and the gains table
are three readings of the same cumulative counts. Convention: ``score`` grows with risk
(a probability of default); pass ``-points`` for a scorecard whose points grow with safety.
Ties are handled as scikit-learn does (one ROC point per distinct score), so the AUC equals
``sklearn.metrics.roc_auc_score`` and the KS equals ``scipy.stats.ks_2samp``'s statistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ruleplus.errors import DataError
from ruleplus.modeling._data import check_weights

__all__ = [
    "CumulativeCounts",
    "auc",
    "calibration_table",
    "cumulative_counts",
    "gains_table",
    "gini",
    "ks",
    "ks_curve",
    "roc_curve",
    "summary_metrics",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CumulativeCounts:
    """Cumulative weighted bads and goods above each distinct score, highest score first.

    Attributes
    ----------
    thresholds : ndarray
        Distinct scores, decreasing.
    bads, goods : ndarray
        Weighted bads / goods with score >= threshold.
    total_bads, total_goods : float
        Totals.
    """

    thresholds: FloatArray
    bads: FloatArray
    goods: FloatArray
    total_bads: float
    total_goods: float

    @property
    def tpr(self) -> FloatArray:
        """Share of bads at or above each threshold (true-positive rate), starting at 0."""
        return np.concatenate([[0.0], self.bads / self.total_bads])

    @property
    def fpr(self) -> FloatArray:
        """Share of goods at or above each threshold (false-positive rate), starting at 0."""
        return np.concatenate([[0.0], self.goods / self.total_goods])


def _inputs(y: Any, score: Any, sample_weight: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    yy = np.asarray(y, dtype=np.float64).reshape(-1)
    ss = np.asarray(score, dtype=np.float64).reshape(-1)
    if yy.shape != ss.shape:
        raise DataError(f"y has {yy.shape[0]} values, score has {ss.shape[0]}")
    if np.isnan(ss).any():
        raise DataError("score has missing values")
    if not np.isin(yy, (0.0, 1.0)).all():
        raise DataError("y must be 0/1 (1 = bad)")
    w = check_weights(sample_weight, yy.shape[0])
    return yy, ss, w


def cumulative_counts(y: Any, score: Any, sample_weight: Any = None) -> CumulativeCounts:
    """Cumulative bads and goods by decreasing score (one entry per distinct score).

    Raises
    ------
    DataError
        When ``y`` holds a single class.
    """
    yy, ss, w = _inputs(y, score, sample_weight)
    order = np.argsort(-ss, kind="mergesort")
    s_sorted = ss[order]
    bad_w = (w * yy)[order]
    good_w = (w * (1.0 - yy))[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.shape[0] - 1]
    bads = np.cumsum(bad_w)[last]
    goods = np.cumsum(good_w)[last]
    total_b, total_g = float(bads[-1]), float(goods[-1])
    if total_b <= 0 or total_g <= 0:
        raise DataError("y holds a single class; AUC and KS need both goods and bads")
    return CumulativeCounts(s_sorted[last], bads, goods, total_b, total_g)


def auc(y: Any, score: Any, sample_weight: Any = None) -> float:
    """Area under the ROC curve (trapezoids over distinct scores)."""
    cc = cumulative_counts(y, score, sample_weight)
    return float(np.trapezoid(cc.tpr, cc.fpr))


def gini(y: Any, score: Any, sample_weight: Any = None) -> float:
    """Gini coefficient (accuracy ratio): ``2 * AUC - 1``."""
    return 2.0 * auc(y, score, sample_weight) - 1.0


def ks(y: Any, score: Any, sample_weight: Any = None) -> float:
    """Kolmogorov-Smirnov statistic: largest gap between the bads' and goods' score CDFs."""
    cc = cumulative_counts(y, score, sample_weight)
    return float(np.max(np.abs(cc.tpr - cc.fpr)))


def roc_curve(y: Any, score: Any, sample_weight: Any = None) -> pd.DataFrame:
    """ROC curve: ``fpr``, ``tpr`` and ``threshold`` (the first point is (0, 0) at +inf)."""
    cc = cumulative_counts(y, score, sample_weight)
    return pd.DataFrame({"fpr": cc.fpr, "tpr": cc.tpr, "threshold": np.r_[np.inf, cc.thresholds]})


def ks_curve(y: Any, score: Any, sample_weight: Any = None) -> pd.DataFrame:
    """KS curve: share of rows at or above each threshold with the bads' and goods' CDFs."""
    cc = cumulative_counts(y, score, sample_weight)
    total = cc.total_bads + cc.total_goods
    return pd.DataFrame(
        {
            "population": np.r_[0.0, (cc.bads + cc.goods) / total],
            "cum_bads": cc.tpr,
            "cum_goods": cc.fpr,
            "gap": cc.tpr - cc.fpr,
            "threshold": np.r_[np.inf, cc.thresholds],
        }
    )


def _bands(score: FloatArray, w: FloatArray, n_bands: int) -> NDArray[np.intp]:
    """Band of each row: weighted quantiles of the score, band 0 the riskiest."""
    order = np.argsort(-score, kind="mergesort")
    cum = np.cumsum(w[order])
    rank = np.empty_like(cum)
    rank[order] = (cum - w[order] / 2.0) / cum[-1]
    band = np.minimum((rank * n_bands).astype(np.intp), n_bands - 1)
    # rows with the same score share a band (the first one's)
    _, first, inverse = np.unique(score, return_index=True, return_inverse=True)
    return band[first][inverse]


def gains_table(y: Any, score: Any, n_bands: int = 10, sample_weight: Any = None) -> pd.DataFrame:
    """Gains / lift table by score band, riskiest band first.

    Parameters
    ----------
    y : array-like
        0/1 target (1 = bad).
    score : array-like
        Risk score (higher = riskier).
    n_bands : int, default=10
        Number of equal-population bands (deciles).
    sample_weight : array-like, optional
        Row weights.

    Returns
    -------
    pandas.DataFrame
        Per band: score range, count, bads, bad rate, cumulative shares of bads and goods,
        KS, lift and cumulative lift.
    """
    yy, ss, w = _inputs(y, score, sample_weight)
    band = _bands(ss, w, n_bands)
    k = int(band.max()) + 1
    count = np.bincount(band, weights=w, minlength=k)
    bads = np.bincount(band, weights=w * yy, minlength=k)
    keep = count > 0
    idx = np.flatnonzero(keep)
    lo = np.array([ss[band == b].min() for b in idx])
    hi = np.array([ss[band == b].max() for b in idx])
    count, bads = count[keep], bads[keep]
    goods = count - bads
    total_b, total_g = bads.sum(), goods.sum()
    rate = bads / count
    overall = total_b / (total_b + total_g)
    cum_b = np.cumsum(bads) / total_b
    cum_g = np.cumsum(goods) / total_g
    cum_rate = np.cumsum(bads) / np.cumsum(count)
    return pd.DataFrame(
        {
            "band": np.arange(1, idx.shape[0] + 1),
            "min_score": lo,
            "max_score": hi,
            "count": count,
            "bads": bads,
            "goods": goods,
            "bad_rate": rate,
            "cum_bads_share": cum_b,
            "cum_goods_share": cum_g,
            "ks": cum_b - cum_g,
            "lift": rate / overall,
            "cum_lift": cum_rate / overall,
        }
    )


def calibration_table(
    y: Any,
    proba: Any,
    score: Any = None,
    n_bands: int = 10,
    sample_weight: Any = None,
) -> pd.DataFrame:
    """Predicted probability of default against the observed bad rate by score band.

    Parameters
    ----------
    y : array-like
        0/1 target.
    proba : array-like
        Predicted probability of default.
    score : array-like, optional
        Score defining the bands (higher = riskier); default ``proba``.
    n_bands : int, default=10
        Equal-population bands.
    sample_weight : array-like, optional
        Row weights.

    Returns
    -------
    pandas.DataFrame
        Per band (riskiest first): score range, count, bads, mean predicted PD, observed bad
        rate, their difference and a binomial z-score.
    """
    yy, pp, w = _inputs(y, proba, sample_weight)
    ss = pp if score is None else np.asarray(score, dtype=np.float64).reshape(-1)
    band = _bands(ss, w, n_bands)
    k = int(band.max()) + 1
    count = np.bincount(band, weights=w, minlength=k)
    keep = count > 0
    idx = np.flatnonzero(keep)
    bads = np.bincount(band, weights=w * yy, minlength=k)[keep]
    pred = np.bincount(band, weights=w * pp, minlength=k)[keep] / count[keep]
    count = count[keep]
    observed = bads / count
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (observed - pred) / np.sqrt(np.clip(pred * (1 - pred), 1e-12, None) / count)
    return pd.DataFrame(
        {
            "band": np.arange(1, idx.shape[0] + 1),
            "min_score": [ss[band == b].min() for b in idx],
            "max_score": [ss[band == b].max() for b in idx],
            "count": count,
            "bads": bads,
            "predicted_pd": pred,
            "observed_bad_rate": observed,
            "difference": observed - pred,
            "z": z,
        }
    )


def summary_metrics(y: Any, score: Any, sample_weight: Any = None) -> dict[str, float]:
    """``auc``, ``gini``, ``ks``, ``n`` and ``bad_rate`` in one pass."""
    cc = cumulative_counts(y, score, sample_weight)
    area = float(np.trapezoid(cc.tpr, cc.fpr))
    return {
        "auc": area,
        "gini": 2.0 * area - 1.0,
        "ks": float(np.max(np.abs(cc.tpr - cc.fpr))),
        "n": int(np.asarray(y).shape[0]),
        "bad_rate": cc.total_bads / (cc.total_bads + cc.total_goods),
    }
