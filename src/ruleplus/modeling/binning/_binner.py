# ruff: noqa: N803  (scikit-learn / maths naming: X, C, matrices)
"""Estimators: :class:`OptimalBinner` (one feature) and :class:`WOETransformer` (a table).

Both follow scikit-learn's contract (parameters only in ``__init__``, ``fit`` returns ``self``,
fitted state ends in ``_``, use before ``fit`` raises :class:`~ruleplus.errors.NotFittedError`,
which is also scikit-learn's), take a binary target of any two labels (see
:func:`~ruleplus.modeling._data.binary_target`),
take pandas or polars frames and return pandas frames (``set_output(transform="polars")`` gives
polars). The work is done by :func:`~ruleplus.modeling.binning.fit_feature`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags

from ruleplus.modeling._contract import binary_tags, check_fitted, fit_data, input_frame
from ruleplus.modeling._data import column_kind, column_values, output_frame, plan_columns
from ruleplus.modeling._errors import DataError
from ruleplus.modeling.binning._feature import (
    UNSEEN_RULES,
    BinningOptions,
    FeatureBinning,
    fit_feature,
)
from ruleplus.modeling.binning._optimal import OBJECTIVES, TRENDS

__all__ = ["OptimalBinner", "WOETransformer"]

_METRICS = ("woe", "index", "event_rate", "label")


def _check_options(est: Any) -> BinningOptions:
    if est.trend not in TRENDS and not isinstance(est.trend, Mapping):
        raise ValueError(f"trend must be one of {', '.join(TRENDS)}, got {est.trend!r}")
    if isinstance(est.trend, Mapping):
        for feature, value in est.trend.items():
            if value not in TRENDS:
                raise ValueError(f"trend for {feature!r} must be one of {', '.join(TRENDS)}")
    if est.objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
    if est.unseen not in UNSEEN_RULES:
        raise ValueError(f"unseen must be one of {', '.join(UNSEEN_RULES)}")
    if est.min_bin_share is not None and not 0.0 <= est.min_bin_share < 0.5:
        raise ValueError("min_bin_share must be in [0, 0.5)")
    if est.max_bins is not None and est.max_bins < 1:
        raise ValueError("max_bins must be at least 1")
    if est.max_prebins < 2:
        raise ValueError("max_prebins must be at least 2")
    return BinningOptions(
        max_prebins=est.max_prebins,
        trend=est.trend if isinstance(est.trend, str) else "auto",
        objective=est.objective,
        max_bins=est.max_bins,
        min_bin_share=est.min_bin_share,
        min_bad_count=est.min_bad_count,
        min_good_count=est.min_good_count,
        cat_cutoff=est.cat_cutoff,
        unseen=est.unseen,
        auto_min_gain=est.auto_min_gain,
        sample_size=est.sample_size,
        seed=est.random_state if est.random_state is not None else 0,
    )


def _transform_one(fb: FeatureBinning, values: NDArray[Any], metric: str) -> NDArray[Any]:
    if metric == "woe":
        return fb.woe_of(values)
    idx = fb.bin_index(values)
    if metric == "index":
        return idx
    assert fb.table is not None
    if metric == "event_rate":
        rate = fb.table.event_rate
        return np.where(idx >= 0, rate[np.maximum(idx, 0)], np.nan)
    if metric == "label":
        labels = np.asarray(fb.labels(), dtype=object)
        return np.where(idx >= 0, labels[np.maximum(idx, 0)], "unseen")
    raise ValueError(f"metric must be one of {', '.join(_METRICS)}")


class _BinningParams(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Shared parameter handling."""

    max_prebins: int
    trend: Any
    objective: str
    max_bins: int | None
    min_bin_share: float | None
    min_bad_count: float
    min_good_count: float
    cat_cutoff: float | None
    unseen: str
    auto_min_gain: float
    sample_size: int | None
    random_state: int | None

    def __sklearn_tags__(self) -> Tags:
        tags = binary_tags(super().__sklearn_tags__())
        assert tags.transformer_tags is not None
        # the output's dtype follows ``metric`` (WOE: float64 whatever the input, labels: text),
        # not the input's
        tags.transformer_tags.preserves_dtype = []
        return tags


