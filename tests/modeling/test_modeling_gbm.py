"""GBM: early stopping, out-of-time validation, monotone constraints, engine parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone

from ruleplus.decision import load_strategy
from ruleplus.errors import DataError, NotFittedError
from ruleplus.modeling import GBMClassifier, auc, load_artifact, save_artifact
from ruleplus.modeling.export import to_yaml
from ruleplus.modeling.gbm import time_split

FAST = {"n_estimators": 200, "learning_rate": 0.1, "early_stopping_rounds": 20, "n_jobs": 1}


@pytest.fixture(scope="module")
def gbm(applications: pl.DataFrame, features: pl.DataFrame, target: pl.Series) -> GBMClassifier:
    data = features.with_columns(applications.get_column("applicationTime"))
    return GBMClassifier(time_col="applicationTime", monotone_constraints="auto", **FAST).fit(
        data, target
    )


def test_fit_with_time_validation(
    gbm: GBMClassifier, features: pl.DataFrame, target: pl.Series
) -> None:
    assert "applicationTime" not in gbm.features_
    assert 1 <= gbm.best_iteration_ <= 200
    assert gbm.validation_auc_ is not None and gbm.validation_auc_ > 0.6
    assert gbm.booster_.num_trees() == gbm.best_iteration_
    assert auc(target, gbm.predict_proba(features)[:, 1]) > 0.75
    assert gbm.monotone_constraints_["creditScore"] == -1


def test_monotone_constraint_holds(gbm: GBMClassifier, features: pl.DataFrame) -> None:
    row = features.head(50)
    grid = np.linspace(300, 900, 25)
    curves = np.column_stack(
        [gbm.predict_proba(row.with_columns(pl.lit(v).alias("creditScore")))[:, 1] for v in grid]
    )
    assert (np.diff(curves, axis=1) <= 1e-12).all()


def test_time_split_takes_the_latest_rows() -> None:
    times = pl.Series([5, 1, 4, 2, 3, 6, 8, 7, 9, 10])
    mask = time_split(times, 0.3)
    assert sorted(times.filter(pl.Series(mask)).to_list()) == [8, 9, 10]


def test_engine_reproduces_predict_proba(
    gbm: GBMClassifier, features: pl.DataFrame, tmp_path: Path
) -> None:
    save_artifact(gbm, tmp_path)
    strategy = load_strategy(tmp_path / "strategy.yaml")
    scored = features.with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0)
        .then(pl.lit("moon"))
        .otherwise(pl.col("employmentType"))
        .alias("employmentType")
    )
    expected = gbm.predict_proba(scored)[:, 1]
    out = strategy.evaluate_frame(scored.rename(gbm.input_names_))
    assert np.abs(out["probability"].to_numpy() - expected).max() < 1e-9
    for i, record in enumerate(scored.head(40).rename(gbm.input_names_).to_dicts()):
        assert abs(strategy.evaluate(record).outputs["probability"] - expected[i]) < 1e-9
    loaded, meta = load_artifact(tmp_path)
    assert meta["kind"] == "gbm"
    assert loaded.predict_proba(scored) == pytest.approx(gbm.predict_proba(scored), abs=1e-15)
    assert "format: lightgbm" in to_yaml(gbm.to_strategy())


def test_random_validation_and_contract(features: pl.DataFrame, target: pl.Series) -> None:
    model = GBMClassifier(monotone_constraints={"age": -1}, **FAST)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        model.predict_proba(features)
    assert model.fit(features.to_pandas(), target.to_numpy()) is model
    assert model.predict(features).shape == (len(features),)
    with pytest.raises(ValueError, match="must be -1, 0 or 1"):
        GBMClassifier(monotone_constraints={"age": 2}, **FAST).fit(features, target)
    with pytest.raises(DataError, match="time column 'when'"):
        GBMClassifier(time_col="when", **FAST).fit(features, target)


def test_gbm_and_binning_leave_out_the_same_columns() -> None:
    from ruleplus.modeling import WOETransformer

    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    frame = pl.DataFrame(
        {
            "x": x,
            "na_text": ["n/a"] * n,  # NA tokens only: all missing once read
            "one_number": ["1"] * (n // 2) + ["1.0"] * (n // 2),  # numeric text, one value
            "some_missing": [1.0] * (n - 10) + [None] * 10,  # missingness is information
            "when": pl.date_range(pl.date(2020, 1, 1), pl.date(2021, 12, 31), eager=True)[:n],
            "row": np.arange(n),
        }
    )
    gbm = GBMClassifier(n_estimators=5, early_stopping_rounds=0, n_jobs=1).fit(frame, y)
    woe = WOETransformer().fit(frame, y)
    assert gbm.features_ == woe.features_ == ["x", "some_missing"]
    assert gbm.dropped_ == woe.dropped_
    assert gbm.dropped_["na_text"] == "column 'na_text' has only missing values"
    assert gbm.dropped_["one_number"] == "column 'one_number' is constant (1.0)"
    assert gbm.dropped_["row"].startswith("identifier-like")
