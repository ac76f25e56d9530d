# ruff: noqa: N803, N806  (scikit-learn / maths naming: X, C, matrices)
"""Feature selection on WOE columns: IV, correlation, VIF and stepwise logistic regression.

The selector works on the output of :class:`~ruleplus.modeling.WOETransformer` (one column per
feature, one distinct value per bin), so it computes each feature's IV itself from the
distinct WOE values and the target, and can sit in a ``Pipeline`` between the transformer and
the regression. Steps, in order, each optional:

1. IV: drop features with IV below ``min_iv``;
2. correlation: walking features by decreasing IV, drop one whose absolute (weighted) Pearson
   correlation with an already kept feature exceeds ``max_corr``;
3. VIF: repeatedly drop the feature with the largest variance inflation factor above
   ``max_vif`` (VIF_j is the j-th diagonal entry of the inverse correlation matrix);
4. stepwise: forward, backward or both, adding / removing the feature that most improves the
   AIC or BIC of a logistic regression (a small Newton solver: a few milliseconds per fit on
   compressed data).

``report_`` says for every feature whether it was kept and, if not, by which step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs

from ruleplus.modeling._contract import binary_tags, check_fitted, fit_data, input_frame
from ruleplus.modeling._data import as_frame, check_weights, numeric_column
from ruleplus.modeling._errors import DataError

__all__ = ["FeatureSelector", "information_value", "logit_fit"]

FloatArray = NDArray[np.float64]


def information_value(x: Any, y: Any, sample_weight: Any = None) -> float:
    """IV of a discrete column (each distinct value a bin), WOE = ln(good share / bad share)."""
    xv = np.asarray(x, dtype=np.float64).reshape(-1)
    yv = np.asarray(y, dtype=np.float64).reshape(-1)
    w = check_weights(sample_weight, xv.shape[0])
    weighted = w > 0  # a row of weight 0 is no row: it must not open a bin of its own
    xv, yv, w = xv[weighted], yv[weighted], w[weighted]
    _, inverse = np.unique(xv, return_inverse=True)
    bads = np.bincount(inverse, weights=w * yv)
    goods = np.bincount(inverse, weights=w * (1 - yv))
    b = (bads + np.where((bads == 0) | (goods == 0), 0.5, 0.0)) / bads.sum()
    g = (goods + np.where((bads == 0) | (goods == 0), 0.5, 0.0)) / goods.sum()
    return float(np.sum((g - b) * np.log(g / b)))


def logit_fit(
    X: FloatArray, y: FloatArray, w: FloatArray, C: float = 1e6, max_iter: int = 50
) -> tuple[FloatArray, float]:
    """Weighted logistic regression by Newton's method with an L2 penalty ``1/C`` (not on the
    intercept). Returns the coefficients (intercept last) and the log-likelihood."""
    n, p = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    beta = np.zeros(p + 1)
    ridge = np.full(p + 1, 1.0 / C)
    ridge[-1] = 0.0
    loglik = -np.inf
    for _ in range(max_iter):
        z = A @ beta
        prob = 1.0 / (1.0 + np.exp(-z))
        grad = A.T @ (w * (prob - y)) + ridge * beta
        hess = (A * (w * prob * (1 - prob))[:, None]).T @ A + np.diag(ridge)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta - step
        if np.max(np.abs(step)) < 1e-9:
            break
    z = A @ beta
    loglik = float(np.sum(w * (y * z - np.logaddexp(0.0, z))))
    return beta, loglik


def _compress(
    X: FloatArray, y: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Merge identical (row, label) pairs, adding their weights: WOE rows repeat a lot."""
    keys = np.hstack([X, y[:, None]])
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    weights = np.bincount(inverse.reshape(-1), weights=w, minlength=uniq.shape[0])
    return (
        np.asarray(uniq[:, :-1], dtype=np.float64),
        np.asarray(uniq[:, -1], dtype=np.float64),
        weights.astype(np.float64),
    )


