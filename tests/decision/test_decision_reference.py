"""The reference loan policy reproduces every expected outcome of the shared benchmark cases.

``$RULEPLUS_SHARED/benchmarks/reference-loan-applications.jsonl`` holds 2,000 applications, each
with the outputs the reference policy must give. They run through
``examples/strategies/reference_loan.yaml`` on the row path, the vector path and the CLI
``batch`` command; every run must give exactly the expected outputs (same keys, strings equal,
numbers equal within 1e-9).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from ruleplus.cli import app
from ruleplus.decision import ERROR_COLUMN, CompiledStrategy, load_strategy

ROOT = Path(__file__).resolve().parents[2]
STRATEGY = ROOT / "examples" / "strategies" / "reference_loan.yaml"
SHARED = Path(os.environ.get("RULEPLUS_SHARED", str(ROOT.parent / "shared")))
CASES_FILE = SHARED / "benchmarks" / "reference-loan-applications.jsonl"
N_CASES = 2000

pytestmark = pytest.mark.skipif(
    not CASES_FILE.is_file(),
    reason=f"reference cases not found at {CASES_FILE} (set RULEPLUS_SHARED to the shared folder)",
)


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    with CASES_FILE.open(encoding="utf-8") as handle:
        loaded = [json.loads(line) for line in handle if line.strip()]
    assert len(loaded) == N_CASES
    assert all(set(case) == {"input", "expected"} for case in loaded)
    return loaded


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return load_strategy(STRATEGY)


def mismatch(got: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """Why ``got`` differs from ``expected`` (None when they agree)."""
    if set(got) != set(expected):
        return f"keys {sorted(got)} != {sorted(expected)}"
    for key, want in expected.items():
        have = got[key]
        if isinstance(want, bool | str) or want is None:
            same = have == want and type(have) is type(want)
        elif isinstance(want, int | float):
            same = (
                isinstance(have, int | float)
                and not isinstance(have, bool)
                and math.isclose(have, want, rel_tol=0.0, abs_tol=1e-9)
            )
        else:
            same = have == want
        if not same:
            return f"{key}: {have!r} != {want!r}"
    return None


def report(failures: list[str]) -> str:
    return f"{len(failures)} cases differ, e.g.:\n" + "\n".join(failures[:10])


def test_the_expected_outputs_use_only_declared_outputs(
    cases: list[dict[str, Any]], strategy: CompiledStrategy
) -> None:
    outputs = set(strategy.outputs)
    assert all(set(case["expected"]) <= outputs for case in cases)
    # every decision, and every output, occurs somewhere in the cases
    assert {case["expected"]["decision"] for case in cases} == {"approve", "refer", "decline"}
    assert set().union(*(case["expected"] for case in cases)) == outputs


def test_row_path_reproduces_every_case(
    cases: list[dict[str, Any]], strategy: CompiledStrategy
) -> None:
    failures = []
    for number, case in enumerate(cases, 1):
        decision = strategy.evaluate(case["input"])
        why = mismatch(decision.outputs, case["expected"])
        if why is None and decision.decision != case["expected"]["decision"]:
            why = f"decision {decision.decision!r}"
        if why is None and [r.code for r in decision.reasons] != [case["expected"]["reasonCode"]]:
            why = f"reasons {[r.code for r in decision.reasons]}"
        if why is not None:
            failures.append(f"case {number} ({case['input'].get('applicantId')}): {why}")
    assert not failures, report(failures)


def test_vector_path_reproduces_every_case(
    cases: list[dict[str, Any]], strategy: CompiledStrategy
) -> None:
    frame = pl.DataFrame([case["input"] for case in cases])
    result = strategy.evaluate_frame(frame, reasons=True, keep=("applicantId",))
    assert result.height == len(cases)
    assert result.get_column(ERROR_COLUMN).null_count() == len(cases)
    failures = []
    for number, (case, row) in enumerate(zip(cases, result.iter_rows(named=True), strict=True), 1):
        assert row["applicantId"] == case["input"]["applicantId"]  # row order is kept
        got = {name: row[name] for name in strategy.outputs if row[name] is not None}
        why = mismatch(got, case["expected"])
        if why is None and row["reasons"] != [case["expected"]["reasonCode"]]:
            why = f"reasons {row['reasons']}"
        if why is not None:
            failures.append(f"case {number} ({case['input'].get('applicantId')}): {why}")
    assert not failures, report(failures)


def test_cli_batch_reproduces_every_case(cases: list[dict[str, Any]], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(case["input"]) + "\n" for case in cases), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["batch", str(STRATEGY), str(source), str(target), "--json", "--keep", "applicantId"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == len(cases)
    assert summary["errors"] == 0
    expected_counts: dict[str, int] = {}
    for case in cases:
        decision = case["expected"]["decision"]
        expected_counts[decision] = expected_counts.get(decision, 0) + 1
    assert summary["decisions"] == expected_counts
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(cases)
    failures = []
    for number, (case, line) in enumerate(zip(cases, lines, strict=True), 1):
        assert line.pop("applicantId") == case["input"]["applicantId"]
        assert ERROR_COLUMN not in line  # null outputs (and a null _error) are left out
        why = mismatch(line, case["expected"])
        if why is not None:
            failures.append(f"case {number}: {why}")
    assert not failures, report(failures)
