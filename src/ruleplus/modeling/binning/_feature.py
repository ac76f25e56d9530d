"""The fitted binning of one feature, and the fitting of it from numpy columns.

:class:`FeatureBinning` is plain data (splits or category groups, special codes, the binning
table, the rule for unseen categories) with the two operations everything else needs: the bin
of each value and its WOE. Both estimators (:class:`~ruleplus.modeling.OptimalBinner` for one
feature, :class:`~ruleplus.modeling.WOETransformer` for a table) and the exports (scorecard node,
SQL, PMML) read it, so a bin means the same thing everywhere.

Bin order: the regular bins (by value, or by event rate for categories), then one bin per special
code in the order given, then the missing bin. Rules: a missing value (null / NaN) always goes to
the missing bin, a special code to its own bin (even one not seen in training: WOE 0), and an
unseen category follows ``unseen``: ``neutral`` (WOE 0, i.e. average risk), ``missing`` (the
missing bin's WOE), ``worst`` (the riskiest bin's WOE) or ``error`` (refuse).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ruleplus.modeling._data import special_masks, uninformative_reason, value_type
from ruleplus.modeling._errors import DataError
from ruleplus.modeling.binning._optimal import best_partition
from ruleplus.modeling.binning._prebin import prebin_categorical, prebin_numeric
from ruleplus.modeling.binning._table import BinningTable

__all__ = ["UNSEEN_RULES", "BinningOptions", "FeatureBinning", "fit_feature", "format_value"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
UnseenRule = Literal["neutral", "missing", "worst", "error"]
UNSEEN_RULES: tuple[str, ...] = ("neutral", "missing", "worst", "error")
_UNSEEN = -2


def format_value(value: Any) -> str:
    """A value as it is written in a rule cell: ``36``, ``0.535``, ``"own"``, ``true``."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


@dataclass
class BinningOptions:
    """Options of the optimal binning of one feature (see :class:`OptimalBinner`)."""

    max_prebins: int = 50
    trend: str = "auto"
    objective: str = "iv"
    max_bins: int | None = None
    min_bin_share: float | None = None
    min_bad_count: float = 1.0
    min_good_count: float = 1.0
    cat_cutoff: float | None = None
    unseen: str = "neutral"
    auto_min_gain: float = 0.1
    sample_size: int | None = 200_000
    seed: int = 0


