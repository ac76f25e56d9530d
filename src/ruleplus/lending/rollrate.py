"""Roll rates: how accounts move between delinquency buckets from one month to the next.

``counts[i][j]`` is the number of (account, month m) with bucket ``i`` at ``m`` and bucket ``j``
at ``m + 1``, the calendar month after ``m`` (in the shared file's ``MONTHS_BALANCE``, where 0
is this month and -1 the month before, -3 -> -2). Only accounts observed in both months count:
an account with a gap in its history contributes no pair across the gap. ``rates`` divides each
row by its total (a bucket never left from has no rates: ``None``).

Besides the whole-portfolio matrix: one per cohort (the account's first month) and one per
month ``m`` (transitions ``m -> m + 1``); cure rates (delinquent bucket -> current) and flow
rates (bucket ``i`` -> ``i + 1``, the classic "flow" of a roll-rate waterfall).

Computed on the sorted arrays of :class:`~ruleplus.lending.status_data.StatusData` with one
``bincount`` per matrix family, rather than a join of the table with itself on
``(account, month + 1)``: the pairs are neighbouring rows once the rows are sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ruleplus.lending.delinquency import BUCKETS, CURRENT
from ruleplus.lending.status_data import StatusData

__all__ = ["RollRates", "normalise_rows", "roll_rates"]

_N = len(BUCKETS)
IntMatrix = NDArray[np.int64]


def normalise_rows(counts: IntMatrix) -> list[list[float] | None]:
    """Each row divided by its total; ``None`` for a row without observations."""
    out: list[list[float] | None] = []
    for row in np.asarray(counts, dtype=np.int64):
        total = int(row.sum())
        out.append(None if total == 0 else [int(v) / total for v in row])
    return out


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass(frozen=True)
class RollRates:
    """Bucket-to-bucket transition counts.

    Attributes
    ----------
    counts : ndarray of int64, shape (7, 7)
        Whole portfolio.
    cohorts : list
        Cohort labels, in order.
    by_cohort : ndarray of int64, shape (n_cohorts, 7, 7)
        One matrix per cohort.
    months : list
        Month labels ``m`` (transitions ``m -> m + 1``), in order.
    by_month : ndarray of int64, shape (n_months, 7, 7)
        One matrix per month.
    """

    counts: IntMatrix
    cohorts: list[int | str]
    by_cohort: NDArray[np.int64]
    months: list[int | str]
    by_month: NDArray[np.int64]

    @property
    def rates(self) -> list[list[float] | None]:
        """Rows of :attr:`counts` normalised."""
        return normalise_rows(self.counts)

    def cure_rates(self, counts: IntMatrix | None = None) -> dict[str, float | None]:
        """Share of each delinquent bucket back to ``current`` the next month."""
        c = self.counts if counts is None else counts
        return {BUCKETS[i]: _rate(int(c[i, CURRENT]), int(c[i].sum())) for i in range(1, _N)}

    def flow_rates(self, counts: IntMatrix | None = None) -> dict[str, float | None]:
        """Share of each bucket rolling to the next worse one (``current -> M1``, …,
        ``M5 -> M6+``); keyed ``"current->M1"``…"""
        c = self.counts if counts is None else counts
        return {
            f"{BUCKETS[i]}->{BUCKETS[i + 1]}": _rate(int(c[i, i + 1]), int(c[i].sum()))
            for i in range(_N - 1)
        }

    def to_dict(self, detail: bool = True) -> dict[str, Any]:
        """JSON form: ``buckets``, ``counts``, ``rates``, ``cure_rates``, ``flow_rates`` and,
        with ``detail``, ``by_cohort`` and ``by_month`` (counts, rates, cure and flow rates)."""
        out: dict[str, Any] = {
            "buckets": list(BUCKETS),
            "counts": self.counts.tolist(),
            "rates": self.rates,
            "transitions": int(self.counts.sum()),
            "cure_rates": self.cure_rates(),
            "flow_rates": self.flow_rates(),
        }
        if detail:
            out["by_cohort"] = [
                self._part("cohort", label, m)
                for label, m in zip(self.cohorts, self.by_cohort, strict=True)
            ]
            out["by_month"] = [
                self._part("month", label, m)
                for label, m in zip(self.months, self.by_month, strict=True)
            ]
        return out

    def _part(self, key: str, label: int | str, m: IntMatrix) -> dict[str, Any]:
        return {
            key: label,
            "transitions": int(m.sum()),
            "counts": m.tolist(),
            "rates": normalise_rows(m),
            "cure_rates": self.cure_rates(m),
            "flow_rates": self.flow_rates(m),
        }


def _matrices(group: NDArray[np.int64], cell: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    flat = np.bincount(group * (_N * _N) + cell, minlength=n * _N * _N)
    return flat.reshape(n, _N, _N).astype(np.int64)


def roll_rates(data: StatusData) -> RollRates:
    """Roll-rate matrices of an account-month table.

    Parameters
    ----------
    data : StatusData
        Read with :func:`~ruleplus.lending.status_data.read_status`.

    Returns
    -------
    RollRates
    """
    acc, month, bucket = data.account, data.month, data.bucket
    pair = (acc[1:] == acc[:-1]) & (month[1:] == month[:-1] + 1)
    src = np.flatnonzero(pair)
    cell = bucket[src].astype(np.int64) * _N + bucket[src + 1]
    counts = np.bincount(cell, minlength=_N * _N).reshape(_N, _N).astype(np.int64)

    cohort = data.first_month()[src]
    cohort_values, cohort_idx = np.unique(cohort, return_inverse=True)
    month_values, month_idx = np.unique(month[src], return_inverse=True)
    return RollRates(
        counts=counts,
        cohorts=[data.month_label(int(c)) for c in cohort_values],
        by_cohort=_matrices(cohort_idx.astype(np.int64), cell, cohort_values.size),
        months=[data.month_label(int(m)) for m in month_values],
        by_month=_matrices(month_idx.astype(np.int64), cell, month_values.size),
    )
