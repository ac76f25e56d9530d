# ruff: noqa: N806  (scikit-learn / maths naming: X, C, matrices)
"""Optimal binning: WOE/IV by hand, constraints, special and missing bins, estimator contract."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ruleplus.errors import DataError, NotFittedError
from ruleplus.modeling import OptimalBinner, WOETransformer
from ruleplus.modeling.binning import best_partition, woe_iv
from ruleplus.modeling.binning._optimal import segment_objective
from ruleplus.modeling.binning._prebin import nice_cut


def test_woe_iv_hand_computed() -> None:
    # bins: (bads, goods) = (10, 90), (30, 70); totals B=40, G=160
    woe, iv = woe_iv(np.array([10.0, 30.0]), np.array([100.0, 100.0]), 40.0, 160.0)
    g1, b1, g2, b2 = 90 / 160, 10 / 40, 70 / 160, 30 / 40
    assert woe[0] == pytest.approx(math.log(g1 / b1))
    assert woe[1] == pytest.approx(math.log(g2 / b2))
    assert iv.sum() == pytest.approx((g1 - b1) * math.log(g1 / b1) + (g2 - b2) * math.log(g2 / b2))


def test_binner_table_matches_hand_counts() -> None:
    x = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3] * 10, dtype=float)
    y = np.array([0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1] * 10)
    b = OptimalBinner(min_bin_share=0.0, trend="ascending").fit(x, y)
    assert b.splits_ == [2.0, 3.0]
    table = b.binning_table()
    bins = table[table["kind"] == "bin"]
    assert bins["event"].tolist() == [10, 20, 30]
    assert bins["count"].tolist() == [40, 40, 40]
    B, G = 60.0, 60.0
    expected = [math.log((30 / G) / (10 / B)), 0.0, math.log((10 / G) / (30 / B))]
    assert bins["woe"].to_numpy() == pytest.approx(expected)
    assert b.iv_ == pytest.approx(table["iv"].iloc[-1])
    assert table["bin"].tolist()[:3] == ["< 2", "[2..3)", ">= 3"]


def test_zero_count_bin_uses_half_correction() -> None:
    woe, _ = woe_iv(np.array([0.0, 10.0]), np.array([50.0, 60.0]), 10.0, 100.0)
    assert woe[0] == pytest.approx(math.log((50.5 / 100) / (0.5 / 10)))


def test_nice_cut_is_round_and_between() -> None:
    assert nice_cut(4871, 5120) == 5000
    assert nice_cut(35, 36) == 36
    assert nice_cut(0.53491, 0.53502) == 0.535
    for lo, hi in [(0.1, 0.1000001), (-3.2, -3.1), (1e-9, 2e-9), (99.5, 100.25)]:
        c = nice_cut(lo, hi)
        assert lo < c <= hi


def _brute_force(
    events: np.ndarray, totals: np.ndarray, trend: str, max_bins: int | None, min_share: float
) -> float:
    m = len(events)
    E, W = events.sum(), totals.sum()
    N = W - E
    best = -np.inf
    for k in range(m):
        for cuts in itertools.combinations(range(1, m), k):
            bounds = [0, *cuts, m]
            e = np.array([events[a:b].sum() for a, b in itertools.pairwise(bounds)])
            t = np.array([totals[a:b].sum() for a, b in itertools.pairwise(bounds)])
            n = t - e
            if (e <= 0).any() or (n <= 0).any() or (t < min_share * W - 1e-9).any():
                continue
            if max_bins is not None and len(e) > max_bins:
                continue
            r = e / t
            d = np.diff(r)
            ok = {
                "ascending": (d > 0).all(),
                "descending": (d < 0).all(),
                "none": True,
                "peak": _bent(d, up_first=True),
                "valley": _bent(d, up_first=False),
            }[trend]
            if ok:
                best = max(best, float(segment_objective(n / N, e / E, "iv").sum()))
    return best


def _bent(d: np.ndarray, up_first: bool) -> bool:
    signs = np.sign(d) if up_first else -np.sign(d)
    if (signs == 0).any():
        return False
    turned = False
    for s in signs:
        if s < 0:
            turned = True
        elif turned:
            return False
    return True


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(1, 60)), min_size=2, max_size=7),
    st.sampled_from(["ascending", "descending", "peak", "valley", "none"]),
    st.sampled_from([None, 2, 3]),
    st.sampled_from([0.0, 0.1]),
)
def test_dynamic_program_is_exact(
    counts: list[tuple[int, int]], trend: str, max_bins: int | None, min_share: float
) -> None:
    events = np.array([c[0] for c in counts], dtype=float)
    totals = np.array([c[0] + c[1] for c in counts], dtype=float)
    part = best_partition(
        events,
        totals,
        total_events=events.sum(),
        total_nonevents=totals.sum() - events.sum(),
        total_weight=totals.sum(),
        trend=trend,
        max_bins=max_bins,
        min_bin_share=min_share,
        min_bad=0.0,
        min_good=0.0,
    )
    expected = _brute_force(events, totals, trend, max_bins, min_share)
    if np.isfinite(expected):
        assert part.value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    else:
        assert part.ends == (len(counts) - 1,)


def _rates(binner: OptimalBinner) -> np.ndarray:
    table = binner.binning_table()
    return table.loc[table["kind"] == "bin", "event_rate"].to_numpy()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["ascending", "descending", "peak", "valley"]))
def test_every_constrained_binning_is_monotonic(seed: int, trend: str) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=800)
    logit = rng.normal() * x + rng.normal() * x**2 - 1.5
    y = (rng.random(800) < 1 / (1 + np.exp(-logit))).astype(int)
    b = OptimalBinner(trend=trend, min_bin_share=0.03, max_bins=int(rng.integers(2, 9))).fit(x, y)
    d = np.diff(_rates(b))
    assert len(b.splits_) + 1 <= b.max_bins
    if trend == "ascending":
        assert (d > 0).all()
    elif trend == "descending":
        assert (d < 0).all()
    else:
        assert _bent(d, up_first=trend == "peak")
    shares = b.binning_table().query("kind == 'bin'")["count_share"]
    assert (shares >= 0.03 - 1e-12).all()


def test_auto_trend_picks_the_data_shape() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 5000)
    y = (rng.random(5000) < 0.05 + 0.03 * x).astype(int)
    assert OptimalBinner().fit(x, y).trend_ == "ascending"
    y2 = (rng.random(5000) < 0.05 + 0.03 * (x - 5) ** 2).astype(int)
    assert OptimalBinner().fit(x, y2).trend_ == "valley"


def test_special_codes_and_missing_have_their_own_bins() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 100, 2000)
    x[:100] = -9
    x[100:150] = -8
    x[150:230] = np.nan
    y = (rng.random(2000) < 0.2).astype(int)
    y[:100] = 1
    b = OptimalBinner(name="x", special_codes=[-9, -8, -7]).fit(x, y)
    table = b.binning_table()
    special = table[table["kind"] == "special"]
    assert special["bin"].tolist() == ["special -9", "special -8", "special -7"]
    assert special["count"].tolist() == [100, 50, 0]
    assert special["event_rate"].iloc[0] == 1.0
    assert table.loc[table["kind"] == "missing", "count"].item() == 80
    woe = b.transform(pd.Series([-9.0, -8.0, -7.0, np.nan, 50.0], name="x"))["x"].to_numpy()
    assert woe[0] == pytest.approx(b.woe_[b.binning_.n_regular])
    assert woe[2] == 0.0  # special code never seen: neutral
    assert woe[3] == pytest.approx(b.woe_[b.binning_.missing_index])
    assert (b.binning_.regular_labels()[0]).startswith("< ")


def test_categories_unseen_rules() -> None:
    rng = np.random.default_rng(2)
    cats = rng.choice(["own", "rent", "mortgage", "family"], size=3000, p=[0.4, 0.3, 0.2, 0.1])
    risk = {"own": 0.05, "rent": 0.2, "mortgage": 0.08, "family": 0.3}
    y = (rng.random(3000) < np.vectorize(risk.get)(cats)).astype(int)
    values = pd.Series(list(cats[:2990]) + [None] * 10, name="home")
    new = pd.Series(["own", "castle", None], name="home")
    for rule in ("neutral", "missing", "worst"):
        b = OptimalBinner(unseen=rule, min_bin_share=0.0).fit(values, y)
        assert b.dtype_ == "categorical"
        woe = b.transform(new)["home"].to_numpy()
        expected = {"neutral": 0.0, "missing": woe[2], "worst": min(b.woe_[: len(b.groups_)])}
        assert woe[1] == pytest.approx(expected[rule])
    strict = OptimalBinner(unseen="error").fit(values, y)
    with pytest.raises(DataError, match="castle"):
        strict.transform(new)
    rates = _rates(strict)
    assert (np.diff(rates) > 0).all()


def test_sample_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 30, 600).astype(float)
    y = (rng.random(600) < 0.1 + x / 60).astype(int)
    w = rng.integers(1, 4, 600)
    weighted = OptimalBinner(min_bin_share=0.02).fit(x, y, sample_weight=w)
    repeated = OptimalBinner(min_bin_share=0.02).fit(np.repeat(x, w), np.repeat(y, w))
    assert weighted.splits_ == repeated.splits_
    assert weighted.woe_ == pytest.approx(repeated.woe_)


def test_manual_splits_and_constraints() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(18, 80, 3000)
    y = (rng.random(3000) < 0.3 - x / 400).astype(int)
    b = OptimalBinner().set_splits([30, 45, 60]).fit(x, y)
    assert b.splits_ == [30.0, 45.0, 60.0] and b.trend_ == "manual"
    assert OptimalBinner(max_bins=3).fit(x, y).binning_.n_regular <= 3
    groups = OptimalBinner(user_splits=[["a", "b"]]).fit(
        pd.Series(["a", "b", "c", "d"] * 50), np.tile([0, 1, 1, 0], 50)
    )
    assert groups.groups_ == [["a", "b"], ["c", "d"]]


def test_bad_columns_are_named() -> None:
    y = np.tile([0, 1], 50)
    with pytest.raises(DataError, match="'const' is constant"):
        OptimalBinner().fit(pd.Series([5.0] * 100, name="const"), y)
    with pytest.raises(DataError, match="'empty' has only missing"):
        OptimalBinner().fit(pd.Series([np.nan] * 100, name="empty"), y)
    with pytest.raises(DataError, match=r"'income' is numeric but holds 1 non-numeric.*'abc'"):
        OptimalBinner().fit(pl.Series("income", ["1", "2", "NA"] * 33 + ["abc"]), y)
    with pytest.raises(NotFittedError):
        OptimalBinner().transform([1.0])


def test_woe_transformer_contract(features: pl.DataFrame, target: pl.Series) -> None:
    frame = features.to_pandas()
    frame["constant"] = 1.0
    frame["empty"] = np.nan
    woe = WOETransformer(special_codes={"inquiries6m": [0]})
    assert clone(woe).get_params() == woe.get_params()
    fitted = woe.fit(frame, target.to_numpy())
    assert fitted is woe
    assert set(woe.dropped_) == {"constant", "empty"}
    assert "constant" in woe.dropped_["constant"]
    out = woe.transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == woe.features_
    assert out.index.equals(frame.index)
    assert woe.summary()["iv"].is_monotonic_decreasing
    assert woe.binning_table("inquiries6m")["bin"].str.contains("special 0").any()
    # polars in, and set_output
    polars_out = clone(woe).set_output(transform="polars").fit(features, target).transform(features)
    assert isinstance(polars_out, pl.DataFrame)
    pipe = Pipeline([("woe", WOETransformer()), ("lr", LogisticRegression())]).fit(frame, target)
    assert pipe.predict_proba(frame).shape == (len(frame), 2)
    with pytest.raises(DataError, match="'age' is missing"):
        woe.transform(frame.drop(columns=["age"]))


def test_parallel_binning_is_identical(features: pl.DataFrame, target: pl.Series) -> None:
    one = WOETransformer().fit(features, target)
    two = WOETransformer(n_jobs=2).fit(features, target)
    assert {k: v.splits for k, v in one.binnings_.items()} == {
        k: v.splits for k, v in two.binnings_.items()
    }
