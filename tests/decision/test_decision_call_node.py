"""The ``call`` node: a strategy evaluating another strategy file."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ruleplus.decision import compile_strategy, load_strategy
from ruleplus.decision.nodes import NODE_TYPES
from ruleplus.decision.nodes.call import check_call
from ruleplus.errors import EvaluationError, StrategyCompileError


@pytest.fixture(autouse=True)
def _register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(NODE_TYPES, "call", check_call)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


CHILD = """\
    id: child
    version: "2"
    inputs:
      income: {type: number, required: true, min: 0}
      age: {type: integer}
    outputs: [tier, limit, young]
    reasons:
      LOW: {en: low income}
      YOUNG: {en: young applicant}
    nodes:
      - id: grade
        type: ruleset
        mode: first
        rules:
          - {when: income < 1000, then: {tier: C, limit: 0}, reason: LOW}
          - {when: "true", then: {tier: A, limit: {expr: income * 3}}}
      - id: youth
        type: expression
        assign:
          young: age < 25
      - id: flag
        type: rule
        when: young
        reason: YOUNG
    """

PARENT = """\
    id: parent
    inputs:
      salary: {type: number}
      age: {type: integer}
      years: {type: integer}
    outputs: [decision, grade, maxLimit, isYoung]
    reasons:
      OLD: {en: too many years}
      LOW: {en: low income}
      YOUNG: {en: young applicant}
      CAP: {en: limit capped}
    nodes:
      - id: route
        type: switch
        cases:
          - {when: years > 60, goto: old}
        default: sub
      - id: old
        type: rule
        when: "true"
        then: {decision: decline}
        reason: OLD
        next: end
      - id: sub
        type: call
        strategy: policies/child.yaml
        inputs: {income: salary / 12}
        outputs: {grade: tier, maxLimit: limit, isYoung: young}
      - id: decide
        type: ruleset
        mode: first
        rules:
          - {when: grade == "C", then: {decision: decline}}
          - {when: maxLimit > 20000, then: {decision: refer}, reason: CAP}
          - {when: "true", then: {decision: approve}}
    """


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    _write(tmp_path / "policies" / "child.yaml", CHILD)
    return _write(tmp_path / "parent.yaml", PARENT)


RECORDS: list[dict[str, Any]] = [
    {"salary": 6000.0, "age": 30, "years": 5},  # tier C (500/month), LOW
    {"salary": 120000.0, "age": 22, "years": 1},  # tier A, young, limit 30000 -> refer
    {"salary": 60000.0, "age": None, "years": None},  # tier A, age unknown
    {"salary": None, "age": 40, "years": 70},  # routed away: the call never runs
    {"salary": 36000.0, "age": 50, "years": 10},  # tier A, 9000
    {"salary": None, "age": 40, "years": 3},  # the child's required income is missing
    {"salary": -12.0, "age": 40, "years": 3},  # the child's min is violated
]


def test_outputs_reasons_and_row_equals_vector(parent: Path) -> None:
    strategy = load_strategy(parent)
    frame = strategy.evaluate_frame(pl.DataFrame(RECORDS), reasons=True)
    assert frame.height == len(RECORDS)
    assert frame.schema["grade"] == pl.String
    assert frame.schema["maxLimit"] == pl.Float64
    assert frame.schema["isYoung"] == pl.Boolean
    for i, rec in enumerate(RECORDS):
        got = frame.row(i, named=True)
        try:
            decision = strategy.evaluate(rec)
        except EvaluationError as exc:
            assert got["_error"] == exc.message
            assert got["decision"] is None
            continue
        assert got["_error"] is None
        for name in ("decision", "grade", "maxLimit", "isYoung"):
            assert got[name] == decision.outputs.get(name), (i, name)
        assert got["reasons"] == [r.code for r in decision.reasons]
    by_row = [strategy.evaluate(r) for r in RECORDS[:5]]
    assert [d.decision for d in by_row] == ["decline", "refer", "approve", "decline", "approve"]
    assert by_row[0].outputs == {
        "decision": "decline",
        "grade": "C",
        "maxLimit": 0,
        "isYoung": False,
    }
    assert [(r.code, r.node, r.text_en) for r in by_row[1].reasons] == [
        ("YOUNG", "sub", "young applicant"),
        ("CAP", "decide", "limit capped"),
    ]
    assert [(r.code, r.node) for r in by_row[0].reasons] == [("LOW", "sub")]
    assert "isYoung" not in by_row[2].outputs  # null outputs of the child stay null
    assert by_row[3].reasons[0].code == "OLD"


def test_child_validation_error_names_call_node_and_fields(parent: Path) -> None:
    strategy = load_strategy(parent)
    with pytest.raises(EvaluationError) as info:
        strategy.evaluate({"salary": None, "age": 40, "years": 3})
    exc = info.value
    assert exc.context["node"] == "sub"
    assert exc.context["strategy"] == "parent"
    assert exc.context["sub_strategy"] == "child"
    assert exc.context["fields"] == ["income"]
    assert "income: is required" in exc.message
    with pytest.raises(EvaluationError, match="income: must be >= 0"):
        strategy.evaluate({"salary": -12.0, "age": 40, "years": 3})
    frame = strategy.evaluate_frame(pl.DataFrame(RECORDS))
    assert frame["_error"].to_list()[5] == "sub: sub-strategy 'child' failed: income: is required"
    # a row failing the caller's own schema stops there: the child does not add its problems
    bad = pl.DataFrame({"salary": [None], "age": [40], "years": [2.5]})
    assert strategy.evaluate_frame(bad)["_error"].to_list() == [
        "years: expected a whole number, got another type"
    ]


def test_trace_shows_the_sub_strategy(parent: Path) -> None:
    decision = load_strategy(parent).evaluate(RECORDS[1], trace=True)
    assert decision.trace is not None
    call = next(t for t in decision.trace if t.node == "sub")
    assert call.type == "call"
    assert call.inputs == {"salary": 120000.0, "age": 22}
    assert call.outputs == {"grade": "A", "maxLimit": 30000.0, "isYoung": True}
    assert call.detail["strategy"] == "child"
    assert [t["node"] for t in call.detail["trace"]] == ["grade", "youth", "flag"]


def test_same_named_fields_pass_through_and_vector_masks(tmp_path: Path) -> None:
    # 'age' is not bound in 'inputs': the caller's field of the same name is passed
    _write(tmp_path / "policies" / "child.yaml", CHILD)
    strategy = load_strategy(_write(tmp_path / "parent.yaml", PARENT))
    assert strategy.evaluate({"salary": 24000.0, "age": 20}).outputs["isYoung"] is True
    frame = strategy.evaluate_frame(pl.DataFrame({"salary": [24000.0], "age": [20], "years": [1]}))
    assert frame["isYoung"].to_list() == [True]


def test_unknown_output_lists_the_sub_outputs(tmp_path: Path) -> None:
    _write(tmp_path / "policies" / "child.yaml", CHILD)
    path = _write(tmp_path / "parent.yaml", PARENT.replace("isYoung: young}", "isYoung: yung}"))
    with pytest.raises(StrategyCompileError) as info:
        compile_strategy(path)
    assert "no output 'yung'" in info.value.message
    assert "tier, limit, young" in info.value.message
    assert info.value.context["node"] == "sub"


def test_unknown_input_lists_the_sub_inputs(tmp_path: Path) -> None:
    _write(tmp_path / "policies" / "child.yaml", CHILD)
    text = PARENT.replace("{income: salary / 12}", "{incme: salary}")
    path = _write(tmp_path / "parent.yaml", text)
    with pytest.raises(StrategyCompileError, match="no input 'incme'; its inputs are: income, age"):
        compile_strategy(path)


def test_unbound_required_input_and_wrong_type(tmp_path: Path) -> None:
    _write(tmp_path / "policies" / "child.yaml", CHILD)
    path = _write(tmp_path / "parent.yaml", PARENT.replace("{income: salary / 12}", "{}"))
    with pytest.raises(StrategyCompileError, match="requires input 'income'"):
        compile_strategy(path)
    text = PARENT.replace("{income: salary / 12}", "{income: age > 3}")
    path = _write(tmp_path / "parent.yaml", text)
    message = "sub-input 'income' is number, the expression gives boolean"
    with pytest.raises(StrategyCompileError, match=message):
        compile_strategy(path)


def test_missing_sub_strategy_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "parent.yaml", PARENT)
    with pytest.raises(StrategyCompileError, match=r"sub-strategy file not found: .*child\.yaml"):
        compile_strategy(path)


LOOP = """\
    id: {id}
    inputs:
      x: {{type: number}}
    nodes:
      - id: again
        type: call
        strategy: {target}
        inputs: {{x: x}}
        outputs: {{y: y}}
    """


def test_recursion_is_detected(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", LOOP.format(id="a", target="sub/b.yaml"))
    _write(tmp_path / "sub" / "b.yaml", LOOP.format(id="b", target="../a.yaml"))
    loop = r"strategy calls itself: a\.yaml -> sub/b\.yaml -> a\.yaml"
    with pytest.raises(StrategyCompileError, match=loop):
        compile_strategy(tmp_path / "a.yaml")
    _write(tmp_path / "self.yaml", LOOP.format(id="me", target="self.yaml"))
    loop = r"strategy calls itself: self\.yaml -> self\.yaml"
    with pytest.raises(StrategyCompileError, match=loop):
        compile_strategy(tmp_path / "self.yaml")


def test_dotted_sub_inputs_are_nested_records(tmp_path: Path) -> None:
    _write(
        tmp_path / "child.yaml",
        """\
        id: nested
        inputs:
          applicant.income: {type: number, required: true}
          applicant.age: {type: integer}
        nodes:
          - id: calc
            type: expression
            assign:
              double: applicant.income * 2
        """,
    )
    parent = _write(
        tmp_path / "parent.yaml",
        """\
        id: caller
        inputs:
          income: {type: number, required: true}
        nodes:
          - id: sub
            type: call
            strategy: child.yaml
            inputs: {applicant.income: income, applicant.age: "30"}
            outputs: {twice: double}
        """,
    )
    strategy = compile_strategy(parent)
    assert strategy.evaluate({"income": 21.5}).outputs == {"twice": 43.0}
    frame = strategy.evaluate_frame(pl.DataFrame({"income": [21.5, 1.0]}))
    assert frame["twice"].to_list() == [43.0, 2.0]


def test_sub_reason_codes_missing_from_caller_are_a_warning(tmp_path: Path) -> None:
    _write(tmp_path / "policies" / "child.yaml", CHILD)
    text = PARENT.replace("      YOUNG: {en: young applicant}\n", "")
    path = _write(tmp_path / "parent.yaml", text)
    strategy = compile_strategy(path)
    assert any("YOUNG" in w and "sub" in w for w in strategy.warnings)
    decision = strategy.evaluate(RECORDS[1])
    assert [r.code for r in decision.reasons] == ["YOUNG", "CAP"]