class OptimalBinner(_BinningParams):
    """Optimal binning of one numeric or categorical feature.

    Fine bins (quantiles, or categories) are merged by an exact dynamic program that maximises
    the objective under the constraints; missing values and each special code get bins of
    their own.

    Parameters
    ----------
    name : str, optional
        Feature name; default: the column's name.
    dtype : {"auto", "numeric", "categorical"}, default="auto"
        ``auto``: numbers (and numeric text) are numeric, text and booleans categorical.
    max_prebins : int, default=50
        Fine bins before merging (quantiles of the distinct values).
    trend : str, default="auto"
        Event-rate trend of the bins: ``ascending``, ``descending``, ``peak``, ``valley``,
        ``none``, ``auto_asc_desc`` (the better monotonic one) or ``auto`` (that, or a peak /
        valley when it beats it by ``auto_min_gain``). Categories are ordered by event rate.
    objective : {"iv", "js", "hellinger"}, default="iv"
        What the merge maximises.
    max_bins : int, optional
        At most this many regular bins.
    min_bin_share : float, optional
        Smallest share of rows in a regular bin. Default (None): 5% for up to 20,000 rows,
        ``1000 / rows`` above that, never under 2% (finer bins where there are data to
        estimate them).
    min_bad_count, min_good_count : float, default=1.0
        Smallest weighted count of bads / goods in a regular bin.
    special_codes : list, optional
        Values kept apart, one bin each (e.g. ``[-7, -8, -9]``).
    user_splits : list, optional
        Manual bins: cut points (numeric) or groups of categories; no optimisation then.
    cat_cutoff : float, optional
        Categories below this share are pooled before merging.
    unseen : {"neutral", "missing", "worst", "error"}, default="neutral"
        WOE of a category not seen in training: 0, the missing bin's, the riskiest bin's, or
        refuse.
    auto_min_gain : float, default=0.1
        See ``trend``.
    sample_size : int, optional, default=200_000
        Cut points are chosen on a sample of this many rows when there are more.
    random_state : int, default=0
        Seed of that sample.

    Attributes
    ----------
    binning_ : FeatureBinning
        The fitted binning (splits or groups, table, trend).
    name_ : str
        Feature name.
    dtype_ : str
        ``numeric`` or ``categorical``.
    splits_ : list of float
        Cut points (numeric).
    groups_ : list of list
        Category groups (categorical).
    woe_ : ndarray
        WOE per bin (regular, special, missing).
    iv_ : float
        Information value.
    trend_ : str
        Trend of the fitted bins.
    """

    def __init__(
        self,
        name: str | None = None,
        dtype: str = "auto",
        max_prebins: int = 50,
        trend: str = "auto",
        objective: str = "iv",
        max_bins: int | None = None,
        min_bin_share: float | None = None,
        min_bad_count: float = 1.0,
        min_good_count: float = 1.0,
        special_codes: Sequence[Any] | None = None,
        user_splits: Sequence[Any] | None = None,
        cat_cutoff: float | None = None,
        unseen: str = "neutral",
        auto_min_gain: float = 0.1,
        sample_size: int | None = 200_000,
        random_state: int | None = 0,
    ) -> None:
        self.name = name
        self.dtype = dtype
        self.max_prebins = max_prebins
        self.trend = trend
        self.objective = objective
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.min_bad_count = min_bad_count
        self.min_good_count = min_good_count
        self.special_codes = special_codes
        self.user_splits = user_splits
        self.cat_cutoff = cat_cutoff
        self.unseen = unseen
        self.auto_min_gain = auto_min_gain
        self.sample_size = sample_size
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "binning_")

    @staticmethod
    def _column(frame: pl.DataFrame) -> tuple[str, pl.Series]:
        if frame.width != 1:
            raise DataError(
                f"OptimalBinner bins one feature; got {frame.width} columns "
                "(use WOETransformer for a table)"
            )
        series = frame.to_series(0)
        return series.name, series

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> OptimalBinner:
        """Fit the binning of one feature.

        Parameters
        ----------
        X : array-like, Series or one-column DataFrame
            The feature.
        y : array-like
            Binary target (1 = bad).
        sample_weight : array-like, optional
            Row weights.

        Returns
        -------
        self
        """
        options = _check_options(self)
        data = fit_data(X, y, sample_weight, ensure_2d=False)
        column, series = self._column(data.frame)
        name = self.name or column
        dtype = self.dtype if self.dtype != "auto" else column_kind(series)
        if dtype not in ("numeric", "categorical"):
            raise DataError(f"column {name!r} is {series.dtype}; bin numbers or text", column=name)
        values = column_values(series.rename(name).to_frame(), name, dtype)
        binning = fit_feature(
            name,
            dtype,
            values,
            data.y,
            data.weights,
            options,
            special_codes=list(self.special_codes) if self.special_codes is not None else None,
            user_splits=list(self.user_splits) if self.user_splits is not None else None,
        )
        self.name_ = name
        self.binning_ = binning
        self.dtype_ = self.binning_.dtype
        self.splits_ = list(self.binning_.splits)
        self.groups_ = [list(g) for g in self.binning_.groups]
        self.woe_ = self.binning_.woe.copy()
        self.iv_ = self.binning_.iv
        self.trend_ = self.binning_.trend
        self.n_features_in_ = 1
        self.feature_names_in_ = np.array([column], dtype=object)
        return self

    def transform(self, X: Any, metric: str = "woe") -> pd.DataFrame:
        """Replace each value by its bin's WOE (or ``index``, ``event_rate``, ``label``)."""
        frame = input_frame(self, X, ensure_2d=False)
        fb = self.binning_
        _, series = self._column(frame)
        values = column_values(series.rename(fb.name).to_frame(), fb.name, fb.dtype)
        return output_frame({fb.name: _transform_one(fb, values, metric)}, X)

    def binning_table(self) -> pd.DataFrame:
        """Count, event rate, WOE and IV per bin, with a totals row."""
        check_fitted(self)
        fb = self.binning_
        assert fb.table is not None
        return fb.table.to_frame()

    def set_splits(self, splits: Sequence[Any] | None) -> OptimalBinner:
        """Edit the bins by hand: cut points or category groups (None: optimise again).

        Sets ``user_splits``; call ``fit`` again to apply.
        """
        self.user_splits = list(splits) if splits is not None else None
        return self

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """Output column name."""
        check_fitted(self)
        return np.array([self.binning_.name], dtype=object)


