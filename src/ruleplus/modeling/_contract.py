# ruff: noqa: N803  (scikit-learn naming: X)
"""scikit-learn's estimator contract, written once for every estimator of :mod:`ruleplus.modeling`.

* :func:`fit_data`: what every ``fit`` starts with: the table (pandas, polars or a 2-D array),
  the binary target (:func:`~ruleplus.modeling._data.binary_target`), the row weights, and
  their consistency (as many labels and weights as rows, both classes with some weight);
* :func:`input_frame`: what every ``transform`` / ``predict`` starts with: fitted or
  :class:`~ruleplus.modeling._errors.NotFittedError`, and an array (whose columns are known by
  position only) as wide as the one seen in ``fit``;
* :func:`check_fitted`: scikit-learn's ``check_is_fitted`` raising the ruleplus error;
* :func:`binary_tags`: the tags of an estimator that needs a binary target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils import ClassifierTags, Tags
from sklearn.utils.validation import check_is_fitted

from ruleplus.modeling._data import as_frame, binary_target, check_weights, is_positional
from ruleplus.modeling._errors import DataError, NotFittedError

__all__ = ["FitData", "binary_tags", "check_fitted", "fit_data", "input_frame"]


@dataclass(frozen=True)
class FitData:
    """The checked inputs of a ``fit``."""

    frame: pl.DataFrame
    """The features."""
    y: NDArray[np.int8]
    """The target, 1 = bad."""
    classes: NDArray[Any]
    """The labels ``[good, bad]`` (an estimator's ``classes_``)."""
    weights: NDArray[np.float64]
    """Row weights (ones when none were given)."""


def fit_data(
    X: Any, y: Any, sample_weight: Any = None, *, ensure_2d: bool = True, numeric: bool = False
) -> FitData:
    """Read and check the inputs of ``fit`` (see :func:`~ruleplus.modeling._data.as_frame` for
    ``ensure_2d`` and ``numeric``).

    Raises
    ------
    DataError
        An empty table, a bad target, rows, labels and weights that do not match, or weights
        that leave a class with no weight (also a ``ValueError``).
    """
    frame = as_frame(X, ensure_2d=ensure_2d, numeric=numeric)
    if frame.height == 0:
        raise DataError(f"Found array with 0 sample(s) (shape=(0, {frame.width}))")
    if frame.width == 0:
        raise DataError(
            f"Found array with 0 feature(s) (shape=({frame.height}, 0)) while a minimum of 1 "
            "is required."
        )
    target, classes = binary_target(y)
    if target.shape[0] != frame.height:
        raise DataError(
            "Found input variables with inconsistent numbers of samples: "
            f"X has {frame.height} rows, y has {target.shape[0]}"
        )
    w = check_weights(sample_weight, frame.height)
    for label, kind in ((0, "good"), (1, "bad")):
        if not w[target == label].sum() > 0:
            raise DataError(
                f"sample_weight leaves one class only: the {kind} class "
                f"({classes[label]!r}) has no weight"
            )
    return FitData(frame, target, classes, w)


def check_fitted(estimator: Any) -> None:
    """Raise :class:`NotFittedError` (ruleplus' and scikit-learn's) unless ``estimator`` is
    fitted (``check_is_fitted``, which asks the estimator's ``__sklearn_is_fitted__``)."""
    try:
        check_is_fitted(estimator)
    except SklearnNotFittedError:
        name = type(estimator).__name__
        raise NotFittedError(
            f"this {name} is not fitted yet; call fit(X, y) first", estimator=name
        ) from None


def input_frame(
    estimator: Any, X: Any, *, ensure_2d: bool = True, numeric: bool = False
) -> pl.DataFrame:
    """``X`` as a polars frame for a fitted ``estimator``.

    Frames are matched by column name (extra columns are fine); an array's columns are known by
    position only, so it must be exactly as wide as in ``fit``.

    Raises
    ------
    NotFittedError
        The estimator is not fitted.
    DataError
        A 1-D array, or an array of another width (also a ``ValueError``).
    """
    check_fitted(estimator)
    frame = as_frame(X, ensure_2d=ensure_2d, numeric=numeric)
    expected = int(estimator.n_features_in_)
    if is_positional(X) and frame.width != expected:
        raise DataError(
            f"X has {frame.width} features, but {type(estimator).__name__} is expecting "
            f"{expected} features as input"
        )
    return frame


def binary_tags(tags: Tags, *, allow_nan: bool = True, string: bool = True) -> Tags:
    """Tags of an estimator fitted on a binary target (a classifier, or a supervised
    transformer such as a WOE encoder): ``y`` required, two classes only, missing values
    (``allow_nan``) and text columns (``string``) accepted as declared."""
    tags.target_tags.required = True
    poor = tags.classifier_tags.poor_score if tags.classifier_tags is not None else False
    tags.classifier_tags = ClassifierTags(multi_class=False, poor_score=poor)
    tags.input_tags.allow_nan = allow_nan
    tags.input_tags.string = string
    return tags
