"""JDM graphs: zen's own fixtures, the reference policy, traces, reasons and clear errors."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
import zen

from ruleplus.decision import compile_strategy, load_strategy
from ruleplus.decision.importers.jdm import (
    FunctionNodeError,
    JdmGraph,
    UntranslatableError,
    jdm_to_strategy,
    load_jdm,
    run_suite,
    same_json,
    strategy_yaml,
)
from ruleplus.decision.importers.jdm import _graph as graph_module
from ruleplus.errors import EvaluationError, StrategyCompileError

RECORDED = dt.datetime.fromtimestamp(1755622502, dt.UTC)  # when zen's fixtures were recorded


@pytest.fixture(scope="module")
def suite(shared_dir: Path) -> Path:
    return shared_dir / "conformance" / "gorules-zen" / "test-data"


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bench = shared_dir / "benchmarks"
    graph = json.loads((bench / "reference-loan-policy.jdm.json").read_text())
    lines = (bench / "reference-loan-applications.jsonl").read_text().splitlines()
    return graph, [json.loads(line) for line in lines if line.strip()]


def test_every_embedded_test_passes_at_the_recording_time(suite: Path) -> None:
    report = run_suite(suite, now=RECORDED)
    assert report.total == 131
    assert report.failures == []
    assert report.passed == 131


def test_with_todays_clock_only_the_clock_tests_fail(suite: Path) -> None:
    report = run_suite(suite)
    failed = {f["graph"] for f in report.failures}
    # these four compare date("now") (or the month) with the moment they were recorded
    assert failed <= {
        "dynamic-shipping-cost-calculator.json",
        "insurance-prior-authorization.json",
        "last-mile-delivery-assignment.json",
        "seller-approval-workflow.json",
    }
    assert report.passed >= 127


def test_native_graph_agrees_with_zen_on_the_fixtures(suite: Path) -> None:
    """Not only the recorded outputs: zen-engine's own result on each fixture input, now."""
    engine = zen.ZenEngine()
    checked = 0
    for path in sorted((suite / "graphs").glob("*.json"))[:40]:
        document = json.loads(path.read_text())
        if any(n["type"] == "functionNode" for n in document["nodes"]):
            continue
        graph = JdmGraph(document, name=path.name)
        decision = engine.create_decision(path.read_text())
        for test in document.get("tests") or []:
            want = decision.evaluate(test["input"])["result"]
            got = graph.evaluate(test["input"])["result"]
            if "timestamp" in json.dumps(want):  # date("now") moves between the two runs
                continue
            assert same_json(got, want), (path.name, want, got)
            checked += 1
    assert checked > 20


