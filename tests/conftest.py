"""Suite-wide hooks.

Tests that need PostgreSQL, Redis or the shared reference folder skip, with the reason, on a
machine that lacks them. CI has all of them, so a skip there means lost coverage: with
``RULEPLUS_REQUIRE_ALL=1`` (set by ``.ci/run``) every skip is reported as a failure instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def _strict() -> bool:
    return os.environ.get("RULEPLUS_REQUIRE_ALL") == "1"


def _fail_skip(report: Any) -> None:
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped, but RULEPLUS_REQUIRE_ALL=1 requires every test to run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.skipped and _strict():
        _fail_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.skipped and _strict():
        _fail_skip(report)
