"""Tests of two proportions: the z test, a bootstrap interval and the sample size needed.

Written with the standard library's normal distribution and numpy (no SciPy dependency in the
core): the formulas are the textbook ones (pooled z test; Wald interval of the difference;
Fleiss' sample size for two independent proportions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "ProportionTest",
    "bootstrap_difference",
    "sample_size_per_arm",
    "two_proportion_test",
    "wilson_interval",
]

_NORMAL = NormalDist()


@dataclass(frozen=True)
class ProportionTest:
    """Challenger minus champion for one rate."""

    p_a: float
    p_b: float
    difference: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of ``k`` successes out of ``n`` (None when ``n`` is 0)."""
    if n <= 0:
        return None
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_test(
    k_a: int, n_a: int, k_b: int, n_b: int, confidence: float = 0.95
) -> ProportionTest | None:
    """Pooled two-sided z test of ``k_b/n_b - k_a/n_a`` with a Wald interval of the difference.

    Returns None when either side has no observations.
    """
    if n_a <= 0 or n_b <= 0:
        return None
    p_a, p_b = k_a / n_a, k_b / n_b
    diff = p_b - p_a
    pooled = (k_a + k_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = diff / se0 if se0 > 0 else 0.0
    p_value = 2 * (1 - _NORMAL.cdf(abs(z))) if se0 > 0 else 1.0
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = _NORMAL.inv_cdf(0.5 + confidence / 2) * se
    return ProportionTest(p_a, p_b, diff, z, p_value, diff - half, diff + half)


def bootstrap_difference(
    k_a: int,
    n_a: int,
    k_b: int,
    n_b: int,
    *,
    resamples: int = 4000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``k_b/n_b - k_a/n_a``.

    Resampling ``n`` rows with replacement from rows holding ``k`` ones draws the number of
    ones from Binomial(n, k/n), so the bootstrap needs the counts only, not the rows.
    """
    if n_a <= 0 or n_b <= 0:
        return None
    rng = np.random.default_rng(seed)
    a = rng.binomial(n_a, k_a / n_a, size=resamples) / n_a
    b = rng.binomial(n_b, k_b / n_b, size=resamples) / n_b
    low, high = np.quantile(b - a, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def sample_size_per_arm(
    p_a: float, p_b: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> int | None:
    """Observations the champion arm needs to detect ``p_b - p_a`` (two-sided).

    The challenger needs ``ratio`` times as many (``ratio = n_b / n_a``, the traffic split).
    None when the rates are equal (no difference to detect).

    Fleiss' formula for unequal groups:
    ``n_a = (z_a sqrt(p(1-p)(1+1/r)) + z_b sqrt(p_a(1-p_a) + p_b(1-p_b)/r))^2 / d^2``
    with ``p`` the weighted mean rate.
    """
    d = p_b - p_a
    if d == 0:
        return None
    z_alpha = _NORMAL.inv_cdf(1 - alpha / 2)
    z_beta = _NORMAL.inv_cdf(power)
    p = (p_a + ratio * p_b) / (1 + ratio)
    term = z_alpha * math.sqrt(p * (1 - p) * (1 + 1 / ratio)) + z_beta * math.sqrt(
        p_a * (1 - p_a) + p_b * (1 - p_b) / ratio
    )
    return math.ceil(term * term / (d * d))
