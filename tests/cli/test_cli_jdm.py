"""``ruleplus import jdm`` and ``ruleplus conformance jdm``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ruleplus.cli import app
from ruleplus.decision import load_strategy

runner = CliRunner()


def test_import_jdm_writes_a_strategy_that_decides_alike(shared_dir: Path, tmp_path: Path) -> None:
    bench = shared_dir / "benchmarks"
    target = tmp_path / "strategy.yaml"
    result = runner.invoke(
        app, ["import", "jdm", str(bench / "reference-loan-policy.jdm.json"), "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout
    doc = yaml.safe_load(target.read_text())
    assert doc["id"] == "reference-loan-policy"
    strategy = load_strategy(target)
    first = json.loads((bench / "reference-loan-applications.jsonl").read_text().splitlines()[0])
    assert strategy.evaluate(first["input"]).outputs == first["expected"]


def test_import_jdm_json_and_a_refused_graph(shared_dir: Path, tmp_path: Path) -> None:
    graph = shared_dir / "benchmarks" / "reference-loan-policy.jdm.json"
    result = runner.invoke(app, ["import", "jdm", str(graph), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert "decision" in info["outputs"] and info["yaml"].startswith("# Imported")
    closures = tmp_path / "closures.json"
    document = json.loads(graph.read_text())
    document["nodes"][1]["content"]["expressions"][0]["value"] = "sum(map([1], #))"
    closures.write_text(json.dumps(document))
    refused = runner.invoke(app, ["import", "jdm", str(closures), "--json"])
    assert refused.exit_code == 2
    assert "derive" in json.loads(refused.stdout)["error"]["message"]


def test_conformance_jdm_json(shared_dir: Path) -> None:
    suite = shared_dir / "conformance" / "gorules-zen" / "test-data"
    result = runner.invoke(
        app, ["conformance", "jdm", "--suite", str(suite), "--now", "1755622502", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["passed"], report["failed"], report["total"]) == (131, 0, 131)
    today = runner.invoke(app, ["conformance", "jdm", "--suite", str(suite)])
    assert today.exit_code == 0
    assert "total" in today.stdout


def test_conformance_reports_each_failure(tmp_path: Path) -> None:
    graph = {
        "nodes": [
            {"id": "i", "type": "inputNode", "name": "i"},
            {
                "id": "e",
                "type": "expressionNode",
                "name": "e",
                "content": {"expressions": [{"id": "x", "key": "y", "value": "a + 1"}]},
            },
        ],
        "edges": [{"id": "1", "sourceId": "i", "targetId": "e"}],
        "tests": [{"input": {"a": 1}, "output": {"y": 2}}, {"input": {"a": 1}, "output": {"y": 3}}],
    }
    (tmp_path / "g.json").write_text(json.dumps(graph))
    result = runner.invoke(app, ["conformance", "jdm", "--suite", str(tmp_path), "--json"])
    report = json.loads(result.stdout)
    assert (report["passed"], report["failed"], report["total"]) == (1, 1, 2)
    assert report["failures"] == [
        {"graph": "g.json", "test": 1, "expected": {"y": 3}, "got": {"y": 2}}
    ]


def test_import_jdm_decide_runs_the_graph_natively(shared_dir: Path, tmp_path: Path) -> None:
    suite = shared_dir / "conformance" / "gorules-zen" / "test-data" / "graphs"
    document = json.loads((suite / "multi-switch.json").read_text())
    test = document["tests"][0]
    data = tmp_path / "input.json"
    data.write_text(json.dumps(test["input"]))
    result = runner.invoke(
        app, ["import", "jdm", str(suite / "multi-switch.json"), "--decide", str(data), "--trace"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["result"] == test["output"]
    assert out["trace"]
