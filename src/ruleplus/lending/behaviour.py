"""Behaviour score: a scorecard on an account's own repayment history.

At an observation month ``as_of`` every account observed that month gets features from its
history up to and including ``as_of`` (:data:`FEATURES`) and, when the data reach that far, the
target "M3+ (60+ days past due) within the next ``horizon`` months": its worst bucket over the
observed months ``as_of + 1 … as_of + horizon`` is M3 or worse. Accounts not observed at all in
that window have no outcome and are left out.

:func:`fit_behaviour` stacks several observation months, fits a
:class:`~ruleplus.modeling.Scorecard` (the model factory: WOE binning, logistic regression,
points) on the earlier ones and validates it out of time on a later one whose feature months
come after every training outcome window, so no training label overlaps the test period. The
card exports as a strategy document (:meth:`~ruleplus.modeling.Scorecard.to_strategy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ruleplus.errors import DataError
from ruleplus.lending.delinquency import BUCKETS, bucket_index
from ruleplus.lending.status_data import StatusData

__all__ = [
    "FEATURES",
    "BehaviourModel",
    "behaviour_features",
    "behaviour_sample",
    "default_snapshots",
    "fit_behaviour",
]

#: Feature columns, in order.
FEATURES: tuple[str, ...] = (
    "bucket_now",
    "worst_3m",
    "worst_6m",
    "worst_12m",
    "delinquent_months_12m",
    "months_since_delinquent",
    "months_since_30dpd",
    "cures_12m",
    "cures_ever",
    "months_on_book",
)
_M3 = bucket_index("M3")


def _rows(data: StatusData) -> pl.DataFrame:
    acc, month, bucket = data.account, data.month, data.bucket
    prev_same = np.r_[False, (acc[1:] == acc[:-1]) & (month[1:] == month[:-1] + 1)]
    prev_bucket = np.r_[0, bucket[:-1]]
    cure = prev_same & (prev_bucket >= 1) & (bucket == 0)
    return pl.DataFrame({"a": acc, "m": month, "b": bucket.astype(np.int64), "cure": cure})


def behaviour_features(data: StatusData, as_of: int) -> pl.DataFrame:
    """Features of every account observed at ``as_of``, from its history up to ``as_of``.

    Parameters
    ----------
    data : StatusData
        Account-month statuses.
    as_of : int
        Observation month (as stored in ``data.month``).

    Returns
    -------
    polars.DataFrame
        ``account``, ``as_of`` and :data:`FEATURES` (bucket indices 0 = current … 6 = M6+;
        ``months_since_*`` null when it never happened).
    """
    return _features(data, as_of, _rows(data))


def _features(data: StatusData, as_of: int, rows: pl.DataFrame) -> pl.DataFrame:
    m, b = pl.col("m"), pl.col("b")
    history = rows.filter(m <= as_of)
    present = history.filter(m == as_of).select("a", bucket_now="b")

    def recent(k: int) -> pl.Expr:
        return m > as_of - k

    agg = history.group_by("a").agg(
        first=m.min(),
        worst_3m=b.filter(recent(3)).max(),
        worst_6m=b.filter(recent(6)).max(),
        worst_12m=b.filter(recent(12)).max(),
        delinquent_months_12m=((b >= 1) & recent(12)).sum(),
        last_delinquent=m.filter(b >= 1).max(),
        last_30dpd=m.filter(b >= 2).max(),
        cures_12m=(pl.col("cure") & recent(12)).sum(),
        cures_ever=pl.col("cure").sum(),
    )
    out = present.join(agg, on="a", how="left").sort("a")
    out = out.with_columns(
        months_since_delinquent=as_of - pl.col("last_delinquent"),
        months_since_30dpd=as_of - pl.col("last_30dpd"),
        months_on_book=as_of - pl.col("first"),
    )
    accounts = data.account_ids.gather(out.get_column("a").to_numpy())
    return out.select(
        pl.Series("account", accounts),
        pl.lit(as_of, dtype=pl.Int64).alias("as_of"),
        *[pl.col(name).cast(pl.Int64) for name in FEATURES],
    )


def _targets(rows: pl.DataFrame, as_of: int, horizon: int) -> pl.DataFrame:
    window = rows.filter((pl.col("m") > as_of) & (pl.col("m") <= as_of + horizon))
    return window.group_by("a").agg(bad=(pl.col("b").max() >= _M3).cast(pl.Int8))


def behaviour_sample(
    data: StatusData, snapshots: Sequence[int], horizon: int = 6, eligible_only: bool = True
) -> pl.DataFrame:
    """Features and target ``bad`` (M3+ within ``horizon`` months) at each snapshot, stacked.

    With ``eligible_only`` (the default) accounts already M3 or worse at the snapshot are left
    out: their outcome is known, and they would only inflate the AUC.

    Raises
    ------
    DataError
        A snapshot whose outcome window goes past the data's last month.
    """
    if horizon < 1:
        raise DataError("horizon must be at least one month", field="horizon")
    last = int(data.month.max()) if data.rows else 0
    rows = _rows(data)
    parts = []
    for as_of in snapshots:
        if as_of + horizon > last:
            raise DataError(
                f"snapshot {as_of} needs outcomes up to month {as_of + horizon}, but the data "
                f"end at {last}",
                field="snapshots",
            )
        feats = _features(data, as_of, rows)
        codes = rows.filter(pl.col("m") == as_of).sort("a").select("a")
        feats = feats.with_columns(a=codes.get_column("a"))
        target = _targets(rows, as_of, horizon)
        sample = feats.join(target, on="a", how="inner").drop("a")
        if eligible_only:
            sample = sample.filter(pl.col("bucket_now") < _M3)
        parts.append(sample)
    if not parts:
        raise DataError("no snapshots given", field="snapshots")
    return pl.concat(parts)


def default_snapshots(data: StatusData, horizon: int = 6) -> tuple[list[int], list[int]]:
    """Training and out-of-time test snapshots for ``data``.

    Test: the last month with a full outcome window (``last - horizon``). Training: every third
    month from ``test - horizon`` back (at most eight), so that each training outcome window
    ends no later than the test observation month.
    """
    last = int(data.month.max())
    first = int(data.month.min())
    test = last - horizon
    train = [test - horizon - 3 * k for k in range(8) if test - horizon - 3 * k >= first + 3]
    if not train:
        raise DataError(
            f"the data span {last - first + 1} months; an out-of-time behaviour score needs at "
            f"least {2 * horizon + 4}",
            field="month",
        )
    return sorted(train), [test]


@dataclass
class BehaviourModel:
    """A fitted behaviour scorecard and its out-of-time validation.

    Attributes
    ----------
    scorecard : ruleplus.modeling.Scorecard
        The fitted card (features :data:`FEATURES`).
    horizon : int
        Outcome window in months.
    train_snapshots, test_snapshots : list of int
        Observation months used.
    metrics : dict
        ``train`` and ``test`` (out of time) summary metrics (``auc``, ``gini``, ``ks``,
        ``n``, ``bad_rate``).
    """

    scorecard: Any
    horizon: int
    train_snapshots: list[int]
    test_snapshots: list[int]
    metrics: dict[str, Any] = field(default_factory=dict)

    def score(self, data: StatusData, as_of: int | None = None) -> pl.DataFrame:
        """``account``, ``score`` and ``probability`` (of M3+ within the horizon) of every
        account observed at ``as_of`` (default: the last month)."""
        month = int(data.month.max()) if as_of is None else as_of
        feats = behaviour_features(data, month)
        x = feats.select(FEATURES)
        return pl.DataFrame(
            {
                "account": feats.get_column("account"),
                "score": self.scorecard.predict_score(x),
                "probability": self.scorecard.predict_proba(x)[:, 1],
            }
        )

    def strategy(self, strategy_id: str = "behaviour_score", version: str = "1") -> dict[str, Any]:
        """The card as a strategy document (inputs :data:`FEATURES`; outputs ``score``,
        ``probability``)."""
        doc: dict[str, Any] = self.scorecard.to_strategy(strategy_id, version)
        doc["title"] = f"Behaviour score: M3+ within {self.horizon} months"
        return doc

    def to_dict(self) -> dict[str, Any]:
        """JSON summary: horizon, snapshots, metrics, features kept."""
        return {
            "target": f"worst bucket >= {BUCKETS[_M3]} within {self.horizon} months",
            "horizon": self.horizon,
            "train_snapshots": self.train_snapshots,
            "test_snapshots": self.test_snapshots,
            "features": list(self.scorecard.features_),
            "metrics": self.metrics,
        }


def fit_behaviour(
    data: StatusData,
    *,
    horizon: int = 6,
    train_snapshots: Sequence[int] | None = None,
    test_snapshots: Sequence[int] | None = None,
    scorecard: Any = None,
) -> BehaviourModel:
    """Fit and validate (out of time) a behaviour scorecard.

    Parameters
    ----------
    data : StatusData
        Account-month statuses.
    horizon : int, default=6
        Months of the outcome window.
    train_snapshots, test_snapshots : sequence of int, optional
        Observation months (default: :func:`default_snapshots`). Every training outcome
        window must end by the first test observation month.
    scorecard : ruleplus.modeling.Scorecard, optional
        Unfitted card (default ``Scorecard(selector="default", check_signs=True)``).

    Raises
    ------
    DataError
        Overlapping windows, a snapshot past the data, or a part with one class only.
    """
    from ruleplus.modeling import Scorecard, summary_metrics

    if train_snapshots is None or test_snapshots is None:
        train_default, test_default = default_snapshots(data, horizon)
        train_snapshots = train_snapshots or train_default
        test_snapshots = test_snapshots or test_default
    train_s, test_s = sorted(train_snapshots), sorted(test_snapshots)
    if train_s[-1] + horizon > test_s[0]:
        raise DataError(
            f"training snapshot {train_s[-1]} has outcomes up to {train_s[-1] + horizon}, after "
            f"the first test snapshot {test_s[0]}: not out of time",
            field="snapshots",
        )
    parts = {}
    for name, snaps in (("train", train_s), ("test", test_s)):
        sample = behaviour_sample(data, snaps, horizon)
        y = sample.get_column("bad").to_numpy()
        if y.size == 0 or y.min() == y.max():
            raise DataError(f"the {name} sample holds a single class", field="snapshots")
        parts[name] = (sample.select(FEATURES), y)
    card = scorecard if scorecard is not None else Scorecard(selector="default", check_signs=True)
    card.fit(*parts["train"])
    metrics = {
        name: summary_metrics(y, card.predict_proba(x)[:, 1]) for name, (x, y) in parts.items()
    }
    return BehaviourModel(card, horizon, train_s, test_s, metrics)
