"""Every node type and every table hit policy, on small hand-written strategies.

Each test states the expected outputs, reasons and arms; :func:`decide_both` runs the records
through the row path and the vector path and checks that both give them. The documents in
:data:`NODE_DOCS` are reused by ``test_decision_backends_agree.py`` on random data.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import polars as pl
import pytest

from ruleplus.decision import ERROR_COLUMN, CompiledStrategy, compile_strategy
from ruleplus.decision.nodes.routing import bucket
from ruleplus.errors import EvaluationError, InputValidationError, StrategyCompileError

XY_INPUTS = {"x": {"type": "integer"}, "y": {"type": "number"}}
XY_SCHEMA = {"x": pl.Int64, "y": pl.Float64}


# helpers ------------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal values: None only equals None, numbers within 1e-9, lists element-wise."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(same(p, q) for p, q in zip(a, b, strict=True))
        )
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def same_outputs(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return set(a) == set(b) and all(same(a[k], b[k]) for k in a)


def vector_rows(
    strategy: CompiledStrategy,
    records: list[dict[str, Any]],
    schema: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Vector results per record: non-null outputs, reason codes, arm and error."""
    frame = pl.DataFrame(records, schema=dict(schema) if schema else None)
    result = strategy.evaluate_frame(frame, reasons=True)
    assert result.height == len(records)
    rows = []
    for row in result.iter_rows(named=True):
        rows.append(
            {
                "outputs": {k: row[k] for k in strategy.outputs if row[k] is not None},
                "reasons": row["reasons"],
                "arm": row.get("arm"),
                "error": row[ERROR_COLUMN],
            }
        )
    return rows


