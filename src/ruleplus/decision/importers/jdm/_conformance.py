"""Run the tests embedded in JDM graphs (``"tests": [{"input", "output"}]``) and score them."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruleplus.decision.importers.jdm._graph import JdmGraph, is_jdm_document
from ruleplus.errors import RuleplusError
from ruleplus.expr.zen import CLOCK

__all__ = ["ConformanceReport", "run_suite", "same_json"]

TOLERANCE = 1e-9
"""Relative tolerance for numbers (zen's decimals reach JSON as binary floats)."""


def same_json(got: Any, want: Any) -> bool:
    """Equal JSON: same keys and types; numbers within :data:`TOLERANCE`."""
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(got, want, rel_tol=TOLERANCE, abs_tol=1e-12)
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same_json(got[k], v) for k, v in want.items())
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(same_json(g, w) for g, w in zip(got, want, strict=True))
        )
    return bool(got == want)


@dataclass
class ConformanceReport:
    """Outcome of a suite: counts and each failure (graph, test, expected, got)."""

    passed: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Tests run."""
        return self.passed + self.failed

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "passed": self.passed,
            "failed": self.failed,
            "total": self.total,
            "failures": self.failures,
        }


def _graph_files(suite: Path) -> Iterator[Path]:
    folder = suite / "graphs" if (suite / "graphs").is_dir() else suite
    yield from sorted(folder.glob("*.json"))


def run_suite(suite: Path, *, now: dt.datetime | None = None) -> ConformanceReport:
    """Run every embedded test of every graph under ``suite`` (its ``graphs/`` if present).

    Parameters
    ----------
    suite : Path
        The folder of graphs.
    now : datetime, optional
        Pin ``date("now")`` to this moment (to replay tests recorded at a known time).
    """
    if now is None:
        return _run_suite(suite)
    saved = CLOCK[0]
    CLOCK[0] = lambda: now
    try:
        return _run_suite(suite)
    finally:
        CLOCK[0] = saved


def _run_suite(suite: Path) -> ConformanceReport:
    report = ConformanceReport()
    for path in _graph_files(suite):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not is_jdm_document(document):
            continue
        tests = document.get("tests") or []
        if not tests:
            continue
        try:
            graph: JdmGraph | None = JdmGraph(document, name=path.name, base=suite)
            error = ""
        except RuleplusError as exc:
            graph, error = None, str(exc)
        for index, test in enumerate(tests):
            want = test.get("output")
            if graph is None:
                got: Any = {"error": error}
            else:
                try:
                    got = graph.evaluate(test.get("input"))["result"]
                except RuleplusError as exc:
                    got = {"error": str(exc)}
            if same_json(got, want):
                report.passed += 1
            else:
                report.failed += 1
                report.failures.append(
                    {"graph": path.name, "test": index, "expected": want, "got": got}
                )
    return report