def test_reference_policy_natively_and_as_a_strategy(
    reference: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    document, cases = reference
    native = JdmGraph(document)
    strategy = compile_strategy(document)  # compile_strategy recognises a JDM graph
    for case in cases:
        assert same_json(native.evaluate(case["input"])["result"], case["expected"])
        assert same_json(strategy.evaluate(case["input"]).outputs, case["expected"])


def test_reference_policy_row_and_vector_agree(
    reference: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    document, cases = reference
    strategy = compile_strategy(document)
    frame = pl.DataFrame([c["input"] for c in cases])
    rows = strategy.evaluate_frame(frame).to_dicts()
    for case, row in zip(cases, rows, strict=True):
        got = {k: v for k, v in row.items() if v is not None and k in strategy.outputs}
        assert same_json(got, case["expected"])


def test_imported_yaml_is_readable_and_compiles(
    reference: tuple[dict[str, Any], list[dict[str, Any]]], tmp_path: Path
) -> None:
    document, cases = reference
    text = strategy_yaml(jdm_to_strategy(document, name="reference-loan-policy"), "graph.json")
    assert text.startswith("# Imported from the GoRules JDM graph graph.json")
    doc = yaml.safe_load(text)
    table = next(n for n in doc["nodes"] if n["type"] == "table")
    assert table["inputs"][0] == "creditScore"
    assert table["rules"][10][:6] == ["[740..779]", "<= 0.45", "-", "-", "-", '"own", "mortgage"']
    assert "- [" in text  # table rows one per line
    derive = next(n for n in doc["nodes"] if n["id"] == "derive")
    assert derive["assign"]["dti"] == "(monthlyDebt + monthlyPayment) / monthlyIncome"
    path = tmp_path / "reference.yaml"
    path.write_text(text)
    strategy = load_strategy(path)
    assert same_json(strategy.evaluate(cases[0]["input"]).outputs, cases[0]["expected"])


def test_load_strategy_reads_a_jdm_file(shared_dir: Path) -> None:
    strategy = load_strategy(shared_dir / "benchmarks" / "reference-loan-policy.jdm.json")
    assert strategy.id == "reference-loan-policy"
    assert "decision" in strategy.outputs


def test_traces_and_reasons_on_an_imported_graph(
    reference: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    document, cases = reference
    case = next(c for c in cases if c["expected"]["decision"] == "refer")
    decision = compile_strategy(document).evaluate(case["input"], trace=True)
    assert [r.code for r in decision.reasons] == [case["expected"]["reasonCode"]]
    nodes = [t.node for t in decision.trace]
    assert nodes[:3] == ["derive", "creditPolicy", "route"]
    native = JdmGraph(document).evaluate(case["input"], trace=True)
    trace = native["trace"]
    assert trace["route"]["statements"] == ["s_ref"]
    assert trace["policy"]["detail"]["rules"] and trace["policy"]["output"]["decision"] == "refer"
    assert "approve" not in trace and "decline" not in trace  # the switch pruned them


def test_switch_collect_and_table_collect(suite: Path) -> None:
    engine = zen.ZenEngine()
    for name in ("multi-switch.json", "school-district-resource-allocation.json"):
        text = (suite / "graphs" / name).read_text()
        document = json.loads(text)
        graph = JdmGraph(document)
        for test in document["tests"]:
            assert same_json(graph.evaluate(test["input"])["result"], test["output"])
            want = engine.create_decision(text).evaluate(test["input"])["result"]
            assert same_json(graph.evaluate(test["input"])["result"], want)


def test_decision_node_runs_the_sub_graph(tmp_path: Path) -> None:
    child = {
        "nodes": [
            {"id": "i", "type": "inputNode", "name": "i"},
            {
                "id": "e",
                "type": "expressionNode",
                "name": "e",
                "content": {"expressions": [{"id": "x", "key": "doubled", "value": "v * 2"}]},
            },
        ],
        "edges": [{"id": "1", "sourceId": "i", "targetId": "e"}],
    }
    (tmp_path / "child.json").write_text(json.dumps(child))
    parent = {
        "nodes": [
            {"id": "i", "type": "inputNode", "name": "i"},
            {"id": "d", "type": "decisionNode", "name": "d", "content": {"key": "child.json"}},
        ],
        "edges": [{"id": "1", "sourceId": "i", "targetId": "d"}],
    }
    (tmp_path / "parent.json").write_text(json.dumps(parent))
    assert load_jdm(tmp_path / "parent.json").evaluate({"v": 21})["result"] == {"doubled": 42}


def _with_node(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(document)
    out["nodes"].append(node)
    out["edges"].append({"id": "extra", "sourceId": "input", "targetId": node["id"]})
    return out


def test_function_node_without_a_js_engine_is_refused_by_name(
    reference: tuple[dict[str, Any], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_module, "js_available", lambda: False)
    node = {"id": "fn1", "type": "functionNode", "name": "Scorer", "content": "const handler=1"}
    with pytest.raises(FunctionNodeError, match=r"'Scorer'.*function nodes"):
        JdmGraph(_with_node(reference[0], node))


def test_function_node_runs_sandboxed() -> None:
    document = {
        "nodes": [
            {"id": "i", "type": "inputNode", "name": "i"},
            {
                "id": "f",
                "type": "functionNode",
                "name": "f",
                "content": {
                    "source": "export const handler = async (input) => "
                    "({ total: input.items.reduce((a, b) => a + b, 0) })"
                },
            },
        ],
        "edges": [{"id": "1", "sourceId": "i", "targetId": "f"}],
    }
    assert JdmGraph(document).evaluate({"items": [1, 2, 3]})["result"] == {"total": 6}
    looping = copy.deepcopy(document)
    looping["nodes"][1]["content"] = "const handler = (input) => { while (true) {} }"
    with pytest.raises(EvaluationError, match=r"0.5 s limit"):
        JdmGraph(looping).evaluate({})
    hungry = copy.deepcopy(document)
    hungry["nodes"][1]["content"] = (
        "const handler = () => { const a = []; while (true) a.push('x'.repeat(1e6)); }"
    )
    with pytest.raises(EvaluationError):
        JdmGraph(hungry).evaluate({})
    escape = copy.deepcopy(document)
    escape["nodes"][1]["content"] = "const handler = () => ({ t: typeof require + typeof fetch })"
    assert JdmGraph(escape).evaluate({})["result"] == {"t": "undefinedundefined"}


def test_untranslatable_constructs_are_named(
    reference: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    document = copy.deepcopy(reference[0])
    derive = next(n for n in document["nodes"] if n["id"] == "derive")
    derive["content"]["expressions"][0]["value"] = "sum(map([1, 2], # * loanAmount))"
    with pytest.raises(UntranslatableError, match=r"'derive'.*sum"):
        jdm_to_strategy(document)
    case = reference[1][0]
    result = JdmGraph(document).evaluate(case["input"])["result"]  # natively it still runs
    assert result["decision"] in ("approve", "refer", "decline")


def test_bad_graphs_fail_clearly(reference: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    document = copy.deepcopy(reference[0])
    document["edges"].append({"id": "back", "sourceId": "output", "targetId": "input"})
    with pytest.raises(StrategyCompileError, match="cycle"):
        JdmGraph(document)
    broken = copy.deepcopy(reference[0])
    next(n for n in broken["nodes"] if n["id"] == "derive")["content"]["expressions"][1][
        "value"
    ] = "(monthlyDebt +"
    with pytest.raises(StrategyCompileError, match=r"'derive'.*'dti'"):
        JdmGraph(broken)
    failing = {
        "nodes": [
            {"id": "i", "type": "inputNode", "name": "i"},
            {
                "id": "e",
                "type": "expressionNode",
                "name": "calc",
                "content": {"expressions": [{"id": "x", "key": "y", "value": "missing + 1"}]},
            },
        ],
        "edges": [{"id": "1", "sourceId": "i", "targetId": "e"}],
    }
    with pytest.raises(EvaluationError, match="'calc'"):
        JdmGraph(failing).evaluate({})
