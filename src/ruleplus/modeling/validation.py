"""Every number of a validation report, computed once (the report only draws them).

:func:`validation_data` measures a fitted model on a labelled table and returns plain Python
data (lists, floats, strings): discrimination (AUC, Gini, KS), ROC and KS curves, the score
distribution of goods and bads, the gains table, calibration by score band, PSI of the scores
against the training sample and, per characteristic of a scorecard, bins / event rate / WOE and
CSI; for a GBM, feature importances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from numpy.typing import NDArray

from ruleplus.modeling.gbm import GBMClassifier
from ruleplus.modeling.metrics import (
    calibration_table,
    gains_table,
    ks_curve,
    roc_curve,
    summary_metrics,
)
from ruleplus.modeling.monitoring import psi_against, stability_label
from ruleplus.modeling.scorecard import Scorecard

__all__ = ["validation_data"]


def _thin(frame: pd.DataFrame, points: int = 200) -> dict[str, list[float]]:
    """At most ``points`` rows of a curve (always keeping the first and last)."""
    if len(frame) > points:
        keep = np.unique(np.linspace(0, len(frame) - 1, points).round().astype(int))
        frame = frame.iloc[keep]
    return {c: [float(v) for v in frame[c].to_numpy()] for c in frame.columns}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()})
    return out


def _histogram(score: NDArray[np.float64], y: NDArray[Any], bins: int = 30) -> dict[str, Any]:
    lo, hi = float(np.min(score)), float(np.max(score))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    goods = np.histogram(score[y == 0], bins=edges)[0]
    bads = np.histogram(score[y == 1], bins=edges)[0]
    return {
        "edges": edges.tolist(),
        "goods": (goods / max(goods.sum(), 1)).tolist(),
        "bads": (bads / max(bads.sum(), 1)).tolist(),
    }


def _features(model: Scorecard, frame: pl.DataFrame) -> list[dict[str, Any]]:
    index = model.woe_.transform(frame, metric="index")
    out = []
    for name in model.features_:
        fb = model.woe_.binnings_[name]
        assert fb.table is not None
        k = len(fb.labels())
        idx = index[name].to_numpy()
        counts = np.bincount(np.where(idx < 0, k, idx), minlength=k + 1)[:k]
        share = counts / max(idx.size, 1)
        train_share = fb.table.totals / max(fb.table.totals.sum(), 1e-12)
        e = np.maximum(train_share, 1e-4)
        a = np.maximum(share, 1e-4)
        value = float(np.sum((a - e) * np.log(a / e)))
        out.append(
            {
                "name": name,
                "iv": fb.iv,
                "trend": fb.trend,
                "labels": fb.labels(),
                "train_share": train_share.tolist(),
                "train_event_rate": [
                    float(r) if t > 0 else None
                    for r, t in zip(fb.table.event_rate, fb.table.totals, strict=True)
                ],
                "woe": fb.woe.tolist(),
                "points": model.points_by_bin_[name].tolist(),
                "data_share": share.tolist(),
                "csi": value,
                "csi_reading": stability_label(value),
            }
        )
    return out


def validation_data(
    model: Scorecard | GBMClassifier,
    frame: pl.DataFrame,
    y: NDArray[Any],
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Numbers of the validation report of ``model`` on ``frame`` / ``y``.

    Parameters
    ----------
    model : Scorecard or GBMClassifier
        Fitted.
    frame : polars.DataFrame
        Features.
    y : ndarray
        0/1 target.
    metadata : dict, optional
        The artifact's metadata (training metrics and score distribution).
    """
    meta = metadata or {}
    risk = np.asarray(model.predict_proba(frame)[:, 1], dtype=np.float64)
    yy = np.asarray(y)
    data: dict[str, Any] = {
        "kind": "scorecard" if isinstance(model, Scorecard) else "gbm",
        "metrics": summary_metrics(yy, risk),
        "train_metrics": meta.get("metrics", {}).get("train"),
        "fit_test_metrics": meta.get("metrics", {}).get("test"),
        "split": meta.get("split"),
        "created": meta.get("created"),
        "libraries": meta.get("libraries", {}),
        "target": meta.get("target"),
        "roc": _thin(roc_curve(yy, risk)[["fpr", "tpr"]]),
        "ks_curve": _thin(ks_curve(yy, risk)[["population", "cum_bads", "cum_goods", "gap"]]),
        "gains": _records(gains_table(yy, risk)),
        "calibration": _records(calibration_table(yy, risk)),
        "dropped": meta.get("dropped", {}),
    }
    if isinstance(model, Scorecard):
        score = model.predict_score(frame)
        data["score_label"] = "score (points)"
        data["score_hist"] = _histogram(score, yy)
        data["features"] = _features(model, frame)
        data["scaling"] = {
            "pdo": model.pdo,
            "base_odds": model.base_odds,
            "base_score": model.base_score,
            "base_points": model.base_points_,
        }
    else:
        data["score_label"] = "probability of bad"
        data["score_hist"] = _histogram(risk, yy)
        order = np.argsort(-model.feature_importances_)
        total = float(model.feature_importances_.sum()) or 1.0
        data["importance"] = [
            {
                "feature": model.features_[i],
                "gain_share": float(model.feature_importances_[i] / total),
            }
            for i in order
        ]
        data["monotone_constraints"] = dict(model.monotone_constraints_)
        data["best_iteration"] = model.best_iteration_
    distribution = meta.get("train_score_distribution")
    if distribution:
        table = psi_against(distribution, risk)
        value = float(table["psi"].sum())
        data["psi"] = {"value": value, "reading": stability_label(value), "table": _records(table)}
    return data
