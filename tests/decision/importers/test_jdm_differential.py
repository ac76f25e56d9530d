"""Random decision graphs through zen-engine and through ruleplus: the results must agree.

Graphs are generated with hypothesis: decision tables (first and collect hits) whose cells are
comparisons, ranges, intervals, lists, bare values and ``$`` expressions, expression nodes
(pass-through or not), and switches (first and collect). Each graph runs on random inputs in
zen-engine 2.1.3 (the reference) and natively in ruleplus (:class:`JdmGraph`); first-hit
chains also run as the ruleplus strategy the importer translates them to.
"""

from __future__ import annotations

import json
from typing import Any

import zen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleplus.decision import compile_strategy
from ruleplus.decision.importers.jdm import JdmGraph, jdm_to_strategy, same_json
from ruleplus.errors import RuleplusError

NUMBER_FIELDS = ("a", "b")
STRING_VALUES = ("x", "y", "z")

number_cells = st.one_of(
    st.just(""),
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.integers(-5, 15)).map(
        lambda p: f"{p[0]} {p[1]}"
    ),
    st.tuples(
        st.sampled_from("[("), st.integers(-5, 5), st.integers(5, 15), st.sampled_from("])")
    ).map(lambda p: f"{p[0]}{p[1]}..{p[2]}{p[3]}"),
    st.lists(st.integers(-3, 12), min_size=1, max_size=3).map(lambda xs: ", ".join(map(str, xs))),
    st.integers(-3, 12).map(str),
    st.tuples(st.integers(-5, 5), st.integers(5, 15)).map(lambda p: f"$ > {p[0]} and $ < {p[1]}"),
    st.tuples(st.integers(-5, 5), st.integers(5, 15)).map(lambda p: f">= {p[0]} and <= {p[1]}"),
)
string_cells = st.one_of(
    st.just(""),
    st.lists(st.sampled_from(STRING_VALUES), min_size=1, max_size=2, unique=True).map(
        lambda xs: ", ".join(f'"{x}"' for x in xs)
    ),
    st.sampled_from(STRING_VALUES).map(lambda x: f'"{x}"'),
)
output_cells = st.one_of(
    st.sampled_from(['"approve"', '"refer"', '"decline"']),
    st.integers(-10, 100).map(str),
    st.sampled_from(["a * 2", "a + b", "b / 2", "s", "a > b"]),
)
inputs = st.fixed_dictionaries(
    {
        "a": st.integers(-6, 16),
        "b": st.one_of(
            st.integers(-6, 16), st.floats(-6, 16, allow_nan=False).map(lambda v: round(v, 3))
        ),
        "s": st.sampled_from(STRING_VALUES),
    }
)


@st.composite
def tables(draw: st.DrawFn, policy: str | None = None) -> dict[str, Any]:
    hit = policy or draw(st.sampled_from(["first", "collect"]))
    columns = [("in_a", "a"), ("in_b", "b"), ("in_s", "s")]
    outputs = [("out_d", "decision"), ("out_v", "value")]
    rules = []
    for n in range(draw(st.integers(1, 6))):
        rule: dict[str, str] = {"_id": f"r{n}"}
        rule["in_a"] = draw(number_cells)
        rule["in_b"] = draw(number_cells)
        rule["in_s"] = draw(string_cells)
        rule["out_d"] = draw(st.sampled_from(['"approve"', '"refer"', '"decline"']))
        rule["out_v"] = draw(output_cells)
        rules.append(rule)
    return {
        "id": "table",
        "type": "decisionTableNode",
        "name": "table",
        "content": {
            "hitPolicy": hit,
            "passThrough": draw(st.booleans()),
            "inputs": [{"id": i, "name": f, "field": f} for i, f in columns],
            "outputs": [{"id": i, "name": f, "field": f} for i, f in outputs],
            "rules": rules,
        },
    }


def _expression(node_id: str, pairs: list[tuple[str, str]], pass_through: bool) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "expressionNode",
        "name": node_id,
        "content": {
            "expressions": [
                {"id": f"{node_id}{i}", "key": k, "value": v} for i, (k, v) in enumerate(pairs)
            ],
            "passThrough": pass_through,
        },
    }


