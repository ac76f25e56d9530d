"""Strategy lab: backtests, swap sets, what-if curves, champion/challenger analysis, monitoring.

Every decision the lab counts is the engine's (``CompiledStrategy.evaluate_frame``); the lab
adds the counting, the statistics and the reports::

    from ruleplus.lab import backtest
    result = backtest(strategy, frame, against=variant, outcome="defaulted",
                      segments=["partner", "channel"], month="applicationTime")
    result["swap_set"]   # [{"a": "approve", "b": "decline", "count": ..., "bad_rate": ...}]
"""

from ruleplus.lab.backtest import Labels, backtest, outcome_series
from ruleplus.lab.compare import ArmCounts, compare_arms, compare_deployment
from ruleplus.lab.frames import (
    application_frame,
    decide_frame,
    expand_json_columns,
    read_applications,
)
from ruleplus.lab.monitor import (
    ACT,
    APPROVAL_ACT,
    APPROVAL_WATCH,
    STABLE,
    WINDOWS,
    approval_level,
    monitor,
    psi_level,
)
from ruleplus.lab.report import backtest_report, compare_report, monitor_report, sweep_report
from ruleplus.lab.sources import read_sql, stored_drift
from ruleplus.lab.stats import (
    bootstrap_difference,
    sample_size_per_arm,
    two_proportion_test,
    wilson_interval,
)
from ruleplus.lab.sweep import parse_assignments, parse_values, strategy_curve, sweep

__all__ = [
    "ACT",
    "APPROVAL_ACT",
    "APPROVAL_WATCH",
    "STABLE",
    "WINDOWS",
    "ArmCounts",
    "Labels",
    "application_frame",
    "approval_level",
    "backtest",
    "backtest_report",
    "bootstrap_difference",
    "compare_arms",
    "compare_deployment",
    "compare_report",
    "decide_frame",
    "expand_json_columns",
    "monitor",
    "monitor_report",
    "outcome_series",
    "parse_assignments",
    "parse_values",
    "psi_level",
    "read_applications",
    "read_sql",
    "sample_size_per_arm",
    "stored_drift",
    "strategy_curve",
    "sweep",
    "sweep_report",
    "two_proportion_test",
    "wilson_interval",
]