@dataclass
class FeatureBinning:
    """Fitted binning of one feature.

    Attributes
    ----------
    name : str
        Feature (column) name.
    dtype : {"numeric", "categorical"}
        How the feature is binned.
    splits : list of float
        Numeric: increasing cut points; bin ``i`` holds ``splits[i-1] <= x < splits[i]``.
    groups : list of list
        Categorical: the categories of each regular bin.
    special_codes : list
        Values binned apart, one bin each.
    table : BinningTable
        Counts, event rate, WOE and IV per bin.
    trend : str
        Trend of the regular bins' event rates.
    unseen : str
        Rule for categories not seen in training.
    """

    name: str
    dtype: str
    splits: list[float] = field(default_factory=list)
    groups: list[list[Any]] = field(default_factory=list)
    special_codes: list[Any] = field(default_factory=list)
    table: BinningTable | None = None
    trend: str = "none"
    unseen: str = "neutral"

    # layout -------------------------------------------------------------------------------
    @property
    def n_regular(self) -> int:
        """Number of regular bins."""
        return len(self.splits) + 1 if self.dtype == "numeric" else len(self.groups)

    @property
    def missing_index(self) -> int:
        """Index of the missing bin."""
        return self.n_regular + len(self.special_codes)

    @property
    def woe(self) -> FloatArray:
        """WOE per bin."""
        assert self.table is not None
        return self.table.woe

    @property
    def iv(self) -> float:
        """Information value."""
        assert self.table is not None
        return self.table.total_iv

    def unseen_woe(self) -> float:
        """WOE given to an unseen category."""
        if self.unseen == "missing":
            return float(self.woe[self.missing_index])
        if self.unseen == "worst":
            return float(np.min(self.woe[: self.n_regular]))
        return 0.0

    def regular_labels(self) -> list[str]:
        """Label (a rule cell) of each regular bin."""
        if self.dtype == "numeric":
            s = [format_value(v) for v in self.splits]
            if not s:
                return ["-"]
            out = [f"< {s[0]}"]
            out += [f"[{a}..{b})" for a, b in itertools.pairwise(s)]
            out.append(f">= {s[-1]}")
            return out
        return [", ".join(format_value(c) for c in g) for g in self.groups]

    def labels(self) -> list[str]:
        """Label of every bin, regular, special and missing."""
        return [
            *self.regular_labels(),
            *(f"special {format_value(c)}" for c in self.special_codes),
            "missing",
        ]

    def input_type(self) -> str:
        """Type of the column as a strategy input: ``number``, ``boolean`` or ``string``."""
        if self.dtype == "numeric":
            return "number"
        return value_type([*(c for g in self.groups for c in g), *self.special_codes])

    def kinds(self) -> list[str]:
        """``bin``, ``special`` or ``missing`` per bin."""
        return ["bin"] * self.n_regular + ["special"] * len(self.special_codes) + ["missing"]

    # assignment ---------------------------------------------------------------------------
    def bin_index(self, values: NDArray[Any]) -> IntArray:
        """Bin of each value; unseen categories get ``-2`` (see :meth:`woe_of`)."""
        if self.dtype == "numeric":
            x = np.asarray(values, dtype=np.float64)
            idx = np.searchsorted(np.asarray(self.splits, dtype=np.float64), x, side="right")
            for k, code in enumerate(self.special_codes):
                if isinstance(code, int | float | np.number) and not isinstance(code, bool):
                    idx[x == float(code)] = self.n_regular + k
            idx[np.isnan(x)] = self.missing_index
            return idx.astype(np.intp, copy=False)
        lookup: dict[Any, int] = {}
        for i, group in enumerate(self.groups):
            for c in group:
                lookup[c] = i
        for k, code in enumerate(self.special_codes):
            lookup[code] = self.n_regular + k
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
        mapped = np.array([lookup.get(u, _UNSEEN) for u in uniques] + [0], dtype=np.intp)
        idx = np.where(codes >= 0, mapped[codes], self.missing_index).astype(np.intp)
        return idx

    def woe_of(self, values: NDArray[Any]) -> FloatArray:
        """WOE of each value (unseen categories by the ``unseen`` rule)."""
        idx = self.bin_index(values)
        unseen = idx == _UNSEEN
        if unseen.any():
            if self.unseen == "error":
                example = np.asarray(values, dtype=object)[unseen][0]
                raise DataError(
                    f"column {self.name!r} has a category not seen in training ({example!r}); "
                    "refit, or choose another rule for unseen categories",
                    column=self.name,
                )
            out = self.woe[np.where(unseen, 0, idx)]
            out[unseen] = self.unseen_woe()
            return out
        return self.woe[idx]

    # persistence --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (categories keep their JSON type)."""
        assert self.table is not None
        return {
            "name": self.name,
            "dtype": self.dtype,
            "splits": [float(v) for v in self.splits],
            "groups": [[_plain(c) for c in g] for g in self.groups],
            "special_codes": [_plain(c) for c in self.special_codes],
            "trend": self.trend,
            "unseen": self.unseen,
            "table": self.table.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureBinning:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(data["name"]),
            dtype=str(data["dtype"]),
            splits=[float(v) for v in data["splits"]],
            groups=[list(g) for g in data["groups"]],
            special_codes=list(data["special_codes"]),
            table=BinningTable.from_dict(data["table"]),
            trend=str(data["trend"]),
            unseen=str(data["unseen"]),
        )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def fit_feature(
    name: str,
    dtype: str,
    values: NDArray[Any],
    y: NDArray[Any],
    w: FloatArray,
    options: BinningOptions,
    *,
    special_codes: list[Any] | None = None,
    user_splits: list[Any] | None = None,
    trend: str | None = None,
) -> FeatureBinning:
    """Fit the binning of one column (numeric: float64 with NaN; categorical: objects/None).

    Raises
    ------
    DataError
        The column is all missing or constant.
    """
    numeric = dtype == "numeric"
    codes = list(special_codes or [])
    missing = np.isnan(values) if numeric else pd.isna(values)
    specials = special_masks(values, codes, numeric)
    why = uninformative_reason(name, values, numeric, specials)
    if why:
        raise DataError(why, column=name)
    regular = ~missing
    for mask in specials:
        regular &= ~mask
    reg_values = values[regular]
    total_w = float(w.sum())
    min_share = options.min_bin_share
    if min_share is None:  # "auto": 5% of a small sample, down to 2% of a large one
        min_share = max(0.02, min(0.05, 1000.0 / max(values.shape[0], 1)))
    total_e = float(np.dot(w, y))
    total_n = total_w - total_e
    ry, rw = y[regular], w[regular]
    fb = FeatureBinning(name, "numeric" if numeric else "categorical", special_codes=codes)
    fb.unseen = options.unseen
    constraints = dict(
        total_events=total_e,
        total_nonevents=total_n,
        total_weight=total_w,
        objective=options.objective,
        max_bins=options.max_bins,
        min_bin_share=min_share,
        min_bad=options.min_bad_count,
        min_good=options.min_good_count,
        auto_min_gain=options.auto_min_gain,
    )
    if numeric:
        if user_splits is not None:
            fb.splits = sorted({float(v) for v in user_splits})
            fb.trend = "manual"
            where = np.searchsorted(np.asarray(fb.splits), reg_values, side="right")
            m = len(fb.splits) + 1
            reg_tot = np.bincount(where, weights=rw, minlength=m).astype(np.float64)
            reg_ev = np.bincount(where, weights=rw * ry, minlength=m).astype(np.float64)
        elif reg_values.shape[0]:
            pre = prebin_numeric(
                reg_values,
                ry,
                rw,
                max_prebins=options.max_prebins,
                sample_size=options.sample_size,
                seed=options.seed,
            )
            part = best_partition(
                pre.events,
                pre.totals,
                trend=trend or options.trend,
                **constraints,  # type: ignore[arg-type]
            )
            ends = np.asarray(part.ends, dtype=np.intp)
            fb.splits = [float(pre.cuts[i]) for i in ends[:-1]]
            fb.trend = part.trend
            starts = np.concatenate([[0], ends[:-1] + 1])
            reg_tot = np.add.reduceat(pre.totals, starts).astype(np.float64)
            reg_ev = np.add.reduceat(pre.events, starts).astype(np.float64)
        else:
            reg_tot = np.zeros(1)
            reg_ev = np.zeros(1)
    else:
        if user_splits is not None:
            groups = [list(g) if isinstance(g, list | tuple) else [g] for g in user_splits]
            listed = {c for g in groups for c in g}
            rest = [c for c in pd.unique(reg_values) if c not in listed]
            if rest:
                groups.append(sorted(rest, key=str))
            fb.groups = groups
            fb.trend = "manual"
        elif reg_values.shape[0]:
            cat = prebin_categorical(
                reg_values, ry, rw, cat_cutoff=options.cat_cutoff, total_weight=total_w
            )
            part = best_partition(
                cat.events,
                cat.totals,
                trend="ascending",
                **constraints,  # type: ignore[arg-type]
            )
            firsts = [0, *(e + 1 for e in part.ends[:-1])]
            fb.groups = [
                sorted((c for g in cat.groups[s : e + 1] for c in g), key=str)
                for s, e in zip(firsts, part.ends, strict=True)
            ]
            fb.trend = "ascending" if len(fb.groups) > 1 else "none"
        if not fb.groups:
            fb.groups = [[]]
        lookup = {c: i for i, g in enumerate(fb.groups) for c in g}
        codes_, uniques = pd.factorize(reg_values, use_na_sentinel=True)
        mapped = np.array([lookup.get(u, 0) for u in uniques] + [0], dtype=np.intp)
        idx = mapped[codes_] if codes_.shape[0] else np.zeros(0, dtype=np.intp)
        m = len(fb.groups)
        reg_tot = np.bincount(idx, weights=rw, minlength=m).astype(np.float64)
        reg_ev = np.bincount(idx, weights=rw * ry, minlength=m).astype(np.float64)
    spec_tot = np.array([float(w[mask].sum()) for mask in specials])
    spec_ev = np.array([float(np.dot(w[mask], y[mask])) for mask in specials])
    miss_tot = float(w[missing].sum())
    miss_ev = float(np.dot(w[missing], y[missing]))
    events = np.concatenate([reg_ev, spec_ev, [miss_ev]])
    totals = np.concatenate([reg_tot, spec_tot, [miss_tot]])
    fb.table = BinningTable.build(name, fb.labels(), fb.kinds(), events, totals)
    return fb
