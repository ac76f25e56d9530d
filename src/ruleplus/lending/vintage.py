"""Vintage curves: how each monthly cohort's delinquency grows with months on book.

An account's cohort is its first month; ``mob`` = month - cohort. The cell (cohort, mob)
counts ``accounts``, the cohort's accounts observed at that mob, and ``ever_30`` / ``ever_60``
/ ``ever_90``, the share of them whose worst status up to and including that mob is at least
30 / 60 / 90 days past due (codes >= 1 / >= 2 / >= 3: buckets M2 / M3 / M4 or worse). "Up to"
means over the account's observed months up to that mob.

The running worst status is a segmented cumulative maximum over the rows sorted by account
and month, done in one ``np.maximum.accumulate`` by adding to each bucket an offset that grows
with the account (an account's offset exceeds every earlier account's values, so the maximum
restarts at each account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ruleplus.lending.delinquency import BUCKETS, EVER_THRESHOLDS
from ruleplus.lending.status_data import StatusData

__all__ = ["VintageCell", "Vintages", "running_worst", "vintages"]


def running_worst(data: StatusData) -> NDArray[np.int64]:
    """Each row's worst bucket over its account's rows up to and including it."""
    step = len(BUCKETS)
    offset = data.account * step
    return np.maximum.accumulate(data.bucket.astype(np.int64) + offset) - offset


@dataclass(frozen=True)
class VintageCell:
    """One (cohort, mob) cell.

    Attributes
    ----------
    cohort : int or str
        First month of the cohort's accounts.
    mob : int
        Months on book.
    accounts : int
        Accounts of the cohort observed at this mob.
    ever : dict of str to int
        Of them, how many were ever 30+ / 60+ / 90+ days past due up to this mob.
    """

    cohort: int | str
    mob: int
    accounts: int
    ever: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """``cohort``, ``mob``, ``accounts``, ``ever_30``, ``ever_60``, ``ever_90`` (shares)."""
        out: dict[str, Any] = {"cohort": self.cohort, "mob": self.mob, "accounts": self.accounts}
        out.update({k: v / self.accounts for k, v in self.ever.items()})
        return out


@dataclass(frozen=True)
class Vintages:
    """Every (cohort, mob) cell with at least one account, by cohort then mob."""

    cells: list[VintageCell]

    def to_dict(self) -> dict[str, Any]:
        """``{"vintages": [cell, …]}``."""
        return {"vintages": [c.to_dict() for c in self.cells]}

    def curves(self, measure: str = "ever_30") -> dict[int | str, tuple[list[int], list[float]]]:
        """Per cohort: the mobs and the share ``measure`` at each."""
        out: dict[int | str, tuple[list[int], list[float]]] = {}
        for c in self.cells:
            mobs, shares = out.setdefault(c.cohort, ([], []))
            mobs.append(c.mob)
            shares.append(c.ever[measure] / c.accounts)
        return out


def vintages(data: StatusData) -> Vintages:
    """Vintage cells of an account-month table.

    Parameters
    ----------
    data : StatusData
        Read with :func:`~ruleplus.lending.status_data.read_status`.

    Returns
    -------
    Vintages
    """
    if not data.rows:
        return Vintages([])
    cohort = data.first_month()
    mob = data.month - cohort
    worst = running_worst(data)
    cohort_values, cohort_idx = np.unique(cohort, return_inverse=True)
    width = int(mob.max()) + 1
    key = cohort_idx.astype(np.int64) * width + mob
    size = cohort_values.size * width
    accounts = np.bincount(key, minlength=size)
    ever = {
        name: np.bincount(key[worst >= threshold], minlength=size)
        for name, threshold in EVER_THRESHOLDS.items()
    }
    cells = []
    for k in np.flatnonzero(accounts):
        c, m = divmod(int(k), width)
        cells.append(
            VintageCell(
                cohort=data.month_label(int(cohort_values[c])),
                mob=m,
                accounts=int(accounts[k]),
                ever={name: int(v[k]) for name, v in ever.items()},
            )
        )
    return Vintages(cells)
