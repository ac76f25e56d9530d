"""The ``ruleplus`` command line, driven through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from ruleplus.cli import app

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "examples" / "strategies" / "reference_loan.yaml"
CONSUMER = ROOT / "examples" / "strategies" / "consumer_loan.yaml"
GOOD = {
    "applicantId": "A1",
    "creditScore": 713,
    "monthlyIncome": 5200,
    "monthlyDebt": 0,
    "loanAmount": 15000,
    "termMonths": 48,
    "employmentYears": 0.25,
    "delinquencies24m": 0,
    "residentialStatus": "own",
}

runner = CliRunner()


def test_validate_ok_and_json() -> None:
    result = runner.invoke(app, ["validate", str(REFERENCE), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["valid"] is True
    assert info["id"] == "reference_loan"
    assert "decision" in info["outputs"]


def test_validate_reports_file_line_node(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: s\ninputs: {a: {type: integer}}\nnodes:\n"
        "  - id: n1\n    type: expression\n    assign: {b: a + c}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(bad), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "StrategyCompileError"
    assert error["node"] == "n1"
    assert error["line"] == 6  # the line of the offending assignment
    assert "'c'" in error["message"]


def test_decide_prints_decision_json(tmp_path: Path) -> None:
    source = tmp_path / "app.json"
    source.write_text(json.dumps(GOOD), encoding="utf-8")
    result = runner.invoke(app, ["decide", str(REFERENCE), str(source), "--trace"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["decision"] == "approve"
    assert out["outputs"]["riskGrade"] == "B1"
    assert out["reasons"][0]["code"] == "OK"
    assert [step["node"] for step in out["trace"]] == ["derive", "policy", "route", "approve"]


def test_decide_lists_every_bad_field() -> None:
    bad = {"creditScore": 250, "monthlyIncome": "lots"}
    result = runner.invoke(app, ["decide", str(REFERENCE), "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    fields = {f["field"]: f["problem"] for f in error["fields"]}
    assert fields["creditScore"] == "must be between 300 and 900"
    assert fields["monthlyIncome"].startswith("expected a finite number")
    assert fields["termMonths"] == "is required"
    assert "lots" not in result.stdout  # values are never echoed


def test_decide_rejects_non_json(tmp_path: Path) -> None:
    source = tmp_path / "app.json"
    source.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["decide", str(REFERENCE), str(source)])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "DataError"


def test_batch_keeps_bad_rows_with_reason(tmp_path: Path) -> None:
    rows = [GOOD, {**GOOD, "applicantId": "A2", "creditScore": "x"}, {**GOOD, "applicantId": "A3"}]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["batch", str(REFERENCE), str(source), str(target), "--json", "--keep", "applicantId"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 3
    assert summary["errors"] == 1
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    assert lines[0]["decision"] == "approve"
    assert lines[1] == {
        "applicantId": "A2",
        "_error": "creditScore: expected a whole number, got another type",
    }
    assert lines[2]["applicantId"] == "A3"


def test_batch_parquet_with_reasons(tmp_path: Path) -> None:
    synth = tmp_path / "apps.parquet"
    result = runner.invoke(
        app, ["datasets", "synth", "--rows", "500", "--seed", "3", "-o", str(synth)]
    )
    assert result.exit_code == 0, result.output
    target = tmp_path / "out.parquet"
    result = runner.invoke(
        app, ["batch", str(CONSUMER), str(synth), str(target), "--reasons", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = pl.read_parquet(target)
    assert out.height == 500
    assert {"decision", "score", "reasons", "arm", "_error"} <= set(out.columns)
    assert out.get_column("_error").null_count() == 500


def test_schema_and_functions() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "StrategyDoc"
    result = runner.invoke(app, ["functions"])
    assert result.exit_code == 0
    assert "months_between" in result.stdout


def test_demo_runs() -> None:
    result = runner.invoke(app, ["demo", "--rows", "2000"])
    assert result.exit_code == 0, result.output
    assert "decisions/s" in result.stdout
