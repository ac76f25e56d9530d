"""Metrics against scikit-learn and scipy; gains, calibration, PSI and CSI."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from ruleplus.errors import DataError
from ruleplus.modeling import Scorecard, auc, gains_table, gini, ks, psi, psi_table
from ruleplus.modeling.metrics import calibration_table, roc_curve, summary_metrics
from ruleplus.modeling.monitoring import csi, psi_against, score_distribution


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 100_000), st.integers(20, 400), st.booleans())
def test_auc_and_ks_match_sklearn_and_scipy(seed: int, n: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    score = rng.normal(size=n) + y * rng.uniform(0, 2)
    if ties:
        score = np.round(score, 1)
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert gini(y, score) == pytest.approx(2 * roc_auc_score(y, score) - 1, abs=1e-12)
    expected = ks_2samp(score[y == 1], score[y == 0]).statistic
    assert ks(y, score) == pytest.approx(expected, abs=1e-12)


def test_weighted_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    score = rng.normal(size=500) + y
    w = rng.uniform(0.1, 3, 500)
    assert auc(y, score, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w))


def test_gains_and_calibration_tables() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.5, 10_000)
    y = (rng.random(10_000) < p).astype(int)
    gains = gains_table(y, p)
    assert len(gains) == 10
    assert gains["count"].sum() == 10_000
    assert gains["cum_bads_share"].iloc[-1] == pytest.approx(1.0)
    assert gains["bad_rate"].is_monotonic_decreasing
    assert gains["ks"].max() == pytest.approx(ks(y, p), abs=0.02)
    cal = calibration_table(y, p)
    assert (cal["observed_bad_rate"] - cal["predicted_pd"]).abs().max() < 0.05
    curve = roc_curve(y, p)
    assert curve["fpr"].iloc[0] == 0 and curve["tpr"].iloc[-1] == pytest.approx(1.0)
    summary = summary_metrics(y, p)
    assert set(summary) >= {"auc", "ks", "gini", "n"} and summary["n"] == 10_000


def test_single_class_is_refused() -> None:
    with pytest.raises(DataError, match="single class"):
        auc([0, 0, 0], [0.1, 0.2, 0.3])


def test_psi() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=5000)
    assert psi(a, rng.normal(size=5000)) < 0.02
    assert psi(a, rng.normal(0.5, 1, 5000)) > 0.1
    table = psi_table(a, a + 0.3)
    assert len(table) == 10 and table["expected_share"].sum() == pytest.approx(1.0)
    saved = score_distribution(a)
    shifted = a + 0.3
    assert psi_against(saved, shifted)["psi"].sum() == pytest.approx(psi(a, shifted), rel=1e-9)


def test_csi_per_characteristic(features: pl.DataFrame, target: pl.Series) -> None:
    card = Scorecard().fit(features, target)
    same = csi(card, features, features)
    assert (same["csi"] < 1e-12).all()
    older = features.with_columns(pl.col("age") + 15)
    shifted = csi(card, features, older).set_index("feature")
    assert shifted.loc["age", "csi"] > 0.25 and shifted.loc["age", "reading"] == "major shift"
    assert "points_shift" in shifted.columns