derived = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2", "nested.x"]),
        st.sampled_from(
            [
                "a * 1.5",
                "a + b",
                "a > b ? a : b",
                "max([a, b])",
                "a % 3",
                "-a",
                's == "x"',
                "b / (a - 2)",
                "round(b, 1)",
                "a in [1..5]",
                "`${s}-${a}`",
                "$.d1 ?? 0",
            ]
        ),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "in", "type": "inputNode", "name": "in"}]
    edges: list[dict[str, Any]] = []
    last = "in"
    if draw(st.booleans()):
        nodes.append(_expression("derive", draw(derived), True))
        edges.append({"id": "e0", "sourceId": last, "targetId": "derive"})
        last = "derive"
    nodes.append(draw(tables()))
    edges.append({"id": "e1", "sourceId": last, "targetId": "table"})
    last = "table"
    if draw(st.booleans()):
        policy = draw(st.sampled_from(["first", "collect"]))
        nodes.append(
            {
                "id": "sw",
                "type": "switchNode",
                "name": "sw",
                "content": {
                    "hitPolicy": policy,
                    "statements": [
                        {"id": "s1", "condition": draw(st.sampled_from(["a > 3", 's == "x"']))},
                        {"id": "s2", "condition": draw(st.sampled_from(["b < 5", ""]))},
                    ],
                },
            }
        )
        nodes.append(_expression("left", [("branch", '"left"'), ("k", "a * 2")], True))
        nodes.append(_expression("right", [("branch2", '"right"')], draw(st.booleans())))
        edges += [
            {"id": "e2", "sourceId": "table", "targetId": "sw"},
            {"id": "e3", "sourceId": "sw", "targetId": "left", "sourceHandle": "s1"},
            {"id": "e4", "sourceId": "sw", "targetId": "right", "sourceHandle": "s2"},
        ]
        if draw(st.booleans()):
            nodes.append({"id": "out", "type": "outputNode", "name": "out"})
            edges += [
                {"id": "e5", "sourceId": "left", "targetId": "out"},
                {"id": "e6", "sourceId": "right", "targetId": "out"},
            ]
    elif draw(st.booleans()):
        nodes.append({"id": "out", "type": "outputNode", "name": "out"})
        edges.append({"id": "e2", "sourceId": "table", "targetId": "out"})
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


ENGINE = zen.ZenEngine()


def _zen(decision: Any, data: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", decision.evaluate(data)["result"]
    except Exception:  # zen raises plain exceptions for every kind of failure
        return "error", None


def _ours(graph: JdmGraph, data: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", graph.evaluate(data)["result"]
    except RuleplusError:
        return "error", None


def _agree_with_zen(graph: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """zen and the native evaluator give the same outcome (ok or error) and result."""
    decision = ENGINE.create_decision(json.dumps(graph))
    native = JdmGraph(graph)
    for data in records:
        want, got = _zen(decision, data), _ours(native, data)
        assert want[0] == got[0], (json.dumps(graph), data, want, got)
        if want[0] == "ok":
            assert same_json(got[1], want[1]), (json.dumps(graph), data, want[1], got[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.lists(inputs, min_size=1, max_size=4))
def test_random_graphs_agree_with_zen(graph: dict[str, Any], records: list[dict[str, Any]]) -> None:
    _agree_with_zen(graph, records)


translatable_outputs = st.one_of(
    st.integers(-10, 100).map(str), st.sampled_from(["a * 2", "a + b", "b / 2"])
)


@st.composite
def chains(draw: st.DrawFn) -> dict[str, Any]:
    table = draw(tables("first"))
    table["content"]["passThrough"] = True
    for rule in table["content"]["rules"]:
        rule["out_v"] = draw(translatable_outputs)
    final = _expression(
        "final",
        [
            ("decision", "decision"),
            ("value", "value"),
            ("score", draw(st.sampled_from(["a * 2 + b", "a > b ? 1 : 0", "min([a, b])"]))),
        ],
        draw(st.booleans()),  # pass-through: zen's result then carries the inputs too
    )
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "in"},
            table,
            final,
            {"id": "out", "type": "outputNode", "name": "out"},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "table"},
            {"id": "e2", "sourceId": "table", "targetId": "final"},
            {"id": "e3", "sourceId": "final", "targetId": "out"},
        ],
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.lists(inputs, min_size=1, max_size=4))
def test_translated_strategies_agree_with_zen(
    graph: dict[str, Any], records: list[dict[str, Any]]
) -> None:
    strategy = compile_strategy(jdm_to_strategy(graph, name="random"))
    decision = ENGINE.create_decision(json.dumps(graph))
    for data in records:
        want = _zen(decision, data)
        assert want[0] == "ok"
        # zen echoes every input key through pass-through nodes; a strategy knows (and
        # returns) only the fields the graph names
        known = set(strategy.outputs)
        expected = {
            k: v for k, v in want[1].items() if v is not None and (k in known or k not in data)
        }
        got = strategy.evaluate(data).outputs
        assert same_json(got, expected), (json.dumps(graph), data, expected, got)
        frame = strategy.evaluate_frame([data]).to_dicts()[0]
        row = {k: v for k, v in frame.items() if k in got or (k in expected)}
        assert same_json({k: v for k, v in row.items() if v is not None}, expected)


