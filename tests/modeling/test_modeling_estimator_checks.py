# ruff: noqa: N806  (scikit-learn naming: X)
"""scikit-learn's estimator checks on every estimator of ruleplus.modeling, and the contract
they rest on (binary targets of any two labels, the errors, the tags)."""

from __future__ import annotations

import functools
import os
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.base import BaseEstimator
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

import ruleplus.errors
import ruleplus.modeling
from ruleplus.modeling import (
    FeatureSelector,
    GBMClassifier,
    OptimalBinner,
    Scorecard,
    WOETransformer,
)

ESTIMATORS: list[BaseEstimator] = [
    OptimalBinner(),
    WOETransformer(),
    FeatureSelector(),
    Scorecard(),
    # few, small trees on the checks' tiny data sets; every row and feature in each tree, since
    # row bagging samples rows, not weight (``check_sample_weight_equivalence_on_dense_data``)
    GBMClassifier(
        n_estimators=5,
        early_stopping_rounds=0,
        min_child_samples=1,
        subsample=1.0,
        colsample_bytree=1.0,
        n_jobs=1,
    ),
]

# OptimalBinner bins exactly one feature (``one_d_array`` tag; WOETransformer is the table
# version). These checks build tables of several columns, or index the 1-D data the tag asks
# for as if it were 2-D, so they cannot apply to a one-feature estimator.
_ONE_FEATURE = "OptimalBinner bins one feature"
_ONE_FEATURE_CHECKS = {
    "check_dict_unchanged": "indexes the 1-D data as 2-D",
    "check_dont_overwrite_parameters": "indexes the 1-D data as 2-D",
    "check_estimator_sparse_array": "cannot build a sparse matrix from the 1-D data",
    "check_f_contiguous_array_estimator": "indexes the 1-D data as 2-D",
    "check_fit1d": "1-D data is what it takes (one_d_array); the check expects a refusal",
    "check_fit2d_1feature": "indexes the 1-D data as 2-D",
    "check_fit2d_1sample": "indexes the 1-D data as 2-D",
    "check_fit2d_predict1d": "indexes the 1-D data as 2-D",
    "check_methods_sample_order_invariance": "indexes the 1-D data as 2-D",
    "check_methods_subset_invariance": "indexes the 1-D data as 2-D",
    "check_n_features_in": "reads X.shape[1] of the 1-D data",
    "check_n_features_in_after_fitting": "reads X.shape[1] of the 1-D data",
    "check_sample_weight_equivalence_on_dense_data": "fits a table of 30 columns",
    "check_sample_weights_not_overwritten": "fits a table of 2 columns",
    "check_sample_weights_shape": "fits a table of 2 columns",
    "check_transformer_data_not_an_array": "unpacks the 1-D data's shape as 2-D",
    "check_transformer_general": "unpacks the 1-D data's shape as 2-D",
}


def expected_failures(estimator: BaseEstimator) -> dict[str, str]:
    """Checks that cannot apply to an estimator, with the reason."""
    if isinstance(estimator, OptimalBinner):
        return {check: f"{_ONE_FEATURE}: {why}" for check, why in _ONE_FEATURE_CHECKS.items()}
    if isinstance(estimator, FeatureSelector):
        return {
            "check_transformer_preserve_dtypes": (
                "transform returns a pandas frame (its documented output, for arrays too), "
                "which has no single .dtype to compare; test_selector_keeps_column_dtypes checks "
                "that the columns keep theirs"
            )
        }
    return {}


def _check_name(check: Any) -> str:
    func = check
    while isinstance(func, functools.partial):
        func = func.func
    return str(getattr(func, "__name__", ""))


def _in_array_api_process(estimator: BaseEstimator, check: Any) -> None:
    """Run a check with array API dispatch on, which SciPy allows only when SCIPY_ARRAY_API is
    set before it is first imported: hence a fresh interpreter (the rest of the suite keeps
    SciPy's defaults)."""
    code = "import pickle, sys\ncheck, model = pickle.load(sys.stdin.buffer)\ncheck(model)\n"
    result = subprocess.run(
        [sys.executable, "-W", "error::FutureWarning", "-c", code],
        input=pickle.dumps((check, estimator)),
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator: BaseEstimator, check: Any) -> None:
    if _check_name(check) == "check_array_api_input":
        _in_array_api_process(estimator, check)
    else:
        check(estimator)


def test_every_estimator_is_checked() -> None:
    public = [getattr(ruleplus.modeling, name) for name in ruleplus.modeling.__all__]
    estimators = {c for c in public if isinstance(c, type) and issubclass(c, BaseEstimator)}
    assert estimators == {type(e) for e in ESTIMATORS}


def test_selector_keeps_column_dtypes() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    out = FeatureSelector(min_iv=None, max_corr=None).fit(X, y).transform(X)
    assert list(out.dtypes) == [np.float32] * 3
    np.testing.assert_array_equal(out.to_numpy(), X)


def test_not_fitted_is_both_errors() -> None:
    for estimator in ESTIMATORS:
        method = getattr(estimator, "predict_proba", None) or estimator.transform
        with pytest.raises(ruleplus.errors.NotFittedError) as info:
            method(np.zeros((3, 1)))
        assert isinstance(info.value, sklearn.exceptions.NotFittedError)
        assert info.value.to_dict()["type"] == "NotFittedError"


def test_bad_input_is_a_data_error_and_a_value_error() -> None:
    X = np.random.default_rng(1).normal(size=(30, 2))
    with pytest.raises(ruleplus.errors.DataError, match="Only binary classification") as info:
        Scorecard().fit(X, np.arange(30) % 3)
    assert isinstance(info.value, ValueError)
    assert info.value.to_dict()["type"] == "DataError"


def _loans(n: int = 600) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=n)
    bad = rng.random(n) < 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"x": x, "z": rng.normal(size=n)}), bad


@pytest.mark.parametrize(
    "make",
    [
        Scorecard,
        lambda: GBMClassifier(
            n_estimators=60, learning_rate=0.1, early_stopping_rounds=0, n_jobs=1
        ),
    ],
)
@pytest.mark.parametrize(
    ("good", "bad", "classes"),
    [
        (0, 1, [0, 1]),
        (False, True, [False, True]),
        ("good", "bad", ["good", "bad"]),  # the label meaning bad, though it sorts first
        ("ok", "late", ["late", "ok"]),  # neither says bad: the greater one is the event
        (1, 2, [1, 2]),
    ],
)
def test_classes_are_good_then_bad(make: Any, good: Any, bad: Any, classes: list[Any]) -> None:
    X, is_bad = _loans()
    y = np.where(is_bad, bad, good)
    model = make().fit(X, y)
    assert model.classes_.tolist() == classes
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    # column 1 is the probability of classes_[1]: higher where y is that label
    event = y == model.classes_[1]
    assert proba[event, 1].mean() > proba[~event, 1].mean() + 0.2
    predicted = model.predict(X)
    np.testing.assert_array_equal(predicted == model.classes_[1], proba[:, 1] > 0.5)
    assert set(predicted.tolist()) <= set(classes)


def test_binary_only_tags() -> None:
    for estimator in ESTIMATORS:
        tags = get_tags(estimator)
        assert tags.target_tags.required
        assert tags.classifier_tags is not None and not tags.classifier_tags.multi_class
