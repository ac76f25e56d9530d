"""The binning table: count, event rate, WOE and IV per bin.

Conventions (those of Siddiqi and optbinning): WOE = ln(share of goods / share of bads), so a
positive WOE is a bin safer than average; IV = sum over bins of (good share - bad share) * WOE.
A bin holding no events or no non-events would have an infinite WOE: its counts get 0.5 added
to each class (the Haldane-Anscombe correction) for its WOE and IV; an empty bin has WOE 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["BinningTable", "woe_iv"]

FloatArray = NDArray[np.float64]


def woe_iv(
    events: FloatArray, totals: FloatArray, total_events: float, total_nonevents: float
) -> tuple[FloatArray, FloatArray]:
    """WOE and IV of each bin (see the module docstring for zero counts)."""
    e = np.asarray(events, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64) - e
    zero = (e <= 0) | (n <= 0)
    empty = (e <= 0) & (n <= 0)
    e_adj = np.where(zero & ~empty, e + 0.5, e)
    n_adj = np.where(zero & ~empty, n + 0.5, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = n_adj / total_nonevents
        bad = e_adj / total_events
        woe = np.where(empty, 0.0, np.log(good / bad))
        iv = np.where(empty, 0.0, (good - bad) * woe)
    return woe.astype(np.float64), iv.astype(np.float64)


@dataclass
class BinningTable:
    """Per-bin statistics of one feature.

    Attributes
    ----------
    feature : str
        Feature name.
    labels : list of str
        Bin label, e.g. ``[35.5, 52.5)``, ``"a", "b"``, ``special -9``, ``missing``.
    kinds : list of str
        ``bin``, ``special`` or ``missing`` per bin.
    events, totals : ndarray
        Weighted events (bads) and rows per bin.
    woe, iv : ndarray
        Weight of evidence and information value per bin.
    """

    feature: str
    labels: list[str]
    kinds: list[str]
    events: FloatArray
    totals: FloatArray
    woe: FloatArray
    iv: FloatArray

    @classmethod
    def build(
        cls,
        feature: str,
        labels: list[str],
        kinds: list[str],
        events: FloatArray,
        totals: FloatArray,
    ) -> BinningTable:
        """Compute WOE and IV from the counts."""
        total_e = float(np.sum(events))
        total_n = float(np.sum(totals) - total_e)
        woe, iv = woe_iv(events, totals, total_e, total_n)
        return cls(feature, labels, kinds, events, totals, woe, iv)

    @property
    def total_iv(self) -> float:
        """Information value of the feature."""
        return float(np.sum(self.iv))

    @property
    def event_rate(self) -> FloatArray:
        """Weighted share of events per bin (0 for an empty bin)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.totals > 0, self.events / self.totals, 0.0)

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame with a ``Totals`` row."""
        total = float(self.totals.sum())
        events = float(self.events.sum())
        frame = pd.DataFrame(
            {
                "bin": self.labels,
                "kind": self.kinds,
                "count": self.totals,
                "count_share": self.totals / total if total else self.totals,
                "non_event": self.totals - self.events,
                "event": self.events,
                "event_rate": self.event_rate,
                "woe": self.woe,
                "iv": self.iv,
            }
        )
        totals = pd.DataFrame(
            [
                {
                    "bin": "Totals",
                    "kind": "total",
                    "count": total,
                    "count_share": 1.0,
                    "non_event": total - events,
                    "event": events,
                    "event_rate": events / total if total else 0.0,
                    "woe": np.nan,
                    "iv": self.total_iv,
                }
            ]
        )
        return pd.concat([frame, totals], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "feature": self.feature,
            "labels": list(self.labels),
            "kinds": list(self.kinds),
            "events": self.events.tolist(),
            "totals": self.totals.tolist(),
            "woe": self.woe.tolist(),
            "iv": self.iv.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BinningTable:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["feature"]),
            [str(v) for v in data["labels"]],
            [str(v) for v in data["kinds"]],
            np.asarray(data["events"], dtype=np.float64),
            np.asarray(data["totals"], dtype=np.float64),
            np.asarray(data["woe"], dtype=np.float64),
            np.asarray(data["iv"], dtype=np.float64),
        )