# harder graphs: missing and mistyped inputs, nested paths, cells zen refuses or errors on
# (they never match), outputs that fail (the row is skipped), collect tables feeding
# expression nodes, outputPath, joins, ``$nodes``, closures and templates
odd_cells = st.one_of(
    number_cells,
    string_cells,
    st.sampled_from(
        ["null", '"x", 1', '> "a"', 'startsWith($, "x")', "$ == null", "len($) > 0", "]1..5[",
         ")1..5(", "not(1)", "$ ?? 0 > 1", 'contains(["x", "y"], $)', "$.z > 1", "-", " "]
    ),
)  # fmt: skip
odd_outputs = st.one_of(
    output_cells,
    st.sampled_from(
        ["missing + 1", "null", "{a: 1, b: s}", "[a, b]", "sum([a, b])", "`${s}!`", "p.q",
         "$nodes.in.a", "a ?? 1", "map([1, 2], # + a)"]
    ),
)  # fmt: skip
odd_inputs = st.fixed_dictionaries(
    {},
    optional={
        "a": st.one_of(st.integers(-6, 16), st.none(), st.just("x")),
        "b": st.one_of(st.floats(-6, 16, allow_nan=False).map(lambda v: round(v, 2)), st.none()),
        "s": st.one_of(st.sampled_from(["x", "y", "z", ""]), st.none(), st.integers(0, 3)),
        "p": st.one_of(st.fixed_dictionaries({"q": st.integers(0, 5)}), st.none(), st.just([1])),
    },
)


@st.composite
def odd_graphs(draw: st.DrawFn) -> dict[str, Any]:
    fields = ["a", "b", "s", "p.q", ""]
    cols = [(f"c{i}", draw(st.sampled_from(fields))) for i in range(draw(st.integers(1, 3)))]
    outs = [(f"o{i}", draw(st.sampled_from(["x", "y.z", "out", "y"]))) for i in range(2)]
    rules = []
    for n in range(draw(st.integers(1, 5))):
        rule = {"_id": f"r{n}"}
        for cid, fld in cols:
            rule[cid] = draw(
                odd_cells if fld else st.sampled_from(["a > 1", 's == "x"', "", "a", "true"])
            )
        for oid, _ in outs:
            rule[oid] = draw(odd_outputs)
        rules.append(rule)
    content: dict[str, Any] = {
        "hitPolicy": draw(st.sampled_from(["first", "collect"])),
        "passThrough": draw(st.booleans()),
        "inputs": [{"id": c, "name": c, **({"field": f} if f else {})} for c, f in cols],
        "outputs": [{"id": o, "name": o, "field": f} for o, f in outs],
        "rules": rules,
    }
    if draw(st.booleans()):
        content["outputPath"] = draw(st.sampled_from(["res", "deep.res"]))
    nodes = [
        {"id": "in", "type": "inputNode", "name": "in"},
        {"id": "t", "type": "decisionTableNode", "name": "t", "content": content},
    ]
    edges = [{"id": "e1", "sourceId": "in", "targetId": "t"}]
    if draw(st.booleans()):
        pairs = draw(
            st.lists(st.tuples(st.sampled_from(["k", "m.n", "x"]), odd_outputs), min_size=1,
                     max_size=3)
        )  # fmt: skip
        nodes.append(_expression("x", pairs, draw(st.booleans())))
        edges.append({"id": "e2", "sourceId": "t", "targetId": "x"})
        if draw(st.booleans()):
            edges.append({"id": "e3", "sourceId": "in", "targetId": "x"})  # a join
    if draw(st.booleans()):
        nodes.append({"id": "out", "type": "outputNode", "name": "out"})
        edges.append({"id": "e9", "sourceId": nodes[-2]["id"], "targetId": "out"})
    return {"nodes": nodes, "edges": edges}


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(odd_graphs(), st.lists(odd_inputs, min_size=1, max_size=4))
def test_odd_graphs_agree_with_zen(graph: dict[str, Any], records: list[dict[str, Any]]) -> None:
    _agree_with_zen(graph, records)
