"""Behaviour score: features and target against pandas, out-of-time AUC, strategy export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from test_lending_status_reference import synthetic_status, with_level

from ruleplus.decision import compile_strategy
from ruleplus.errors import DataError
from ruleplus.lending.behaviour import (
    FEATURES,
    BehaviourModel,
    behaviour_features,
    behaviour_sample,
    fit_behaviour,
)
from ruleplus.lending.status_data import StatusData, read_status, status_data
from ruleplus.modeling.export import to_yaml


def _pandas_features(frame: pd.DataFrame, as_of: int) -> pd.DataFrame:
    rows = []
    for account, g in frame.groupby("ID"):
        g = g.sort_values("MONTHS_BALANCE")
        h = g[g["MONTHS_BALANCE"] <= as_of]
        if as_of not in set(h["MONTHS_BALANCE"]):
            continue
        months, levels = h["MONTHS_BALANCE"].to_numpy(), h["level"].to_numpy()
        cures = [
            k
            for k in range(1, len(h))
            if months[k] == months[k - 1] + 1 and levels[k - 1] >= 1 and levels[k] == 0
        ]
        dlq, dpd30 = months[levels >= 1], months[levels >= 2]
        rows.append(
            {
                "account": account,
                "bucket_now": int(levels[-1]),
                "worst_3m": int(levels[months > as_of - 3].max()),
                "worst_6m": int(levels[months > as_of - 6].max()),
                "worst_12m": int(levels[months > as_of - 12].max()),
                "delinquent_months_12m": int(((levels >= 1) & (months > as_of - 12)).sum()),
                "months_since_delinquent": as_of - int(dlq.max()) if dlq.size else None,
                "months_since_30dpd": as_of - int(dpd30.max()) if dpd30.size else None,
                "cures_12m": sum(1 for k in cures if months[k] > as_of - 12),
                "cures_ever": len(cures),
                "months_on_book": as_of - int(months.min()),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("seed", "as_of"), [(11, -10), (12, -3)])
def test_features_match_pandas(seed: int, as_of: int) -> None:
    frame = synthetic_status(seed, accounts=150)
    got = behaviour_features(status_data(pl.from_pandas(frame)), as_of).to_pandas()
    want = _pandas_features(with_level(frame), as_of)
    assert got["account"].tolist() == want["account"].tolist()
    assert (got["as_of"] == as_of).all()
    for name in FEATURES:
        a = got[name].astype("float").fillna(-999).tolist()
        b = want[name].astype("float").fillna(-999).tolist()
        assert a == b, name


def test_target_is_m3_or_worse_within_the_horizon() -> None:
    frame = pl.DataFrame(
        {
            "ID": [1] * 5 + [2] * 5 + [3] * 2 + [4] * 3,
            "MONTHS_BALANCE": [-4, -3, -2, -1, 0] * 2 + [-4, -3] + [-4, -3, -1],
            # 1 reaches M3 at -1; 2 is M2 at worst; 3 is current; 4 reaches M3 at -1
            "STATUS": [*"C012C", *"C011C", *"CC", *"0C2"],
        }
    )
    sample = behaviour_sample(status_data(frame), [-4], horizon=3)
    assert dict(zip(sample["account"], sample["bad"], strict=True)) == {1: 1, 2: 0, 3: 0, 4: 1}
    with pytest.raises(DataError, match="data end"):
        behaviour_sample(status_data(frame), [-2], horizon=3)


@pytest.fixture(scope="module")
def shared_model(shared_dir: Path) -> tuple[StatusData, BehaviourModel]:
    data = read_status(shared_dir / "data/credit/card_approval/credit_record.csv.zip")
    return data, fit_behaviour(data)


def test_out_of_time_auc_on_the_shared_file(
    shared_model: tuple[StatusData, BehaviourModel],
) -> None:
    data, model = shared_model
    assert model.test_snapshots == [-6]
    assert max(model.train_snapshots) + 6 <= -6
    test = behaviour_sample(data, [-6])
    proba = model.scorecard.predict_proba(test.select(FEATURES))[:, 1]
    auc = roc_auc_score(test["bad"].to_numpy(), proba)
    assert model.metrics["test"]["auc"] == pytest.approx(auc, abs=1e-9)
    assert auc > 0.8  # history predicts: measured 0.875 out of time
    assert (test["bucket_now"] < 3).all()  # accounts already M3+ are not scored


def test_exported_strategy_scores_like_the_card(
    shared_model: tuple[StatusData, BehaviourModel],
) -> None:
    data, model = shared_model
    doc = model.strategy()
    strategy = compile_strategy(to_yaml(doc))
    feats = behaviour_features(data, -6).head(2000)
    out = strategy.evaluate_frame(feats.select(FEATURES))
    assert out["_error"].null_count() == out.height
    want = model.scorecard.predict_score(feats.select(FEATURES))
    np.testing.assert_allclose(out["score"].to_numpy(), want, rtol=0, atol=1e-6)


def test_overlapping_windows_are_refused(shared_model: tuple[StatusData, BehaviourModel]) -> None:
    data, _ = shared_model
    with pytest.raises(DataError, match="not out of time"):
        fit_behaviour(data, train_snapshots=[-12, -9], test_snapshots=[-6])
