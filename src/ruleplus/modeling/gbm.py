# ruff: noqa: N803  (scikit-learn / maths naming: X, C, matrices)
"""Gradient boosting (LightGBM) for credit risk: monotone constraints, early stopping, OOT.

A thin estimator over ``lightgbm.train`` that does what a credit modeller otherwise writes by
hand around it:

* **validation split for early stopping**: the latest ``validation_fraction`` of the rows by
  ``time_col`` when one is given (out-of-time), else a stratified random split; training stops
  when the validation AUC has not improved for ``early_stopping_rounds`` rounds and the booster
  is cut to the best iteration, so the saved model and ``predict_proba`` agree;
* **monotone constraints**: a dict feature -> +1 (risk grows with the value) / -1 / 0, or
  ``"auto"``: the trend that the optimal binning finds (ascending +1, descending -1, peak or
  valley 0);
* **categories** as integer codes (most frequent first; missing and unseen are missing), which
  LightGBM splits natively and which the exported ``model`` node rebuilds with an expression, so
  that the engine reproduces ``predict_proba``;
* bad input refused with the column named, identifier-like and date columns left out
  (``dropped_``), feature names made identifiers (``a-b`` -> ``a_b``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import Tags

from ruleplus.modeling._contract import binary_tags, check_fitted, fit_data, input_frame
from ruleplus.modeling._data import ColumnPlan, column_values, plan_columns, value_type
from ruleplus.modeling._errors import DataError
from ruleplus.modeling._naming import field_names
from ruleplus.modeling.binning import BinningOptions, fit_feature
from ruleplus.modeling.export import gbm_node, gbm_strategy

__all__ = ["GBMClassifier", "time_split"]

FloatArray = NDArray[np.float64]


def time_split(times: Any, fraction: float) -> NDArray[np.bool_]:
    """Mask of the latest ``fraction`` of rows by time (ties go to the later side)."""
    t = pl.Series(times)
    if t.null_count():
        raise DataError("the time column has missing values; fill or drop those rows")
    ranks = t.rank(method="min").to_numpy().astype(np.float64)
    cut = np.quantile(ranks, 1.0 - fraction)
    return np.asarray(ranks >= cut)


class GBMClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """LightGBM binary classifier with credit-risk defaults.

    Parameters
    ----------
    n_estimators : int, default=2000
        Most boosting rounds (early stopping usually ends sooner).
    learning_rate : float, default=0.03
        Shrinkage.
    num_leaves : int, default=15
        Leaves per tree.
    max_depth : int, default=-1
        Depth limit (-1: none).
    min_child_samples : int, default=100
        Fewest rows in a leaf.
    subsample : float, default=0.8
        Row share per round (bagging).
    colsample_bytree : float, default=0.8
        Feature share per tree.
    reg_lambda : float, default=5.0
        L2 regularisation.
    reg_alpha : float, default=0.0
        L1 regularisation.
    monotone_constraints : dict, "auto" or None, default=None
        Feature -> +1 / -1 / 0, or ``auto`` (from the optimal binning's trend).
    early_stopping_rounds : int, default=100
        Rounds without validation improvement before stopping (0: no early stopping).
    validation_fraction : float, default=0.2
        Share of the training rows held out for early stopping.
    time_col : str, optional
        Date column: the validation rows are the latest ones (out-of-time).
    refit : bool, default=True
        After early stopping, train the final model on all the rows (held-out ones included)
        for the best number of rounds scaled by ``1 / (1 - validation_fraction)``.
    categorical : list of str, optional
        Columns treated as categories even when they hold numbers.
    exclude : list of str, optional
        Columns never used.
    random_state : int, default=0
        Seed of the split and of LightGBM.
    n_jobs : int, optional
        LightGBM threads (default: the cores this process may use; LightGBM's own default can
        oversubscribe a container's CPUs and run ten times slower).

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted booster, cut to the best iteration.
    features_ : list of str
        Columns used, in model order.
    model_features_ : list of str
        Their names inside the model (identifiers).
    categories_ : dict of str to list
        Categories of each categorical feature (code = position).
    monotone_constraints_ : dict of str to int
        Constraint applied to each feature.
    best_iteration_ : int
        Rounds kept.
    validation_auc_ : float or None
        AUC on the early-stopping rows.
    dropped_ : dict of str to str
        Columns left out and why.
    feature_importances_ : ndarray
        Total gain per feature.
    classes_ : ndarray
        The labels ``[good, bad]`` (``[0, 1]`` for a 0/1 target): column 1 of
        :meth:`predict_proba` is the probability of bad (see :class:`Scorecard`).
    feature_names_in_ : ndarray
        Columns seen in ``fit`` (``x0``, ``x1``… for an array).
    n_features_in_ : int
        Their number.
    """

    def __init__(
        self,
        n_estimators: int = 2000,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        max_depth: int = -1,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 5.0,
        reg_alpha: float = 0.0,
        monotone_constraints: Mapping[str, int] | str | None = None,
        early_stopping_rounds: int = 100,
        validation_fraction: float = 0.2,
        time_col: str | None = None,
        refit: bool = True,
        categorical: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        random_state: int | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.monotone_constraints = monotone_constraints
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.time_col = time_col
        self.refit = refit
        self.categorical = categorical
        self.exclude = exclude
        self.random_state = random_state
        self.n_jobs = n_jobs

    # preparation --------------------------------------------------------------------------
    def _matrix(self, frame: pl.DataFrame) -> FloatArray:
        columns = []
        for name in self.features_:
            cats = self.categories_.get(name)
            if cats is None:
                columns.append(column_values(frame, name, "numeric"))
            else:
                values = column_values(frame, name, "categorical")
                lookup = {c: float(i) for i, c in enumerate(cats)}
                columns.append(
                    np.fromiter(
                        (lookup.get(v, np.nan) if v is not None else np.nan for v in values),
                        dtype=np.float64,
                        count=values.shape[0],
                    )
                )
        return np.ascontiguousarray(np.column_stack(columns), dtype=np.float64)

    def _constraints(self, plan: ColumnPlan, y: NDArray[Any], w: FloatArray) -> dict[str, int]:
        spec = self.monotone_constraints
        if spec is None:
            return {}
        if spec == "auto":
            out = {}
            options = BinningOptions(trend="auto")
            for name, kind in plan.kinds.items():
                if kind != "numeric":
                    continue
                try:
                    fb = fit_feature(name, "numeric", plan.values[name], y, w, options)
                except DataError:
                    continue
                if fb.iv >= 0.02:
                    out[name] = {"ascending": 1, "descending": -1}.get(fb.trend, 0)
            return out
        if isinstance(spec, str):
            raise ValueError("monotone_constraints must be a dict, 'auto' or None")
        for name, value in spec.items():
            if value not in (-1, 0, 1):
                raise ValueError(f"monotone constraint of {name!r} must be -1, 0 or 1")
        return {k: int(v) for k, v in spec.items()}

    # fitting ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GBMClassifier:
        """Fit with early stopping on a held-out (or out-of-time) part of ``X``.

        Parameters
        ----------
        X : DataFrame (pandas or polars)
            Features (and ``time_col`` when given).
        y : array-like
            Binary target (1 = bad).
        sample_weight : array-like, optional
            Row weights.

        Returns
        -------
        self
        """
        import lightgbm as lgb

        data = fit_data(X, y, sample_weight)
        frame, target, w = data.frame, data.y, data.weights
        if self.time_col is not None and self.time_col not in frame.columns:
            raise DataError(f"time column {self.time_col!r} is missing", column=self.time_col)
        plan = plan_columns(
            frame,
            exclude=[*(self.exclude or ()), *([self.time_col] if self.time_col else [])],
            categorical=self.categorical or (),
        )
        dropped = plan.dropped
        if not plan.kinds:
            raise DataError(
                "no usable feature column: " + "; ".join(f"{k}: {v}" for k, v in dropped.items())
            )
        self.features_ = list(plan.kinds)
        self.dropped_ = dropped
        self.categories_: dict[str, list[Any]] = {}
        for name, kind in plan.kinds.items():
            if kind == "categorical":
                values = plan.values[name]
                present = values[values != None]  # noqa: E711 - elementwise
                uniq, counts = np.unique(present.astype(str), return_counts=True)
                by_text = {str(v): v for v in present}
                order = sorted(zip(uniq, counts, strict=True), key=lambda t: (-t[1], t[0]))
                self.categories_[name] = [by_text[u] for u, _ in order]
        names = field_names(self.features_)
        self.input_names_ = names
        self.model_features_ = [names[f] for f in self.features_]
        self.input_types_ = {
            f: ("number" if k == "numeric" else value_type(self.categories_[f]))
            for f, k in plan.kinds.items()
        }
        matrix = self._matrix(frame)
        self.monotone_constraints_ = self._constraints(plan, target, w)
        params: dict[str, Any] = {
            "objective": "binary",
            "metric": "auc",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1.0 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "lambda_l1": self.reg_alpha,
            "seed": self.random_state or 0,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        params["num_threads"] = self.n_jobs or _usable_cores()
        if self.monotone_constraints_:
            params["monotone_constraints"] = [
                self.monotone_constraints_.get(f, 0) for f in self.features_
            ]
            params["monotone_constraints_method"] = "advanced"
        cat_idx = [i for i, f in enumerate(self.features_) if f in self.categories_]
        stop = self.early_stopping_rounds > 0 and 0 < self.validation_fraction < 1
        if stop:
            if self.time_col is not None:
                valid = time_split(frame.get_column(self.time_col), self.validation_fraction)
            else:
                from sklearn.model_selection import train_test_split

                idx = np.arange(frame.height)
                _, vi = train_test_split(
                    idx,
                    test_size=self.validation_fraction,
                    stratify=target,
                    random_state=self.random_state,
                )
                valid = np.zeros(frame.height, dtype=bool)
                valid[vi] = True
            if (
                target[valid].min() == target[valid].max()
                or target[~valid].min() == target[~valid].max()
            ):
                raise DataError("the early-stopping split holds a single class; add rows")
            train_set = lgb.Dataset(
                matrix[~valid],
                target[~valid],
                weight=w[~valid],
                feature_name=self.model_features_,
                categorical_feature=cat_idx,
                free_raw_data=True,
            )
            valid_set = lgb.Dataset(
                matrix[valid], target[valid], weight=w[valid], reference=train_set
            )
            evals: dict[str, Any] = {}
            booster = lgb.train(
                params,
                train_set,
                num_boost_round=self.n_estimators,
                valid_sets=[valid_set],
                valid_names=["validation"],
                callbacks=[
                    lgb.early_stopping(self.early_stopping_rounds, verbose=False),
                    lgb.record_evaluation(evals),
                ],
            )
            best = int(booster.best_iteration) or self.n_estimators
            history = evals.get("validation", {}).get("auc", [])
            self.validation_auc_: float | None = float(history[best - 1]) if history else None
            if self.refit:
                # the held-out rows join the training for the final model, with the rounds
                # scaled to the larger sample
                best = max(1, round(best / (1.0 - self.validation_fraction)))
                full = lgb.Dataset(
                    matrix,
                    target,
                    weight=w,
                    feature_name=self.model_features_,
                    categorical_feature=cat_idx,
                )
                booster = lgb.train(params, full, num_boost_round=best)
        else:
            train_set = lgb.Dataset(
                matrix,
                target,
                weight=w,
                feature_name=self.model_features_,
                categorical_feature=cat_idx,
            )
            booster = lgb.train(params, train_set, num_boost_round=self.n_estimators)
            best = self.n_estimators
            self.validation_auc_ = None
        final = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.best_iteration_ = best
        self.feature_importances_ = np.asarray(
            final.feature_importance(importance_type="gain"), dtype=np.float64
        )
        self.booster_ = final
        self.classes_ = data.classes
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.width
        return self

    def __sklearn_tags__(self) -> Tags:
        return binary_tags(super().__sklearn_tags__())

    # using --------------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "booster_")

    def predict_proba(self, X: Any) -> FloatArray:
        """Probability of good (column 0) and bad (column 1)."""
        frame = input_frame(self, X)
        p = np.asarray(self.booster_.predict(self._matrix(frame)), dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> NDArray[Any]:
        """The bad label (``classes_[1]``) where the probability of bad is above one half, else
        the good one."""
        bad = self.predict_proba(X)[:, 1] > 0.5
        return np.asarray(self.classes_[bad.astype(np.intp)])

    def save_model(self, path: str | Path) -> Path:
        """Write the LightGBM text model (what the engine's ``model`` node loads)."""
        check_fitted(self)
        out = Path(path)
        out.write_text(self.booster_.model_to_string(), encoding="utf-8")
        return out

    def to_node(self, artifact: str = "model.txt", node_id: str = "gbm") -> dict[str, Any]:
        """The ruleplus ``model`` node (see :func:`ruleplus.modeling.export.gbm_node`)."""
        check_fitted(self)
        return gbm_node(self, artifact=artifact, node_id=node_id)

    def to_strategy(self, artifact: str = "model.txt", strategy_id: str = "gbm") -> dict[str, Any]:
        """A complete strategy document holding the node."""
        check_fitted(self)
        return gbm_strategy(self, artifact=artifact, strategy_id=strategy_id)


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