def decide_both(
    strategy: CompiledStrategy,
    records: list[dict[str, Any]],
    schema: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Row results per record, after checking that the vector path gives the same."""
    vector = vector_rows(strategy, records, schema)
    out = []
    for record, vec in zip(records, vector, strict=True):
        decision = strategy.evaluate(record)
        row = {
            "outputs": decision.outputs,
            "reasons": [r.code for r in decision.reasons],
            "arm": decision.arm,
        }
        assert vec["error"] is None, (record, vec["error"])
        assert same_outputs(row["outputs"], vec["outputs"]), (record, row, vec)
        assert row["reasons"] == vec["reasons"], (record, row, vec)
        assert row["arm"] == vec["arm"], (record, row, vec)
        out.append(row)
    return out


def outputs_of(
    strategy: CompiledStrategy,
    records: list[dict[str, Any]],
    schema: Mapping[str, Any] | None = XY_SCHEMA,
) -> list[dict[str, Any]]:
    return [r["outputs"] for r in decide_both(strategy, records, schema)]


def reasons_of(
    strategy: CompiledStrategy,
    records: list[dict[str, Any]],
    schema: Mapping[str, Any] | None = XY_SCHEMA,
) -> list[list[str]]:
    return [r["reasons"] for r in decide_both(strategy, records, schema)]


def table_doc(
    hit_policy: str,
    rules: list[Any],
    outputs: list[Any] | None = None,
    aggregation: str | None = None,
    reasons: dict[str, Any] | None = None,
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": "tab",
        "type": "table",
        "hit_policy": hit_policy,
        "inputs": ["x", "y"],
        "outputs": outputs or ["out"],
        "rules": rules,
    }
    if aggregation is not None:
        node["aggregation"] = aggregation
    doc: dict[str, Any] = {"id": f"table_{hit_policy}", "inputs": XY_INPUTS, "nodes": [node]}
    if reasons:
        doc["reasons"] = reasons
    return doc


# documents ------------------------------------------------------------------------------------

NUMBERS = [["< 3", "-", 10], ["[1..10]", "< 1", 20], ["> 10", "-", 30]]
"""Rules 1 and 2 overlap for x in [1, 3) and y < 1; x in [3..10] with y >= 1 matches nothing."""
NUMBERS_CATCH_ALL = [*NUMBERS, ["-", "-", 1]]
LABELS = [["< 3", "-", "low"], ["[1..10]", "< 1", "high"], ["-", "-", "mid"]]
PRIORITY = [{"name": "out", "priority": ["high", "mid", "low"]}]
NUMBER_OUT = [{"name": "out", "type": "number"}]
REASONS = {
    "A": {"en": "Reason A", "zh": "原因A"},
    "B": {"en": "Reason B", "zh": "原因B"},
    "C": {"en": "Reason C"},
    "D": {"en": "Reason D", "zh": "原因D"},
}

EXPRESSION_DOC: dict[str, Any] = {
    "id": "expression",
    "inputs": XY_INPUTS,
    "nodes": [
        {
            "id": "calc",
            "type": "expression",
            "assign": {
                "a": "x * 2",
                "b": "a + y",
                "c": 'if x > 3 then "big" else "small"',
                "d": "coalesce(y, 0) + 1",
            },
        }
    ],
}

RULE_DOC: dict[str, Any] = {
    "id": "rule",
    "inputs": XY_INPUTS,
    "reasons": REASONS,
    "nodes": [
        {
            "id": "too_big",
            "type": "rule",
            "when": "x > 5",
            "then": {"decision": "decline", "limit": {"expr": "y * 2"}},
            "reason": "A",
        }
    ],
}

RULESET_ALL_DOC: dict[str, Any] = {
    "id": "ruleset_all",
    "inputs": {**XY_INPUTS, "s": {"type": "string"}},
    "reasons": REASONS,
    "nodes": [
        {
            "id": "rules",
            "type": "ruleset",
            "mode": "all",
            "score_field": "score",
            "hits_field": "hits",
            "rules": [
                {
                    "when": "x > 5",
                    "then": {"decision": "approve", "grade": "A"},
                    "reason": "A",
                    "score": 10,
                },
                {
                    "when": "y < 1",
                    "then": {"decision": "refer", "grade": "B"},
                    "reason": "B",
                    "score": 2.5,
                },
                {"when": 's == "bad"', "then": {"decision": "decline"}, "reason": "C", "score": -4},
                {"when": "x > 8", "then": {"decision": "approve", "grade": "C"}, "reason": "D"},
            ],
        }
    ],
}
RULESET_FIRST_DOC = copy.deepcopy(RULESET_ALL_DOC)
RULESET_FIRST_DOC["id"] = "ruleset_first"
RULESET_FIRST_DOC["nodes"][0]["mode"] = "first"
XYS_SCHEMA = {**XY_SCHEMA, "s": pl.String}

SCORECARD_DOC: dict[str, Any] = {
    "id": "scorecard",
    "inputs": {**XY_INPUTS, "s": {"type": "string"}},
    "reasons": {"RX": {"en": "x", "zh": "叉"}, "RY": {"en": "y"}, "RS": {"en": "s", "zh": "字"}},
    "nodes": [
        {
            "id": "card",
            "type": "scorecard",
            "base_points": 100,
            "reasons_top": 2,
            "points_prefix": "pts_",
            "characteristics": [
                {
                    "name": "x",
                    "input": "x",
                    "reason": "RX",
                    "missing_points": 3,
                    "special": [{"value": -9, "points": 7}],
                    "bins": [
                        {"when": "< 0", "points": 0},
                        {"when": "[0..10)", "points": 10},
                        {"when": ">= 10", "points": 20},
                    ],
                },
                {
                    "name": "y",
                    "input": "y * 2",
                    "reason": "RY",
                    "else_points": 1,
                    "bins": [{"when": "< 1", "points": 5}, {"when": "[1..3]", "points": 15}],
                },
                {
                    "name": "s",
                    "input": "s",
                    "reason": "RS",
                    "bins": [{"when": '"a", "b"', "points": 20}, {"when": '"c"', "points": 10}],
                },
            ],
        }
    ],
}

TREE_DOC: dict[str, Any] = {
    "id": "tree",
    "inputs": XY_INPUTS,
    "reasons": {"L1": {"en": "leaf one"}, "L2": {"en": "leaf two"}},
    "nodes": [
        {
            "id": "tree",
            "type": "tree",
            "root": {
                "if": "x > 5",
                "missing": "then",
                "then": {
                    "if": "y < 1",
                    "then": {"id": "a", "set": {"grade": "A", "rate": 0.1}, "reason": "L1"},
                    "else": {"id": "b", "set": {"grade": "B", "rate": {"expr": "y * 2"}}},
                },
                "else": {"id": "c", "set": {"grade": "C"}, "reason": "L2"},
            },
        }
    ],
}

ROUTING_DOC: dict[str, Any] = {
    "id": "routing",
    "inputs": {"key": {"type": "string"}, "x": {"type": "integer"}},
    "nodes": [
        {
            "id": "route",
            "type": "switch",
            "cases": [{"when": "x > 10", "goto": "high"}, {"when": "x > 5", "goto": "mid"}],
            "default": "low",
        },
        {"id": "high", "type": "expression", "assign": {"band": '"high"'}, "next": "ab"},
        {"id": "mid", "type": "expression", "assign": {"band": '"mid"'}, "next": "ab"},
        {"id": "low", "type": "expression", "assign": {"band": '"low"'}, "next": "ab"},
        {
            "id": "ab",
            "type": "split",
            "key": "key",
            "salt": "s1",
            "arms": [
                {"name": "champion", "share": 70, "goto": "champ"},
                {"name": "challenger", "share": 20, "goto": "chall"},
                {"name": "holdout", "share": 10, "goto": "end"},
            ],
        },
        {"id": "champ", "type": "expression", "assign": {"cut": "600"}, "next": "end"},
        {"id": "chall", "type": "expression", "assign": {"cut": "580"}},
    ],
}
ROUTING_SCHEMA = {"key": pl.String, "x": pl.Int64}

NODE_DOCS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "expression": (EXPRESSION_DOC, XY_SCHEMA),
    "rule": (RULE_DOC, XY_SCHEMA),
    "ruleset_all": (RULESET_ALL_DOC, XYS_SCHEMA),
    "ruleset_first": (RULESET_FIRST_DOC, XYS_SCHEMA),
    "table_unique": (table_doc("unique", NUMBERS), XY_SCHEMA),
    "table_first": (table_doc("first", NUMBERS_CATCH_ALL), XY_SCHEMA),
    "table_priority": (table_doc("priority", LABELS, PRIORITY), XY_SCHEMA),
    "table_any": (table_doc("any", NUMBERS), XY_SCHEMA),
    "table_collect": (table_doc("collect", NUMBERS_CATCH_ALL, NUMBER_OUT), XY_SCHEMA),
    "table_collect_sum": (table_doc("collect", NUMBERS, NUMBER_OUT, "sum"), XY_SCHEMA),
    "table_collect_min": (table_doc("collect", NUMBERS, NUMBER_OUT, "min"), XY_SCHEMA),
    "table_collect_max": (table_doc("collect", NUMBERS, NUMBER_OUT, "max"), XY_SCHEMA),
    "table_collect_count": (table_doc("collect", NUMBERS, NUMBER_OUT, "count"), XY_SCHEMA),
    "table_rule_order": (table_doc("rule_order", LABELS), XY_SCHEMA),
    "table_output_order": (table_doc("output_order", LABELS, PRIORITY), XY_SCHEMA),
    "scorecard": (SCORECARD_DOC, XYS_SCHEMA),
    "tree": (TREE_DOC, XY_SCHEMA),
    "routing": (ROUTING_DOC, ROUTING_SCHEMA),
}
"""name -> (strategy document, polars schema of its inputs)."""


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledStrategy]:
    return {name: compile_strategy(copy.deepcopy(doc)) for name, (doc, _) in NODE_DOCS.items()}


# expression ------------------------------------------------------------------------------------


def test_expression_assigns_in_order_and_propagates_nulls(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["expression"]
    assert s.outputs == ["a", "b", "c", "d"]
    got = outputs_of(
        s, [{"x": 4, "y": 0.5}, {"x": 1, "y": None}, {"x": None, "y": 2.0}, {"x": None, "y": None}]
    )
    assert got == [
        {"a": 8, "b": 8.5, "c": "big", "d": 1.5},
        {"a": 2, "c": "small", "d": 1},  # b = a + null is null, left out
        {"c": "small", "d": 3.0},  # null > 3 is not true: the else branch
        {"c": "small", "d": 1},
    ]


# rule and rulesets -----------------------------------------------------------------------------


def test_single_rule_sets_fields_and_reason_only_when_it_holds(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["rule"]
    rows = decide_both(
        s,
        [{"x": 6, "y": 1.5}, {"x": 5, "y": 1.5}, {"x": None, "y": 1.0}, {"x": 9, "y": None}],
        XY_SCHEMA,
    )
    assert [r["outputs"] for r in rows] == [
        {"decision": "decline", "limit": 3.0},
        {},
        {},
        {"decision": "decline"},
    ]
    assert [r["reasons"] for r in rows] == [["A"], [], [], ["A"]]
    assert s.evaluate({"x": 6, "y": 1.0}).decision == "decline"
    assert s.evaluate({"x": 1}).decision is None


def test_ruleset_all_hits_escalates_decision_and_adds_scores(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["ruleset_all"]
    assert s.outputs == ["decision", "grade", "score", "hits"]
    records = [
        {"x": 1, "y": 2.0, "s": "good"},  # no hit
        {"x": 6, "y": 2.0, "s": "good"},  # approve
        {"x": 6, "y": 0.5, "s": "good"},  # approve then refer: refer beats approve
        {"x": 1, "y": 0.5, "s": "bad"},  # refer then decline: decline beats refer
        {"x": 9, "y": 0.5, "s": "bad"},  # all four: a later approve does not undo decline
        {"x": 9, "y": 0.5, "s": None},  # refer stays although rule 4 approves after it
        {"x": None, "y": None, "s": None},  # null conditions count as false
    ]
    rows = decide_both(s, records, XYS_SCHEMA)
    assert [r["outputs"].get("decision") for r in rows] == [
        None,
        "approve",
        "refer",
        "decline",
        "decline",
        "refer",
        None,
    ]
    # other fields take the last hit's value
    assert [r["outputs"].get("grade") for r in rows] == [None, "A", "B", "B", "C", "C", None]
    assert [r["outputs"]["score"] for r in rows] == [0, 10, 12.5, -1.5, 8.5, 12.5, 0]
    assert [r["outputs"]["hits"] for r in rows] == [0, 1, 2, 2, 4, 3, 0]
    assert [r["reasons"] for r in rows] == [
        [],
        ["A"],
        ["A", "B"],
        ["B", "C"],
        ["A", "B", "C", "D"],
        ["A", "B", "D"],
        [],
    ]


def test_ruleset_all_hits_uses_the_strategys_decision_order() -> None:
    doc = copy.deepcopy(RULESET_ALL_DOC)
    doc["decision_order"] = ["approve", "refer", "decline"]  # approve is now the most severe
    s = compile_strategy(doc)
    rows = decide_both(
        s, [{"x": 6, "y": 0.5, "s": "bad"}, {"x": 1, "y": 0.5, "s": "bad"}], XYS_SCHEMA
    )
    assert [r["outputs"]["decision"] for r in rows] == ["approve", "refer"]


def test_ruleset_first_hit_stops_at_the_first_rule(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["ruleset_first"]
    rows = decide_both(
        s,
        [
            {"x": 9, "y": 0.5, "s": "bad"},
            {"x": 1, "y": 0.5, "s": "bad"},
            {"x": 1, "y": 2.0, "s": "bad"},
            {"x": 1, "y": 2.0, "s": None},
        ],
        XYS_SCHEMA,
    )
    assert [r["outputs"] for r in rows] == [
        {"decision": "approve", "grade": "A", "score": 10, "hits": 1},
        {"decision": "refer", "grade": "B", "score": 2.5, "hits": 1},
        {"decision": "decline", "score": -4, "hits": 1},
        {"score": 0, "hits": 0},
    ]
    assert [r["reasons"] for r in rows] == [["A"], ["B"], ["C"], []]


# tables ----------------------------------------------------------------------------------------


def test_table_unique_single_match_no_match_and_nulls(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["table_unique"]
    got = outputs_of(
        s,
        [
            {"x": 1, "y": 1.0},
            {"x": 5, "y": 0.5},
            {"x": 20, "y": 3.0},
            {"x": 5, "y": 2.0},
            {"x": None, "y": None},
            {"x": 5, "y": None},
        ],
    )
    # string is the default output type; no match (and a null input) gives a null output
    assert got == [{"out": "10"}, {"out": "20"}, {"out": "30"}, {}, {}, {}]


def test_table_unique_violation_fails_the_row(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["table_unique"]
    with pytest.raises(EvaluationError, match="unique") as info:
        s.evaluate({"x": 1, "y": 0.5})
    assert "r1" in info.value.message and "r2" in info.value.message
    assert info.value.context["node"] == "tab"
    frame = pl.DataFrame([{"x": 1, "y": 0.5}, {"x": 1, "y": 1.0}], schema=XY_SCHEMA)
    result = s.evaluate_frame(frame)
    error = result.get_column(ERROR_COLUMN).to_list()
    assert error[0] is not None and "tab" in error[0] and "unique" in error[0]
    assert error[1] is None
    assert result.get_column("out").to_list() == [None, "10"]


def test_table_first_takes_the_first_match(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["table_first"]
    got = outputs_of(
        s, [{"x": 1, "y": 0.5}, {"x": 5, "y": 0.5}, {"x": 5, "y": 2.0}, {"x": None, "y": None}]
    )
    assert got == [{"out": "10"}, {"out": "20"}, {"out": "1"}, {"out": "1"}]


def test_table_priority_takes_the_highest_ranked_output(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["table_priority"]
    got = outputs_of(
        s, [{"x": 1, "y": 0.5}, {"x": 1, "y": 2.0}, {"x": 20, "y": 0.5}, {"x": None, "y": None}]
    )
    # r1 low + r2 high + r3 mid -> high; r1 low + r3 mid -> mid (not the first rule's low)
    assert got == [{"out": "high"}, {"out": "mid"}, {"out": "mid"}, {"out": "mid"}]


def test_table_priority_needs_priority_lists() -> None:
    with pytest.raises(StrategyCompileError, match="priority"):
        compile_strategy(table_doc("priority", LABELS))


def test_table_any_agreeing_and_disagreeing_matches() -> None:
    agree = compile_strategy(
        table_doc("any", [["< 3", "-", 10], ["[1..10]", "< 1", 10], ["> 10", "-", 30]])
    )
    assert outputs_of(agree, [{"x": 1, "y": 0.5}, {"x": 20, "y": 0.5}, {"x": 5, "y": 2.0}]) == [
        {"out": "10"},
        {"out": "30"},
        {},
    ]
    disagree = compile_strategy(table_doc("any", NUMBERS))
    with pytest.raises(EvaluationError, match="'any'"):
        disagree.evaluate({"x": 1, "y": 0.5})
    assert disagree.evaluate({"x": 1, "y": 2.0}).outputs == {"out": "10"}
    result = disagree.evaluate_frame(
        pl.DataFrame([{"x": 1, "y": 0.5}, {"x": 1, "y": 2.0}], schema=XY_SCHEMA)
    )
    error = result.get_column(ERROR_COLUMN).to_list()
    assert error[0] is not None and "'any'" in error[0]
    assert error[1] is None
    assert result.get_column("out").to_list() == [None, "10"]


def test_table_collect_lists_every_match_in_rule_order(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["table_collect"]
    got = outputs_of(s, [{"x": 1, "y": 0.5}, {"x": 20, "y": 0.5}, {"x": None, "y": None}])
    assert got == [{"out": [10.0, 20.0, 1.0]}, {"out": [30.0, 1.0]}, {"out": [1.0]}]
    no_catch_all = compile_strategy(table_doc("collect", NUMBERS, NUMBER_OUT))
    assert outputs_of(no_catch_all, [{"x": 5, "y": 2.0}]) == [{"out": []}]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("sum", [{"out": 30.0}, {"out": 30.0}, {}]),  # sum over no hits is null
        ("min", [{"out": 10.0}, {"out": 30.0}, {}]),
        ("max", [{"out": 20.0}, {"out": 30.0}, {}]),
        ("count", [{"out": 2}, {"out": 1}, {"out": 0}]),  # count over no hits is 0
    ],
)
def test_table_collect_aggregations(
    compiled: dict[str, CompiledStrategy], aggregation: str, expected: list[dict[str, Any]]
) -> None:
    s = compiled[f"table_collect_{aggregation}"]
    got = outputs_of(s, [{"x": 1, "y": 0.5}, {"x": 20, "y": 3.0}, {"x": 5, "y": 2.0}])
    assert got == expected
    if aggregation == "count":
        assert all(isinstance(o["out"], int) for o in got)
        frame = s.evaluate_frame(pl.DataFrame([{"x": 5, "y": 2.0}], schema=XY_SCHEMA))
        assert frame.get_column("out").dtype == pl.Int64


def test_table_collect_sum_of_integers_stays_integer() -> None:
    s = compile_strategy(table_doc("collect", NUMBERS, [{"name": "out", "type": "integer"}], "sum"))
    assert outputs_of(s, [{"x": 1, "y": 0.5}, {"x": 5, "y": 2.0}]) == [{"out": 30}, {}]


def test_table_rule_order_and_output_order_lists(compiled: dict[str, CompiledStrategy]) -> None:
    records = [{"x": 1, "y": 0.5}, {"x": 1, "y": 2.0}, {"x": 20, "y": 0.5}]
    assert outputs_of(compiled["table_rule_order"], records) == [
        {"out": ["low", "high", "mid"]},
        {"out": ["low", "mid"]},
        {"out": ["mid"]},
    ]
    assert outputs_of(compiled["table_output_order"], records) == [
        {"out": ["high", "mid", "low"]},
        {"out": ["mid", "low"]},
        {"out": ["mid"]},
    ]


def test_table_aggregation_only_with_collect() -> None:
    with pytest.raises(StrategyCompileError, match="aggregation"):
        compile_strategy(table_doc("first", NUMBERS, NUMBER_OUT, "sum"))


def test_table_reason_outputs_become_reasons() -> None:
    rules = [["< 3", "-", "low", "A"], ["[1..10]", "< 1", "high", "B"], ["-", "-", "mid", None]]
    outputs = ["band", {"name": "why", "reason": True}]
    first = compile_strategy(table_doc("first", rules, outputs, reasons=REASONS))
    rows = decide_both(
        first, [{"x": 1, "y": 0.5}, {"x": 5, "y": 0.5}, {"x": 20, "y": 0.5}], XY_SCHEMA
    )
    assert [r["reasons"] for r in rows] == [["A"], ["B"], []]
    assert [r["outputs"] for r in rows] == [
        {"band": "low", "why": "A"},
        {"band": "high", "why": "B"},
        {"band": "mid"},
    ]
    decision = first.evaluate({"x": 1, "y": 0.5})
    assert [(r.code, r.text_en, r.text_zh, r.node) for r in decision.reasons] == [
        ("A", "Reason A", "原因A", "tab")
    ]
    collect = compile_strategy(table_doc("collect", rules, outputs, reasons=REASONS))
    rows = decide_both(collect, [{"x": 1, "y": 0.5}, {"x": 20, "y": 0.5}], XY_SCHEMA)
    assert [r["reasons"] for r in rows] == [["A", "B"], []]


def test_table_computed_inputs_and_outputs() -> None:
    doc = {
        "id": "computed",
        "inputs": XY_INPUTS,
        "nodes": [
            {
                "id": "tab",
                "type": "table",
                "hit_policy": "first",
                "inputs": ["x + y", "x"],
                "outputs": [
                    {"name": "value", "type": "expression"},
                    {"name": "n", "type": "integer"},
                ],
                "rules": [
                    [">= 10", "-", "=x * 10", 1],
                    ["-", "> y * 5", "=y", 2],
                    ["-", "-", 0, 3],
                ],
            }
        ],
    }
    s = compile_strategy(doc)
    got = outputs_of(
        s, [{"x": 9, "y": 1.5}, {"x": 3, "y": 0.5}, {"x": 2, "y": 0.5}, {"x": None, "y": 1.0}]
    )
    assert got == [
        {"value": 90, "n": 1},
        {"value": 0.5, "n": 2},
        {"value": 0, "n": 3},
        {"value": 0, "n": 3},
    ]


# scorecard -------------------------------------------------------------------------------------


def test_scorecard_points_missing_special_else_and_ranked_reasons(
    compiled: dict[str, CompiledStrategy],
) -> None:
    s = compiled["scorecard"]
    assert s.outputs == ["pts_x", "pts_y", "pts_s", "score"]
    records = [
        {"x": 15, "y": 1.0, "s": "a"},  # best everywhere: no reasons
        {"x": -9, "y": 2.0, "s": "a"},  # special -9 beats bin "< 0"; y*2 = 4: else points
        {"x": None, "y": None, "s": "c"},  # x missing -> 3; y missing -> else points 1
        {"x": -1, "y": 0.2, "s": "z"},  # x lost 20, s lost 20 (tie: document order), y 10
        {"x": 5, "y": 0.25, "s": None},  # s missing without missing_points -> else (0)
    ]
    rows = decide_both(s, records, XYS_SCHEMA)
    assert [r["outputs"] for r in rows] == [
        {"pts_x": 20, "pts_y": 15, "pts_s": 20, "score": 155},
        {"pts_x": 7, "pts_y": 1, "pts_s": 20, "score": 128},
        {"pts_x": 3, "pts_y": 1, "pts_s": 10, "score": 114},
        {"pts_x": 0, "pts_y": 5, "pts_s": 0, "score": 105},
        {"pts_x": 10, "pts_y": 5, "pts_s": 0, "score": 115},
    ]
    # at most reasons_top=2, by points lost (max points minus points), ties in document order
    assert [r["reasons"] for r in rows] == [
        [],
        ["RY", "RX"],
        ["RX", "RY"],
        ["RX", "RS"],
        ["RS", "RX"],
    ]
    weights = [(r.code, r.weight) for r in s.evaluate(records[3]).reasons]
    assert weights == [("RX", 20.0), ("RS", 20.0)]
    reasons = s.evaluate(records[1]).reasons
    # a code without Chinese text falls back to the English one
    assert [(r.text_en, r.text_zh, r.node) for r in reasons] == [
        ("y", "y", "card"),
        ("x", "叉", "card"),
    ]


def test_scorecard_without_prefix_outputs_only_the_score() -> None:
    doc = copy.deepcopy(SCORECARD_DOC)
    del doc["nodes"][0]["points_prefix"]
    doc["nodes"][0]["output"] = "total"
    doc["nodes"][0]["reasons_top"] = 0
    s = compile_strategy(doc)
    assert s.outputs == ["total"]
    rows = decide_both(
        s, [{"x": 15, "y": 1.0, "s": "a"}, {"x": -1, "y": 0.2, "s": "z"}], XYS_SCHEMA
    )
    assert rows[0] == {"outputs": {"total": 155}, "reasons": [], "arm": None}
    assert rows[1] == {"outputs": {"total": 105}, "reasons": [], "arm": None}


# tree ------------------------------------------------------------------------------------------


def test_tree_leaves_and_missing_branches(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["tree"]
    records = [
        {"x": 6, "y": 0.5},  # then/then -> a
        {"x": 6, "y": 2.0},  # then/else -> b
        {"x": 1, "y": 0.5},  # else -> c
        {"x": None, "y": 0.5},  # x > 5 is null: missing goes 'then'; y < 1 -> a
        {"x": 6, "y": None},  # y < 1 is null: default missing goes 'else' -> b (rate null)
        {"x": None, "y": None},  # then, else -> b
    ]
    rows = decide_both(s, records, XY_SCHEMA)
    assert [r["outputs"] for r in rows] == [
        {"grade": "A", "rate": 0.1},
        {"grade": "B", "rate": 4.0},
        {"grade": "C"},
        {"grade": "A", "rate": 0.1},
        {"grade": "B"},
        {"grade": "B"},
    ]
    assert [r["reasons"] for r in rows] == [["L1"], [], ["L2"], ["L1"], [], []]
    traced = [s.evaluate(r, trace=True).trace for r in records]
    assert [t[0].detail for t in traced if t is not None] == ["a", "b", "c", "a", "b", "b"]


# switch and split ------------------------------------------------------------------------------


def test_switch_first_case_and_default(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["routing"]
    rows = decide_both(
        s,
        [
            {"key": "k1", "x": 11},
            {"key": "k1", "x": 6},
            {"key": "k1", "x": 5},
            {"key": "k1", "x": None},
        ],
        ROUTING_SCHEMA,
    )
    assert [r["outputs"]["band"] for r in rows] == ["high", "mid", "low", "low"]


def test_split_bucket_is_stable() -> None:
    # FNV-1a + splitmix64: these values must never change (applicants would switch arms)
    assert [bucket("s1", k) for k in ["k1", "k2", "A20246633", ""]] == [2206, 1383, 2588, 5009]
    assert bucket("s2", "k1") == 8019
    assert bucket("s1", None) == 0
    assert bucket("s1", 12345) == bucket("s1", "12345") == 2568


def test_split_shares_and_row_vector_agree(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["routing"]
    n = 10_000
    records = [{"key": f"applicant-{i}", "x": i % 12} for i in range(n)]
    frame = s.evaluate_frame(pl.DataFrame(records, schema=ROUTING_SCHEMA), reasons=True)
    vector_arms = frame.get_column("arm").to_list()
    row_arms = [s.evaluate(r).arm for r in records]
    assert row_arms == vector_arms
    counts = Counter(row_arms)
    for arm, share in [("champion", 0.7), ("challenger", 0.2), ("holdout", 0.1)]:
        assert abs(counts[arm] / n - share) <= 0.02, counts
    # each arm runs its own nodes: cut 600 / 580 / none
    cuts = dict(zip(vector_arms, frame.get_column("cut").to_list(), strict=True))
    assert cuts == {"champion": 600, "challenger": 580, "holdout": None}
    # deterministic: the same key always gets the same arm
    again = s.evaluate_frame(pl.DataFrame(records[::-1], schema=ROUTING_SCHEMA), reasons=True)
    assert again.get_column("arm").to_list() == vector_arms[::-1]
    assert [s.evaluate(r).arm for r in records[:200]] == row_arms[:200]


def test_split_null_key_goes_to_the_first_arm(compiled: dict[str, CompiledStrategy]) -> None:
    s = compiled["routing"]
    rows = decide_both(s, [{"key": None, "x": 1}, {"key": None, "x": 11}], ROUTING_SCHEMA)
    assert [r["arm"] for r in rows] == ["champion", "champion"]
    assert [r["outputs"] for r in rows] == [
        {"band": "low", "cut": 600},
        {"band": "high", "cut": 600},
    ]


def test_split_salt_reshuffles_applicants() -> None:
    doc = copy.deepcopy(ROUTING_DOC)
    doc["nodes"][4]["salt"] = "another-salt"
    other = compile_strategy(doc)
    first = compile_strategy(copy.deepcopy(ROUTING_DOC))
    keys = [{"key": f"k{i}", "x": 1} for i in range(2000)]
    moved = sum(first.evaluate(r).arm != other.evaluate(r).arm for r in keys)
    assert moved > 500  # about 1 - (0.7² + 0.2² + 0.1²) = 46% change arms


def test_split_shares_are_relative() -> None:
    doc = copy.deepcopy(ROUTING_DOC)
    doc["nodes"][4]["arms"] = [
        {"name": "one", "share": 1, "goto": "champ"},
        {"name": "two", "share": 3, "goto": "chall"},
    ]
    s = compile_strategy(doc)
    records = [{"key": f"applicant-{i}", "x": 1} for i in range(4000)]
    arms = s.evaluate_frame(pl.DataFrame(records, schema=ROUTING_SCHEMA), reasons=True)
    counts = Counter(arms.get_column("arm").to_list())
    assert abs(counts["one"] / 4000 - 0.25) <= 0.02
    assert [s.evaluate(r).arm for r in records] == arms.get_column("arm").to_list()


# input validation -------------------------------------------------------------------------------


def test_bad_rows_fail_validation_on_both_paths() -> None:
    doc = copy.deepcopy(EXPRESSION_DOC)
    doc["inputs"] = {
        "x": {"type": "integer", "required": True, "min": 0, "max": 10},
        "y": {"type": "number", "enum": [0.5, 1.5]},
    }
    s = compile_strategy(doc)
    records = [
        {"x": 11, "y": 0.5},
        {"x": None, "y": 2.0},
        {"x": 2.5, "y": None},
        {"x": 1, "y": 1.5},
    ]
    expected = [
        "x: must be between 0 and 10",
        "x: is required; y: must be one of 0.5, 1.5",
        "x: expected a whole number, got another type",
        None,
    ]
    frame = s.evaluate_frame(pl.DataFrame(records, schema={"x": pl.Float64, "y": pl.Float64}))
    assert frame.get_column(ERROR_COLUMN).to_list() == expected
    assert frame.get_column("a").to_list() == [None, None, None, 2]
    for record, text in zip(records, expected, strict=True):
        if text is None:
            assert s.evaluate(record).outputs["a"] == 2
            continue
        with pytest.raises(InputValidationError) as info:
            s.evaluate(record)
        assert "; ".join(str(p) for p in info.value.problems) == text
        assert s.validate_record(record) == info.value.problems


def test_validation_gives_one_problem_per_field_and_strict_dates() -> None:
    doc = {
        "id": "checks",
        "inputs": {
            "z": {"type": "integer", "min": 0, "max": 10, "enum": [1, 2, 50]},
            "d": {"type": "date"},
        },
        "nodes": [
            {
                "id": "calc",
                "type": "expression",
                "assign": {"later": 'days_between(d, date("2024-12-31"))', "zz": "z"},
            }
        ],
    }
    s = compile_strategy(doc)
    bad_date = "d: expected a date 'YYYY-MM-DD', got another type"
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"z": 20, "d": None}, "z: must be between 0 and 10"),  # not also "must be one of"
        ({"z": 3, "d": None}, "z: must be one of 1, 2, 50"),
        ({"z": 2, "d": "2024-01-02"}, None),
        ({"z": None, "d": " 2024-01-2"}, bad_date),
        ({"z": None, "d": "2024-W01-1"}, bad_date),  # an ISO week date is not YYYY-MM-DD
        ({"z": None, "d": "2024-02-30"}, bad_date),
        ({"z": None, "d": "20240102"}, bad_date),
        ({"z": 50, "d": "2024/01/02"}, "z: must be between 0 and 10; " + bad_date),
    ]
    records = [record for record, _ in cases]
    frame = s.evaluate_frame(pl.DataFrame(records, schema={"z": pl.Int64, "d": pl.String}))
    assert frame.get_column(ERROR_COLUMN).to_list() == [text for _, text in cases]
    for record, text in cases:
        if text is None:
            assert s.evaluate(record).outputs == {"later": 364, "zz": 2}
            continue
        with pytest.raises(InputValidationError) as info:
            s.evaluate(record)
        assert "; ".join(str(p) for p in info.value.problems) == text


def _big_table(n: int, hit_policy: str) -> str:
    rows = "".join(f'      - ["[{i}..{i + 1})", {i * 10}]\n' for i in range(n))
    return (
        "id: big\ninputs:\n  score: {type: number}\noutputs: [limit]\nnodes:\n"
        f"  - id: t\n    type: table\n    hit_policy: {hit_policy}\n    inputs: [score]\n"
        f"    outputs: [{{name: limit, type: number}}]\n    rules:\n{rows}"
    )


@pytest.mark.parametrize(("n", "hit_policy"), [(1100, "first"), (90, "unique"), (70, "first")])
def test_long_tables_compile_flat_and_agree_with_the_vector_back_end(
    n: int, hit_policy: str
) -> None:
    import polars as pl

    from ruleplus.decision import compile_strategy

    strategy = compile_strategy(_big_table(n, hit_policy))  # 1,000 elif levels overflowed
    scores = [0.5, n / 2 + 0.25, n - 0.5, n + 3.0, -1.0]
    rows = [strategy.evaluate({"score": s}).outputs.get("limit") for s in scores]
    assert rows == [0, (n // 2) * 10, (n - 1) * 10, None, None]
    frame = strategy.evaluate_frame(pl.DataFrame({"score": scores}))
    assert frame.get_column("limit").to_list() == rows


def test_a_long_first_ruleset_compiles_flat() -> None:
    from ruleplus.decision import compile_strategy

    rules = "".join(
        f'      - {{when: "score < {i}", then: {{band: {i}}}}}\n' for i in range(1, 200)
    )
    strategy = compile_strategy(
        "id: bands\ninputs:\n  score: {type: number}\noutputs: [band]\nnodes:\n"
        f"  - id: r\n    type: ruleset\n    mode: first\n    rules:\n{rules}"
    )
    assert "while True" in strategy.generated_source
    assert [strategy.evaluate({"score": s}).outputs.get("band") for s in (0, 57.5, 500)] == [
        1,
        58,
        None,
    ]


def _wide_switch(n: int) -> dict[str, Any]:
    cases = [{"when": f"x < {i}", "goto": "low" if i % 2 else "high"} for i in range(1, n)]
    return {
        "id": "wide",
        "inputs": {"x": {"type": "integer"}},
        "nodes": [
            {"id": "route", "type": "switch", "cases": cases, "default": "top"},
            {"id": "low", "type": "expression", "assign": {"band": '"low"'}, "next": "end"},
            {"id": "high", "type": "expression", "assign": {"band": '"high"'}, "next": "end"},
            {"id": "top", "type": "expression", "assign": {"band": '"top"'}, "next": "end"},
        ],
    }


def test_a_switch_of_many_cases_compiles_flat() -> None:
    from ruleplus.decision import compile_strategy

    n = 1100  # nested elif overflowed Python's compiler from about 1,000 branches
    strategy = compile_strategy(_wide_switch(n))
    assert "while True" in strategy.generated_source
    bands = [strategy.evaluate({"x": x}).outputs["band"] for x in (0, 1, 2, n - 2, n + 5)]
    assert bands == ["low", "high", "low", "low", "top"]


def test_a_flat_switch_agrees_with_the_vector_back_end() -> None:
    import polars as pl

    from ruleplus.decision import compile_strategy

    strategy = compile_strategy(_wide_switch(70))  # flat from 64 branches
    assert "while True" in strategy.generated_source
    xs = list(range(-1, 72))
    rows = [strategy.evaluate({"x": x}).outputs["band"] for x in xs]
    frame = strategy.evaluate_frame(pl.DataFrame({"x": xs}))
    assert frame.get_column("band").to_list() == rows