class WOETransformer(_BinningParams):
    """Optimal binning of every feature of a table and WOE transformation.

    Parameters
    ----------
    features : list of str, optional
        Columns to bin; default: every column except ``exclude``.
    categorical : list of str, optional
        Columns binned as categories even when they hold numbers.
    exclude : list of str, optional
        Columns never binned (ids, the target, dates).
    special_codes : list or dict, optional
        Values binned apart (one bin each): one list for every feature, or feature -> list.
    user_splits : dict, optional
        Feature -> manual cut points or category groups.
    trend : str or dict, default="auto"
        Trend for every feature, or feature -> trend (others ``auto``). See
        :class:`OptimalBinner`.
    max_prebins : int, default=50
        Fine bins before merging.
    objective : {"iv", "js", "hellinger"}, default="iv"
        What the merge maximises.
    max_bins : int, optional
        At most this many regular bins per feature.
    min_bin_share : float, optional
        Smallest share of rows in a regular bin. Default (None): 5% for up to 20,000 rows,
        ``1000 / rows`` above that, never under 2% (finer bins where there are data to
        estimate them).
    min_bad_count, min_good_count : float, default=1.0
        Smallest weighted count of bads / goods in a regular bin.
    cat_cutoff : float, optional
        Categories below this share are pooled before merging.
    unseen : {"neutral", "missing", "worst", "error"}, default="neutral"
        WOE of a category not seen in training.
    auto_min_gain : float, default=0.1
        Gain a peak / valley needs over a monotonic trend under ``auto``.
    id_share : float, default=0.5
        Text columns with more distinct values than this share of rows (and over 50) are
        taken for identifiers and left out, as are whole-number columns whose values are all
        distinct (row numbers, customer ids); not when ``features`` lists the columns.
    sample_size : int, optional, default=200_000
        Cut points are chosen on a sample of this many rows when there are more.
    n_jobs : int, optional
        Threads binning features in parallel (default 1).
    random_state : int, default=0
        Seed of the sample.

    Attributes
    ----------
    binnings_ : dict of str to FeatureBinning
        The fitted binning of each kept feature.
    features_ : list of str
        Features kept, in input order.
    dropped_ : dict of str to str
        Columns left out and why (constant, all missing, identifier-like, date…).
    iv_ : pandas.Series
        Information value per kept feature.
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        special_codes: Sequence[Any] | Mapping[str, Sequence[Any]] | None = None,
        user_splits: Mapping[str, Sequence[Any]] | None = None,
        trend: str | Mapping[str, str] = "auto",
        max_prebins: int = 50,
        objective: str = "iv",
        max_bins: int | None = None,
        min_bin_share: float | None = None,
        min_bad_count: float = 1.0,
        min_good_count: float = 1.0,
        cat_cutoff: float | None = None,
        unseen: str = "neutral",
        auto_min_gain: float = 0.1,
        id_share: float = 0.5,
        sample_size: int | None = 200_000,
        n_jobs: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.features = features
        self.categorical = categorical
        self.exclude = exclude
        self.special_codes = special_codes
        self.user_splits = user_splits
        self.trend = trend
        self.max_prebins = max_prebins
        self.objective = objective
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.min_bad_count = min_bad_count
        self.min_good_count = min_good_count
        self.cat_cutoff = cat_cutoff
        self.unseen = unseen
        self.auto_min_gain = auto_min_gain
        self.id_share = id_share
        self.sample_size = sample_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    # fitting ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> WOETransformer:
        """Bin every feature.

        Parameters
        ----------
        X : DataFrame (pandas or polars)
            Features.
        y : array-like
            Binary target (1 = bad).
        sample_weight : array-like, optional
            Row weights.

        Returns
        -------
        self

        Raises
        ------
        DataError
            Bad target, non-numeric text in a numeric column, or no usable feature.
        """
        options = _check_options(self)
        data = fit_data(X, y, sample_weight)
        frame, target, w = data.frame, data.y, data.weights
        specials = self.special_codes

        def codes_of(name: str) -> Sequence[Any]:
            codes = specials.get(name) if isinstance(specials, Mapping) else specials
            return list(codes) if codes is not None else []

        plan = plan_columns(
            frame,
            features=self.features,
            exclude=self.exclude or (),
            categorical=self.categorical or (),
            id_share=self.id_share,
            special_codes=codes_of,
        )
        dropped = plan.dropped
        trends = self.trend if isinstance(self.trend, Mapping) else {}
        splits = self.user_splits or {}

        def one(name: str) -> FeatureBinning | str:
            try:
                return fit_feature(
                    name,
                    plan.kinds[name],
                    plan.values[name],
                    target,
                    w,
                    options,
                    special_codes=list(codes_of(name)),
                    user_splits=list(splits[name]) if name in splits else None,
                    trend=trends.get(name),
                )
            except DataError as exc:
                return exc.message

        names = list(plan.kinds)
        jobs = self.n_jobs or 1
        if jobs > 1 and len(names) > 1:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                results = list(pool.map(one, names))
        else:
            results = [one(name) for name in names]
        binnings: dict[str, FeatureBinning] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, str):
                dropped[name] = result
            else:
                binnings[name] = result
        if not binnings:
            listing = "; ".join(f"{k}: {v}" for k, v in dropped.items()) or "no columns"
            raise DataError(f"no usable feature to bin ({listing})")
        self.binnings_ = binnings
        self.features_ = list(self.binnings_)
        self.dropped_ = dropped
        self.iv_ = pd.Series(
            {name: fb.iv for name, fb in self.binnings_.items()}, name="iv", dtype=float
        )
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.width
        return self

    # using --------------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "binnings_")

    def transform(self, X: Any, metric: str = "woe") -> pd.DataFrame:
        """WOE of every kept feature (or ``index``, ``event_rate``, ``label``)."""
        frame = input_frame(self, X)
        binnings = self.binnings_
        data = {
            name: _transform_one(fb, column_values(frame, name, fb.dtype), metric)
            for name, fb in binnings.items()
        }
        return output_frame(data, X)

    def binning_table(self, feature: str) -> pd.DataFrame:
        """Count, event rate, WOE and IV per bin of one feature, with a totals row."""
        check_fitted(self)
        binnings = self.binnings_
        if feature not in binnings:
            raise KeyError(f"{feature!r} is not a binned feature; binned: {', '.join(binnings)}")
        table = binnings[feature].table
        assert table is not None
        return table.to_frame()

    def summary(self) -> pd.DataFrame:
        """One row per feature: kind, bins, trend, IV (highest IV first)."""
        check_fitted(self)
        binnings = self.binnings_
        rows = [
            {
                "feature": name,
                "dtype": fb.dtype,
                "n_bins": fb.n_regular,
                "trend": fb.trend,
                "iv": fb.iv,
            }
            for name, fb in binnings.items()
        ]
        return pd.DataFrame(rows).sort_values("iv", ascending=False, ignore_index=True)

    def set_splits(self, feature: str, splits: Sequence[Any] | None) -> WOETransformer:
        """Edit one feature's bins by hand (None: optimise again); call ``fit`` to apply."""
        edited = dict(self.user_splits or {})
        if splits is None:
            edited.pop(feature, None)
        else:
            edited[feature] = list(splits)
        self.user_splits = edited
        return self

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """Names of the output columns (the kept features)."""
        check_fitted(self)
        return np.asarray(list(self.binnings_), dtype=object)
