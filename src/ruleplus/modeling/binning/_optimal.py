# ruff: noqa: N806  (scikit-learn / maths naming: X, C, matrices)
"""Optimal merging of fine bins: exact dynamic programming over contiguous groups.

Why hand-written: optbinning states this problem as a mixed-integer program and hands it to
OR-Tools. With the few dozen fine bins that pre-binning leaves, the same problem is solved
exactly, and in milliseconds, by dynamic programming, with no solver to install.

The problem. Fine bins ``0..m-1`` (ordered by value, or by event rate for categories) with
weighted event and non-event counts are grouped into contiguous bins to maximise an objective
that is a sum over bins — information value (IV) by default, or Jensen-Shannon divergence or
Hellinger distance — subject to

* every bin: share of rows >= ``min_bin_share``, events >= ``min_bad``, non-events >=
  ``min_good`` (and both > 0, so that every WOE is finite);
* at most ``max_bins`` bins;
* the event rates of consecutive bins follow the trend: strictly ascending, strictly
  descending, peak (ascending then descending), valley (descending then ascending) or none.

The recursion. ``V[a, b, t, p]`` is the best objective of grouping fine bins ``0..b`` into
``t + 1`` bins whose last bin is ``a..b`` and whose trend is in phase ``p`` (peak/valley have two
phases). Since the objective is additive, ``V[a, b, t, p] = f(a, b) + max V[a', a-1, t-1, p']``
over the earlier last bins ``a'..a-1`` whose event rate is compatible with ``rate(a, b)`` under
the phase move ``p' -> p``. The loop runs over ``a`` and is vectorised over ``a'``, ``b`` and
``t``: O(m³·T) arithmetic, a few milliseconds for m = 50. Back-pointers recover the grouping.
When no grouping satisfies the constraints, everything becomes one bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["OBJECTIVES", "TRENDS", "Partition", "best_partition", "segment_objective"]

FloatArray = NDArray[np.float64]
Trend = Literal["ascending", "descending", "peak", "valley", "none"]
TRENDS: tuple[str, ...] = (
    "auto",
    "auto_asc_desc",
    "ascending",
    "descending",
    "peak",
    "valley",
    "none",
)
"""Trend names accepted by the binners."""
OBJECTIVES: tuple[str, ...] = ("iv", "js", "hellinger")
"""Objectives: information value, Jensen-Shannon divergence, Hellinger distance."""


def segment_objective(good_share: FloatArray, bad_share: FloatArray, objective: str) -> FloatArray:
    """Per-bin term of the objective for good (non-event) and bad (event) shares."""
    p, q = good_share, bad_share
    with np.errstate(divide="ignore", invalid="ignore"):
        if objective == "iv":
            out = (p - q) * np.log(p / q)
        elif objective == "js":
            m = (p + q) / 2.0
            out = 0.5 * (p * np.log(p / m) + q * np.log(q / m))
        elif objective == "hellinger":
            out = 0.5 * (np.sqrt(p) - np.sqrt(q)) ** 2
        else:
            raise ValueError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Partition:
    """A grouping of fine bins.

    Attributes
    ----------
    ends : tuple of int
        Index of the last fine bin of each group, increasing; the last is ``m - 1``.
    value : float
        Objective of the grouping.
    trend : str
        The trend it satisfies.
    """

    ends: tuple[int, ...]
    value: float
    trend: str


_NEG = -np.inf


def _solve(
    obj: FloatArray,
    rate: FloatArray,
    trend: Trend,
    max_bins: int | None,
) -> dict[str, Partition | None]:
    """Run the recursion for one trend.

    Peak and valley runs also give the ascending / descending answer (their first phase), so
    ``auto`` needs two runs, not four. Returns trend name -> best partition (None: infeasible).
    """
    m = obj.shape[0]
    bounded = max_bins is not None and max_bins < m
    T = int(max_bins) if bounded and max_bins is not None else 1
    P = 2 if trend in ("peak", "valley") else 1
    V = np.full((m, m, T, P), _NEG)
    back_a = np.full((m, m, T, P), -1, dtype=np.int64)
    back_p = np.zeros((m, m, T, P), dtype=np.int64)
    V[0, :, 0, 0] = obj[0, :]
    if trend in ("ascending", "peak"):
        first, second = "up", "down"
    elif trend in ("descending", "valley"):
        first, second = "down", "up"
    else:
        first = second = "any"
    for a in range(1, m):
        cur = obj[a, a:]  # (nb,)
        if not np.isfinite(cur).any():
            continue
        prev = V[:a, a - 1]  # (a, T, P)
        if not np.isfinite(prev).any():
            continue
        pr = rate[:a, a - 1][:, None]
        cr = rate[a, a:][None, :]
        masks = {"up": pr < cr, "down": pr > cr, "any": None}
        if P == 1:
            moves = [(0, 0, masks[first])]
        else:
            moves = [(0, 0, masks[first]), (0, 1, masks[second]), (1, 1, masks[second])]
        for to in range(P):
            best: FloatArray | None = None
            best_a: NDArray[np.int64] | None = None
            best_p: NDArray[np.int64] | None = None
            for frm, dest, mask in moves:
                if dest != to:
                    continue
                src = prev[:, :, frm]  # (a, T)
                if bounded:
                    shifted = np.full_like(src, _NEG)
                    shifted[:, 1:] = src[:, :-1]  # one more bin than the prefix
                else:
                    shifted = src
                if mask is None:
                    cand = np.broadcast_to(shifted[:, None, :], (a, cur.shape[0], T))
                else:
                    cand = np.where(mask[:, :, None], shifted[:, None, :], _NEG)  # (a, nb, T)
                idx = cand.argmax(axis=0)  # (nb, T)
                val = cand.max(axis=0)
                if best is None:
                    best, best_a = val, idx
                    best_p = np.full(idx.shape, frm, dtype=np.int64)
                else:
                    assert best_a is not None and best_p is not None
                    better = val > best
                    best = np.where(better, val, best)
                    best_a = np.where(better, idx, best_a)
                    best_p = np.where(better, frm, best_p)
            assert best is not None and best_a is not None and best_p is not None
            V[a, a:, :, to] = cur[:, None] + best
            back_a[a, a:, :, to] = best_a
            back_p[a, a:, :, to] = best_p

    def extract(phases: list[int], name: str) -> Partition | None:
        last = V[:, m - 1][:, :, phases]  # (a, T, len(phases))
        if not np.isfinite(last).any():
            return None
        a, t, k = (int(v) for v in np.unravel_index(int(np.argmax(last)), last.shape))
        value = float(last[a, t, k])
        p = phases[k]
        ends = [m - 1]
        b = m - 1
        while a > 0:
            prev_a = int(back_a[a, b, t, p])
            prev_p = int(back_p[a, b, t, p])
            b = a - 1
            ends.append(b)
            a, p = prev_a, prev_p
            t = t - 1 if bounded else 0
        return Partition(tuple(sorted(ends)), value, name)

    if P == 1:
        return {trend: extract([0], trend)}
    mono = "ascending" if trend == "peak" else "descending"
    return {mono: extract([0], mono), trend: extract([0, 1], trend)}


def best_partition(
    events: FloatArray,
    totals: FloatArray,
    *,
    total_events: float,
    total_nonevents: float,
    total_weight: float,
    trend: str = "auto",
    objective: str = "iv",
    max_bins: int | None = None,
    min_bin_share: float = 0.0,
    min_bad: float = 0.0,
    min_good: float = 0.0,
    auto_min_gain: float = 0.1,
) -> Partition:
    """The best grouping of fine bins under the constraints (see the module docstring).

    Parameters
    ----------
    events, totals : ndarray
        Weighted events and rows per fine bin, in order.
    total_events, total_nonevents : float
        Denominators of the bad and good shares (all rows of the feature).
    total_weight : float
        Denominator of a bin's share of rows.
    trend : str, default="auto"
        One of :data:`TRENDS`. ``auto_asc_desc``: the better of ascending and descending.
        ``auto``: that, unless the better of peak and valley beats it by ``auto_min_gain``.
    objective : str, default="iv"
        One of :data:`OBJECTIVES`.
    max_bins : int, optional
        At most this many bins.
    min_bin_share : float, default=0.0
        Smallest share of ``total_weight`` in a bin.
    min_bad, min_good : float, default=0.0
        Smallest weighted count of events / non-events in a bin (always > 0).
    auto_min_gain : float, default=0.1
        Relative gain of the objective a peak or valley needs over a monotonic trend to be chosen
        by ``auto``.
    """
    m = events.shape[0]
    if m <= 1:
        return Partition((max(m - 1, 0),), 0.0, "none")
    ce = np.concatenate([[0.0], np.cumsum(events)])
    ct = np.concatenate([[0.0], np.cumsum(totals)])
    e = ce[None, 1:] - ce[:-1, None]  # e[a, b] = events of a..b
    t = ct[None, 1:] - ct[:-1, None]
    n = t - e
    upper = np.triu(np.ones((m, m), dtype=bool))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(t > 0, e / t, 0.0)
        feasible = (
            upper
            & (e > max(min_bad, 0.0))
            & (n > max(min_good, 0.0))
            & (t >= min_bin_share * total_weight - 1e-9)
        )
        if min_bad > 0:
            feasible &= e >= min_bad - 1e-9
        if min_good > 0:
            feasible &= n >= min_good - 1e-9
        value = segment_objective(n / total_nonevents, e / total_events, objective)
    obj = np.where(feasible, value, _NEG)

    def run(name: str) -> dict[str, Partition | None]:
        return _solve(obj, rate, name, max_bins)  # type: ignore[arg-type]

    found: Partition | None
    if trend in ("ascending", "descending", "none") or trend in ("peak", "valley"):
        found = run(trend)[trend]
    elif trend in ("auto", "auto_asc_desc"):
        results = {**run("peak"), **run("valley")}
        mono = [p for p in (results["ascending"], results["descending"]) if p is not None]
        found = max(mono, key=lambda p: p.value) if mono else None
        if trend == "auto":
            bent = [p for p in (results["peak"], results["valley"]) if p is not None]
            if bent:
                best_bent = max(bent, key=lambda p: p.value)
                if found is None or best_bent.value > found.value * (1.0 + auto_min_gain):
                    found = best_bent
    else:
        raise ValueError(f"unknown trend {trend!r}; use one of {', '.join(TRENDS)}")
    if found is None:
        return Partition((m - 1,), 0.0, "none")
    return found
