"""Two-proportion tests, bootstrap intervals, sample sizes and the champion/challenger verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ruleplus.lab import (
    ArmCounts,
    bootstrap_difference,
    compare_arms,
    sample_size_per_arm,
    two_proportion_test,
    wilson_interval,
)


def test_z_test_matches_scipy() -> None:
    k_a, n_a, k_b, n_b = 130, 1000, 95, 900
    test = two_proportion_test(k_a, n_a, k_b, n_b)
    assert test is not None
    p = (k_a + k_b) / (n_a + n_b)
    z = (k_b / n_b - k_a / n_a) / math.sqrt(p * (1 - p) * (1 / n_a + 1 / n_b))
    assert test.z == pytest.approx(z)
    assert test.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    # the pooled z test is the chi-square test of the 2x2 table without continuity correction
    chi2, p_chi, _, _ = stats.chi2_contingency(
        [[k_a, n_a - k_a], [k_b, n_b - k_b]], correction=False
    )
    assert test.p_value == pytest.approx(p_chi) and z * z == pytest.approx(chi2)
    assert test.ci_low < test.difference < test.ci_high
    assert two_proportion_test(1, 0, 1, 10) is None


def test_wilson_matches_its_formula_at_the_edges() -> None:
    low, high = wilson_interval(0, 50) or (None, None)
    assert low == 0.0 and high == pytest.approx(3.8415 / (50 + 3.8415), rel=1e-3)
    assert wilson_interval(3, 0) is None


def test_bootstrap_of_counts_agrees_with_resampling_rows() -> None:
    k_a, n_a, k_b, n_b = 300, 4000, 360, 4000
    counts = bootstrap_difference(k_a, n_a, k_b, n_b, resamples=4000, seed=1)
    rng = np.random.default_rng(2)
    a = np.r_[np.ones(k_a), np.zeros(n_a - k_a)]
    b = np.r_[np.ones(k_b), np.zeros(n_b - k_b)]
    diffs = [rng.choice(b, n_b).mean() - rng.choice(a, n_a).mean() for _ in range(1500)]
    rows = np.quantile(diffs, [0.025, 0.975])
    assert counts is not None
    assert counts[0] == pytest.approx(rows[0], abs=0.002)
    assert counts[1] == pytest.approx(rows[1], abs=0.002)


def test_sample_size_textbook_values() -> None:
    # Fleiss (1981) without continuity correction: 10% vs 15%, alpha 0.05, power 0.8 -> 686
    assert sample_size_per_arm(0.10, 0.15) == 686
    assert sample_size_per_arm(0.15, 0.10) == 686
    assert sample_size_per_arm(0.2, 0.2) is None
    # an unequal split needs more in the smaller arm, fewer in total than 1:1 would need there
    assert sample_size_per_arm(0.10, 0.15, ratio=0.25) > 686


def test_sample_size_gives_the_power_it_promises() -> None:
    n = sample_size_per_arm(0.10, 0.14)
    assert n is not None
    rng = np.random.default_rng(0)
    hits = 0
    trials = 2000
    for _ in range(trials):
        test = two_proportion_test(rng.binomial(n, 0.10), n, rng.binomial(n, 0.14), n)
        hits += test is not None and test.p_value < 0.05
    assert hits / trials == pytest.approx(0.8, abs=0.04)


def test_verdicts() -> None:
    better = compare_arms(
        [
            ArmCounts("champion", 20000, 8000, 8000, 800),
            ArmCounts("challenger:2", 5000, 2000, 2000, 140),
        ]
    )
    (c,) = better["challengers"]
    assert c["verdict"] == "better" and c["verdict_text"].startswith("challenger better")
    worse = compare_arms(
        [
            ArmCounts("champion", 20000, 8000, 8000, 560),
            ArmCounts("challenger:2", 5000, 2000, 2000, 200),
        ]
    )
    assert worse["challengers"][0]["verdict"] == "worse"
    pending = compare_arms(
        [ArmCounts("champion", 2000, 800, 800, 56), ArmCounts("challenger:2", 500, 200, 200, 16)]
    )
    (c,) = pending["challengers"]
    assert c["verdict"] == "not_significant"
    need_a = sample_size_per_arm(56 / 800, 16 / 200, ratio=200 / 800)
    assert need_a is not None
    more = (need_a - 800) + (math.ceil(need_a * 200 / 800) - 200)
    assert f"need about {more:,} more" in c["verdict_text"]
    arms = {a["arm"]: a for a in pending["arms"]}
    assert arms["champion"]["approval_rate"] == 0.4 and arms["champion"]["bad_rate"] == 0.07
    no_outcomes = compare_arms(
        [ArmCounts("champion", 2000, 800), ArmCounts("challenger:2", 500, 260)]
    )
    assert no_outcomes["challengers"][0]["verdict"] == "no_outcomes"
    assert "significantly higher" in no_outcomes["challengers"][0]["verdict_text"]


def test_compare_report_shows_each_verdict() -> None:
    from ruleplus.lab import compare_report

    result = compare_arms(
        [ArmCounts("champion", 2000, 800, 800, 56), ArmCounts("challenger:2", 500, 200, 200, 16)]
    )
    html = compare_report(result)
    assert html.startswith("<!doctype html>") and "challenger:2" in html
    assert result["challengers"][0]["verdict_text"] in html
