# ruff: noqa: N803  (scikit-learn / maths naming: X, C, matrices)
"""Points scorecard: logistic regression on WOE, scaled by PDO / base odds / base score.

The model: ``logit P(bad) = a + sum_j b_j * WOE_j`` (WOE = ln(good share / bad share), so a
safer bin has a larger WOE and each ``b_j`` should be negative). Scaled the usual way::

    factor = pdo / ln 2
    offset = base_score - factor * ln(base_odds)          # base_odds = good : bad
    score  = offset + factor * ln(odds of good)
           = (offset - factor * a) + sum_j (-factor * b_j * WOE_j)
             \\_______ base points _/       \\__ points of the bin __/

so every bin carries its points and the score is their sum plus the base points; the score
gives back the probability: ``P(bad) = 1 / (1 + exp((score - offset) / factor))``. With
``round_points`` the points are rounded to whole numbers (the score then approximates it).

Reason codes follow the engine's ``scorecard`` node: characteristics ranked by points lost
against their maximum attainable points (the adverse-action method), ties in characteristic
order, only those that lost points. Exports (a ruleplus ``scorecard`` node inside a strategy,
SQL, PMML) live in :mod:`ruleplus.modeling.export` and score exactly like :meth:`predict_score`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Tags
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from ruleplus.modeling._contract import binary_tags, check_fitted, fit_data, input_frame
from ruleplus.modeling._data import output_frame
from ruleplus.modeling.binning import FeatureBinning, WOETransformer
from ruleplus.modeling.export import (
    scorecard_node,
    scorecard_pmml,
    scorecard_sql,
    scorecard_strategy,
)
from ruleplus.modeling.selection import FeatureSelector

__all__ = ["Scorecard"]

FloatArray = NDArray[np.float64]


class Scorecard(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """WOE binning + feature selection + logistic regression, scaled to points.

    Parameters
    ----------
    binner : WOETransformer, optional
        The binning (cloned in ``fit``); default ``WOETransformer()``.
    selector : FeatureSelector, "default" or None, default=None
        Feature selection on the WOE columns (cloned); ``"default"``:
        ``FeatureSelector()`` (IV >= 0.02, correlation <= 0.8); None: keep every feature
        (the most discriminating choice; select for a shorter, more stable card).
    C : float, default=1.0
        Inverse L2 regularisation of the logistic regression.
    check_signs : bool, default=False
        Drop, one at a time, features whose coefficient has the wrong sign (points that grow
        with risk, usually through correlation) and refit.
    pdo : float, default=20.0
        Points to double the odds.
    base_odds : float, default=50.0
        Good:bad odds at ``base_score``.
    base_score : float, default=600.0
        Score at ``base_odds``.
    round_points : bool, default=False
        Round base and bin points to whole numbers.
    reasons_top : int, default=4
        Reason codes returned per applicant.
    max_iter : int, default=200
        Iterations of the logistic regression solver.

    Attributes
    ----------
    woe_ : WOETransformer
        The fitted binning.
    selector_ : FeatureSelector or None
        The fitted selection.
    features_ : list of str
        Characteristics of the scorecard, in order.
    estimator_ : LogisticRegression
        The fitted regression on the WOE of ``features_``.
    coef_ : ndarray
        Coefficients (one per feature).
    intercept_ : float
        Intercept.
    factor_, offset_ : float
        Scaling constants.
    base_points_ : float
        Points every applicant starts with.
    points_by_bin_ : dict of str to ndarray
        Points of every bin (regular, special, missing) per characteristic.
    unseen_points_ : dict of str to float
        Points of a category not seen in training.
    input_types_ : dict of str to str
        Strategy input type of each characteristic's column (``number``, ``string``,
        ``boolean``).
    classes_ : ndarray
        The labels ``[good, bad]`` (``[0, 1]`` for a 0/1 target): column 1 of
        :meth:`predict_proba` is the probability of bad. Which label is bad: 1 / True, a text
        label meaning bad (``bad``, ``default``, ``yes``…), else the greater one.
    n_iter_ : int
        Iterations of the logistic regression solver.
    feature_names_in_ : ndarray
        Columns seen in ``fit`` (``x0``, ``x1``… for an array).
    n_features_in_ : int
        Their number.
    """

    def __init__(
        self,
        binner: WOETransformer | None = None,
        selector: FeatureSelector | str | None = None,
        C: float = 1.0,
        check_signs: bool = False,
        pdo: float = 20.0,
        base_odds: float = 50.0,
        base_score: float = 600.0,
        round_points: bool = False,
        reasons_top: int = 4,
        max_iter: int = 200,
    ) -> None:
        self.binner = binner
        self.selector = selector
        self.C = C
        self.check_signs = check_signs
        self.pdo = pdo
        self.base_odds = base_odds
        self.base_score = base_score
        self.round_points = round_points
        self.reasons_top = reasons_top
        self.max_iter = max_iter

    # fitting ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Scorecard:
        """Bin, select, regress and scale.

        Parameters
        ----------
        X : DataFrame (pandas or polars)
            Applicant characteristics.
        y : array-like
            Binary target (1 = bad).
        sample_weight : array-like, optional
            Row weights.

        Returns
        -------
        self
        """
        if self.pdo <= 0 or self.base_odds <= 0:
            raise ValueError("pdo and base_odds must be positive")
        data = fit_data(X, y, sample_weight)
        frame, target, w = data.frame, data.y, data.weights
        binner = clone(self.binner) if self.binner is not None else WOETransformer()
        self.woe_ = binner.fit(frame, target, sample_weight=w)
        woe = self.woe_.transform(frame)
        if self.selector is None or self.selector == "passthrough":
            self.selector_ = None
            features = list(woe.columns)
        else:
            selector = FeatureSelector() if self.selector == "default" else clone(self.selector)
            self.selector_ = selector.fit(woe, target, sample_weight=w)
            features = list(self.selector_.selected_)
        self.dropped_signs_: list[str] = []
        with threadpool_limits(limits=1, user_api="blas"):
            model, features = self._regress(woe, target, w, features)
        self.estimator_ = model
        self.features_ = features
        self.input_types_ = {name: self.woe_.binnings_[name].input_type() for name in features}
        self.coef_ = model.coef_[0].copy()
        self.intercept_ = float(model.intercept_[0])
        self.n_iter_ = int(np.max(model.n_iter_))
        self.classes_ = data.classes
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.width
        self._scale()
        return self

    def _regress(
        self, woe: pd.DataFrame, target: NDArray[np.int8], w: FloatArray, features: list[str]
    ) -> tuple[LogisticRegression, list[str]]:
        """Logistic regression on the WOE columns (one BLAS thread: the problem is small, and
        threads waiting on a busy machine cost more than they give)."""
        while True:
            model = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=self.max_iter)
            model.fit(woe[features].to_numpy(), target, sample_weight=w)
            coef = model.coef_[0]
            wrong = [i for i, c in enumerate(coef) if c > 0]
            if not self.check_signs or not wrong or len(features) == 1:
                return model, features
            worst = max(wrong, key=lambda i: coef[i])
            self.dropped_signs_.append(features.pop(worst))

    def _scale(self) -> None:
        factor = self.pdo / math.log(2.0)
        offset = self.base_score - factor * math.log(self.base_odds)
        base = offset - factor * self.intercept_
        points: dict[str, FloatArray] = {}
        unseen: dict[str, float] = {}
        for name, b in zip(self.features_, self.coef_, strict=True):
            fb = self.woe_.binnings_[name]
            points[name] = -factor * float(b) * fb.woe
            unseen[name] = -factor * float(b) * fb.unseen_woe()
        if self.round_points:
            base = float(round(base))
            points = {k: np.round(v) for k, v in points.items()}
            unseen = {k: float(round(v)) for k, v in unseen.items()}
        self.factor_ = factor
        self.offset_ = offset
        self.base_points_ = float(base)
        self.points_by_bin_ = points
        self.unseen_points_ = unseen

    def __sklearn_tags__(self) -> Tags:
        return binary_tags(super().__sklearn_tags__())

    # using --------------------------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "points_by_bin_")

    def _woe(self, X: Any, metric: str = "woe") -> pd.DataFrame:
        """The binning's output for the characteristics (index of a pandas ``X`` kept)."""
        frame = input_frame(self, X)
        out = self.woe_.transform(frame, metric=metric)[self.features_]
        return output_frame({c: out[c].to_numpy() for c in out.columns}, X)

    @property
    def binnings(self) -> dict[str, FeatureBinning]:
        """Fitted binning of each characteristic, in scorecard order."""
        check_fitted(self)
        return {name: self.woe_.binnings_[name] for name in self.features_}

    def max_points(self) -> dict[str, float]:
        """Largest points each characteristic can give (bins, specials, missing, unseen)."""
        check_fitted(self)
        out = {}
        for name in self.features_:
            pts = self.points_by_bin_[name]
            fb = self.woe_.binnings_[name]
            other = self.unseen_points_[name] if fb.dtype == "categorical" else float(pts.min())
            out[name] = float(max(pts.max(), other))
        return out

    def predict_proba(self, X: Any) -> FloatArray:
        """Probability of good (column 0) and bad (column 1)."""
        woe = self._woe(X).to_numpy()
        return np.asarray(self.estimator_.predict_proba(woe), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        """The bad label (``classes_[1]``) where the probability of bad is above one half, else
        the good one."""
        bad = self.predict_proba(X)[:, 1] > 0.5
        return np.asarray(self.classes_[bad.astype(np.intp)])

    def decision_function(self, X: Any) -> FloatArray:
        """Log-odds of bad."""
        woe = self._woe(X).to_numpy()
        return np.asarray(self.estimator_.decision_function(woe), dtype=np.float64)

    def points(self, X: Any) -> pd.DataFrame:
        """Points of each characteristic for each row."""
        if any(self.woe_.binnings_[n].unseen == "error" for n in self.features_):
            self._woe(X)  # refuses an unseen category, naming the column
        index = self._woe(X, metric="index")
        data = {}
        for name in self.features_:
            idx = index[name].to_numpy()
            pts = self.points_by_bin_[name]
            values = pts[np.maximum(idx, 0)]
            values = np.where(idx < 0, self.unseen_points_[name], values)
            data[name] = values
        return pd.DataFrame(data, index=index.index)

    def predict_score(self, X: Any) -> FloatArray:
        """Total points of each row (base points plus each characteristic's, in order)."""
        pts = self.points(X)
        total = np.full(len(pts), self.base_points_)
        for name in self.features_:
            total = total + pts[name].to_numpy()
        return total

    def score_to_proba(self, score: Any) -> FloatArray:
        """Probability of bad implied by a score."""
        check_fitted(self)
        s = np.asarray(score, dtype=np.float64)
        return np.asarray(1.0 / (1.0 + np.exp((s - self.offset_) / self.factor_)))

    def reason_codes(self, X: Any, top: int | None = None) -> list[list[str]]:
        """Characteristics that cost each applicant most points, most first.

        Parameters
        ----------
        X : DataFrame
            Applicants.
        top : int, optional
            How many; default ``reasons_top``.
        """
        pts = self.points(X)
        k = self.reasons_top if top is None else top
        best = self.max_points()
        lost = np.column_stack([best[n] - pts[n].to_numpy() for n in self.features_])
        order = np.argsort(-lost, axis=1, kind="stable")[:, :k]
        picked = np.take_along_axis(lost, order, axis=1)
        names = np.asarray(self.features_, dtype=object)
        return [
            [str(names[j]) for j, v in zip(row, vals, strict=True) if v > 0]
            for row, vals in zip(order, picked, strict=True)
        ]

    def table(self) -> pd.DataFrame:
        """The points table: characteristic, bin, WOE, coefficient and points."""
        check_fitted(self)
        rows = []
        for name, b in zip(self.features_, self.coef_, strict=True):
            fb = self.woe_.binnings_[name]
            assert fb.table is not None
            for label, kind, woe, count, rate, pts in zip(
                fb.labels(),
                fb.kinds(),
                fb.woe,
                fb.table.totals,
                fb.table.event_rate,
                self.points_by_bin_[name],
                strict=True,
            ):
                rows.append(
                    {
                        "characteristic": name,
                        "bin": label,
                        "kind": kind,
                        "count": count,
                        "event_rate": rate,
                        "woe": woe,
                        "coefficient": float(b),
                        "points": float(pts),
                    }
                )
            if fb.dtype == "categorical":
                rows.append(
                    {
                        "characteristic": name,
                        "bin": f"unseen ({fb.unseen})",
                        "kind": "unseen",
                        "count": 0.0,
                        "event_rate": np.nan,
                        "woe": fb.unseen_woe(),
                        "coefficient": float(b),
                        "points": self.unseen_points_[name],
                    }
                )
        return pd.DataFrame(rows)

    # exports ------------------------------------------------------------------------------
    def to_node(self, node_id: str = "scorecard", output: str = "score") -> dict[str, Any]:
        """The ruleplus ``scorecard`` node (a dict; see :mod:`ruleplus.modeling.export`)."""
        check_fitted(self)
        return scorecard_node(self, node_id=node_id, output=output)

    def to_strategy(self, strategy_id: str = "scorecard", version: str = "1") -> dict[str, Any]:
        """A complete strategy document holding the node (loadable by ``compile_strategy``)."""
        check_fitted(self)
        return scorecard_strategy(self, strategy_id=strategy_id, version=version)

    def to_sql(self, table: str = "applications") -> str:
        """A SQL query scoring ``table`` (CASE expressions, ANSI quoting)."""
        check_fitted(self)
        return scorecard_sql(self, table=table)

    def to_pmml(self) -> str:
        """A PMML 4.4 ``Scorecard`` document."""
        check_fitted(self)
        return scorecard_pmml(self)