class FeatureSelector(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Select WOE features by IV, correlation, VIF and stepwise regression.

    Parameters
    ----------
    min_iv : float or None, default=0.02
        Drop features with a lower IV ("unpredictive" below 0.02).
    max_corr : float or None, default=0.8
        Drop the lower-IV feature of a pair more correlated than this.
    max_vif : float or None, default=None
        Drop features with a larger variance inflation factor (e.g. 5 or 10).
    stepwise : {"forward", "backward", "both"} or None, default=None
        Stepwise selection by ``criterion``.
    criterion : {"aic", "bic"}, default="aic"
        Information criterion of the stepwise search.
    max_features : int or None, default=None
        Keep at most this many features (highest IV first, or stepwise order).

    Attributes
    ----------
    selected_ : list of str
        Kept features, in input order.
    iv_ : pandas.Series
        IV of every input feature.
    report_ : pandas.DataFrame
        Per feature: ``iv``, ``kept`` and ``dropped_by``.
    """

    def __init__(
        self,
        min_iv: float | None = 0.02,
        max_corr: float | None = 0.8,
        max_vif: float | None = None,
        stepwise: str | None = None,
        criterion: str = "aic",
        max_features: int | None = None,
    ) -> None:
        self.min_iv = min_iv
        self.max_corr = max_corr
        self.max_vif = max_vif
        self.stepwise = stepwise
        self.criterion = criterion
        self.max_features = max_features

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FeatureSelector:
        """Choose the features.

        Parameters
        ----------
        X : DataFrame
            WOE columns.
        y : array-like
            Binary target.
        sample_weight : array-like, optional
            Row weights.

        Returns
        -------
        self
        """
        if self.stepwise not in (None, "forward", "backward", "both"):
            raise ValueError("stepwise must be None, 'forward', 'backward' or 'both'")
        if self.criterion not in ("aic", "bic"):
            raise ValueError("criterion must be 'aic' or 'bic'")
        fit = fit_data(X, y, sample_weight, numeric=True)
        frame, target, w = fit.frame, fit.y.astype(np.float64), fit.weights
        names = list(frame.columns)
        data = _finite_matrix(frame)
        iv = {n: information_value(data[:, j], target, w) for j, n in enumerate(names)}
        reason: dict[str, str] = {}
        order = sorted(names, key=lambda n: -iv[n])
        kept = [n for n in order if self.min_iv is None or iv[n] >= self.min_iv]
        for n in order:
            if n not in kept:
                reason[n] = f"iv < {self.min_iv}"
        col = {n: j for j, n in enumerate(names)}
        if self.max_corr is not None and len(kept) > 1:
            corr = _corr(data[:, [col[n] for n in kept]], w)
            chosen: list[int] = []
            for i, n in enumerate(kept):
                clash = [j for j in chosen if abs(corr[i, j]) > self.max_corr]
                if clash:
                    reason[n] = f"corr {corr[i, clash[0]]:.2f} with {kept[clash[0]]}"
                else:
                    chosen.append(i)
            kept = [kept[i] for i in chosen]
        if self.max_vif is not None:
            while len(kept) > 1:
                vif = _vif(data[:, [col[n] for n in kept]], w)
                worst = int(np.argmax(vif))
                if vif[worst] <= self.max_vif:
                    break
                reason[kept[worst]] = f"vif {vif[worst]:.1f}"
                kept.pop(worst)
        if self.stepwise is not None and kept:
            with threadpool_limits(limits=1, user_api="blas"):  # many small solves
                kept = self._stepwise(data, col, kept, target, w, reason)
        if self.max_features is not None and len(kept) > self.max_features:
            for n in kept[self.max_features :]:
                reason[n] = f"beyond max_features={self.max_features}"
            kept = kept[: self.max_features]
        if not kept:
            raise DataError("feature selection kept no feature; relax min_iv / max_corr")
        keep = set(kept)
        self.selected_ = [n for n in names if n in keep]
        self.iv_ = pd.Series(iv, name="iv", dtype=float)
        self.report_ = pd.DataFrame(
            {
                "feature": names,
                "iv": [iv[n] for n in names],
                "kept": [n in keep for n in names],
                "dropped_by": [reason.get(n, "") if n not in keep else "" for n in names],
            }
        )
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        return self

    def _stepwise(
        self,
        data: FloatArray,
        col: dict[str, int],
        candidates: list[str],
        y: FloatArray,
        w: FloatArray,
        reason: dict[str, str],
    ) -> list[str]:
        n_obs = float(w.sum())
        penalty = 2.0 if self.criterion == "aic" else float(np.log(n_obs))

        def score(features: list[str]) -> float:
            if not features:
                rate = float(np.dot(w, y) / n_obs)
                ll = float(n_obs * (rate * np.log(rate) + (1 - rate) * np.log(1 - rate)))
                return -2.0 * ll + penalty
            X, yy, ww = _compress(data[:, [col[f] for f in features]], y, w)
            _, ll = logit_fit(X, yy, ww)
            return -2.0 * ll + penalty * (len(features) + 1)

        current = [] if self.stepwise in ("forward", "both") else list(candidates)
        best = score(current)
        improved = True
        while improved:
            improved = False
            moves: list[tuple[float, list[str]]] = []
            if self.stepwise in ("forward", "both"):
                moves += [
                    (score([*current, f]), [*current, f]) for f in candidates if f not in current
                ]
            if self.stepwise in ("backward", "both") and len(current) > 1:
                moves += [
                    (score([g for g in current if g != f]), [g for g in current if g != f])
                    for f in current
                ]
            if moves:
                value, chosen = min(moves, key=lambda m: m[0])
                if value < best - 1e-9:
                    best, current, improved = value, chosen, True
        for f in candidates:
            if f not in current:
                reason[f] = f"stepwise ({self.criterion})"
        return current

    def __sklearn_tags__(self) -> Tags:
        # WOE columns: numbers, never missing
        return binary_tags(super().__sklearn_tags__(), allow_nan=False, string=False)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "selected_")

    def transform(self, X: Any) -> pd.DataFrame:
        """Keep the selected columns (a pandas frame, whatever the input).

        Raises
        ------
        DataError
            A selected column is missing, or holds missing, infinite or non-numeric values.
        """
        check_fitted(self)
        selected = self.selected_
        if isinstance(X, pd.DataFrame):
            missing = [c for c in selected if c not in X.columns]
            if missing:
                raise DataError(
                    f"column {missing[0]!r} is missing from the data", column=missing[0]
                )
            kept = X[selected]
            _finite_matrix(as_frame(kept))
            return kept
        frame = input_frame(self, X, numeric=True).select(selected)
        _finite_matrix(frame)
        return frame.to_pandas()

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """Selected feature names."""
        check_fitted(self)
        return np.asarray(self.selected_, dtype=object)


def _finite_matrix(frame: pl.DataFrame) -> FloatArray:
    """The columns of ``frame`` as a float64 matrix; missing or infinite values refused."""
    if not frame.width:
        return np.zeros((frame.height, 0))
    data = np.column_stack([numeric_column(frame.get_column(c), c) for c in frame.columns])
    if not np.isfinite(data).all():
        bad = frame.columns[int(np.argmin(np.isfinite(data).all(axis=0)))]
        raise DataError(
            f"Input X contains NaN or infinity: column {bad!r} (WOE columns have neither)",
            column=bad,
        )
    return data


def _corr(data: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted Pearson correlation of the columns (0 with a constant column)."""
    share = w / w.sum()
    centred = data - share @ data
    std = np.sqrt(share @ centred**2)
    safe = np.where(std > 0, std, 1.0)
    z = centred / safe
    corr = (z.T * share) @ z
    corr[:, std == 0] = 0.0
    corr[std == 0, :] = 0.0
    return np.asarray(corr, dtype=np.float64)


def _vif(data: FloatArray, w: FloatArray) -> FloatArray:
    corr = _corr(data, w)
    np.fill_diagonal(corr, 1.0)
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(corr)
    return np.asarray(np.diag(inv), dtype=np.float64)
