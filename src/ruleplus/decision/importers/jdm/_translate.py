"""Translate a JDM graph into a ruleplus strategy document (readable, editable YAML).

The ruleplus engine compiles strategies into straight-line Python and polars; a graph whose
expressions fit its typed language (arithmetic, comparisons, logic, ternaries, ``min``/``max``,
literal outputs, unary-test cells) becomes an ordinary strategy with the same outputs. Anything
else (closures, templates, objects, dates, collect tables, function nodes) is refused with an
error naming the node and the expression; such graphs still run natively (:class:`JdmGraph`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ruleplus.decision.importers.jdm._graph import JdmGraph, is_jdm_document
from ruleplus.errors import StrategyCompileError
from ruleplus.expr.zen import ZNode, parse_standard, parse_unary

__all__ = ["UntranslatableError", "jdm_source", "jdm_to_strategy", "strategy_yaml"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = frozenset(
    {"if", "then", "else", "and", "or", "not", "in", "is", "null", "true", "false"}
)
_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "+": "+", "-": "-"}
_OPS.update({"*": "*", "/": "/", "%": "%", "^": "**", "and": "and", "or": "or"})
_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4}
_PRECEDENCE.update({"+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "^": 8})


class UntranslatableError(StrategyCompileError):
    """A JDM construct has no ruleplus strategy equivalent (the graph still runs natively)."""


def _node_id(raw: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_\-]", "_", raw) or "node"
    if not re.match(r"[A-Za-z_]", base):
        base = "n_" + base
    out, i = base, 2
    while out in used or out == "end":
        out, i = f"{base}_{i}", i + 1
    used.add(out)
    return out


class _Expr:
    """ZEN syntax tree -> ruleplus expression text."""

    def __init__(self, where: str, source: str) -> None:
        self.where = where
        self.source = source
        self.fields: set[str] = set()

    def fail(self, what: str) -> UntranslatableError:
        return UntranslatableError(
            f"{self.where}: {what} in {self.source!r} has no ruleplus equivalent; "
            "run the graph natively (JdmGraph) or rewrite the expression"
        )

    def text(self, node: ZNode, parent: int = 0) -> str:
        kind = node.kind
        if kind == "num":
            return _number(node.value)
        if kind == "str":
            return _quote(node.value)
        if kind == "bool":
            return "true" if node.value else "false"
        if kind == "null":
            return "null"
        if kind in ("ident", "member"):
            return self.path(node)
        if kind == "unary":
            inner = self.text(node.args[0], 7)
            out = f"not {inner}" if node.value == "not" else f"{node.value}{inner}"
            return f"({out})" if parent > 3 and node.value == "not" else out
        if kind == "binary":
            op = node.value
            if op not in _OPS:
                raise self.fail(f"operator {op!r}")
            prec = _PRECEDENCE[op]
            right_prec = prec if op == "^" else prec + 1
            left = self.text(node.args[0], prec + (1 if op == "^" else 0))
            right = self.text(node.args[1], right_prec if op != "^" else prec)
            out = f"{left} {_OPS[op]} {right}"
            return f"({out})" if prec < parent else out
        if kind == "cond":
            cond, yes, no = (self.text(a) for a in node.args)
            out = f"if {cond} then {yes} else {no}"
            return f"({out})" if parent else out
        if kind == "call" and node.value in ("min", "max") and len(node.args) == 1:
            arg = node.args[0]
            if arg.kind != "array" or not arg.args:
                raise self.fail(f"{node.value}() of a non-literal list")
            return f"{node.value}({', '.join(self.text(a) for a in arg.args)})"
        if kind == "call" and node.value in ("abs", "round", "floor", "ceil"):
            return f"{node.value}({', '.join(self.text(a) for a in node.args)})"
        raise self.fail(f"{kind} {node.value or ''}".strip())

    def path(self, node: ZNode) -> str:
        parts: list[str] = []
        current = node
        while current.kind == "member":
            prop = current.args[1]
            if prop.kind != "str":
                raise self.fail("computed member access")
            parts.append(prop.value)
            current = current.args[0]
        if current.kind == "dollar":
            pass  # ``$.x`` in an expression node is a field the same node derived
        elif current.kind == "ident" and not current.value.startswith("$"):
            parts.append(current.value)
        else:
            raise self.fail(f"reference {current.kind} {current.value or ''}".strip())
        name = ".".join(reversed(parts))
        self.fields.add(name)
        if all(_NAME.match(p) and p not in _KEYWORDS for p in name.split(".")):
            return name
        return f"`{name}`"


def _number(value: Decimal) -> str:
    if value == value.to_integral_value() and "." not in str(value) and "E" not in str(value):
        return str(int(value))
    text = format(value, "f")
    return text if "." in text else text + ".0"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(node: ZNode) -> tuple[bool, Any]:
    if node.kind == "str":
        return True, node.value
    if node.kind == "bool":
        return True, bool(node.value)
    if node.kind == "num":
        value: Decimal = node.value
        return True, int(value) if value == value.to_integral_value() else float(value)
    if node.kind == "unary" and node.value == "-" and node.args[0].kind == "num":
        ok, inner = _literal(node.args[0])
        return ok, -inner
    return False, None


def _column_type(values: list[Any]) -> str:
    """The ruleplus type of a table output column from its literal cells."""
    literals = [v for v in values if v is not None and not (isinstance(v, str) and v[:1] == "=")]
    if literals and all(isinstance(v, bool) for v in literals):
        return "boolean"
    if literals and all(isinstance(v, int | float) and not isinstance(v, bool) for v in literals):
        return "number"
    if not literals and values:
        return "expression"
    return "string"


def _cell(tree: ZNode, where: str, row: int, source: str) -> str:
    """A ZEN unary cell as a ruleplus unary test (comparisons, lists, ranges, ``or``)."""

    def fail() -> UntranslatableError:
        return UntranslatableError(f"{where}: rule {row + 1} cell {source!r} does not translate")

    def value(node: ZNode) -> str:
        ok, lit = _literal(node)
        if not ok:
            raise fail()
        return (
            _quote(lit)
            if isinstance(lit, str)
            else ("true" if lit is True else "false" if lit is False else str(lit))
        )

    def bound(node: ZNode) -> tuple[str, str] | None:
        if node.kind == "call" and node.value == "bool":
            node = node.args[0]
        if (
            node.kind == "binary"
            and node.value in ("<", "<=", ">", ">=")
            and (node.args[0].kind == "dollar")
        ):
            return node.value, value(node.args[1])
        return None

    def test(node: ZNode) -> str:
        if node.kind == "call" and node.value == "bool" and node.args[0].kind == "binary":
            return test(node.args[0])  # "$ > 5" written out: zen casts it to a boolean
        if node.kind == "binary" and node.value == "or":
            return f"{test(node.args[0])}, {test(node.args[1])}"
        if node.kind == "binary" and node.value == "and":
            a, b = bound(node.args[0]), bound(node.args[1])
            if a is None or b is None:
                raise fail()
            low, high = (a, b) if a[0].startswith(">") else (b, a)
            if not (low[0].startswith(">") and high[0].startswith("<")):
                raise fail()
            left = "[" if low[0] == ">=" else "("
            right = "]" if high[0] == "<=" else ")"
            return f"{left}{low[1]}..{high[1]}{right}"
        if node.kind != "binary" or node.args[0].kind != "dollar":
            raise fail()
        op, rhs = node.value, node.args[1]
        if op in ("in", "not in"):
            if rhs.kind == "interval":
                lb, rb = rhs.extra
                if lb not in "[(" or rb not in "])":
                    raise fail()
                text = f"{lb}{value(rhs.args[0])}..{value(rhs.args[1])}{rb}"
            elif rhs.kind == "array" and rhs.args:
                text = ", ".join(value(i) for i in rhs.args)
            else:
                raise fail()
            return f"not({text})" if op == "not in" else text
        if op == "==":
            return value(rhs)
        if op in ("<", "<=", ">", ">=", "!="):
            return f"{op} {value(rhs)}"
        raise fail()

    return test(tree)


def jdm_to_strategy(document: Mapping[str, Any], *, name: str = "jdm") -> dict[str, Any]:
    """A ruleplus strategy document equivalent to a JDM graph.

    Parameters
    ----------
    document : mapping
        The parsed JDM JSON.
    name : str, default="jdm"
        The strategy id (cleaned up to an identifier).

    Raises
    ------
    UntranslatableError
        A node or expression outside the translatable subset (naming it).
    FunctionNodeError
        A JavaScript function node.
    """
    graph = JdmGraph(document, name=name)  # validates the graph and every expression
    nodes = graph.nodes
    succ: dict[str, list[tuple[str, str | None]]] = {n: [] for n in nodes}
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for _, s, t, handle in graph.edges:
        succ[s].append((t, handle))
        preds[t].append(s)
    for nid, outs in succ.items():
        kind = nodes[nid].kind
        if kind != "switchNode" and len({t for t, _ in outs}) > 1:
            raise UntranslatableError(
                f"{name}: node {nodes[nid].name!r} feeds several nodes in parallel; only chains "
                "and switch branches translate"
            )
    for nid, ins in preds.items():
        if len(ins) > 1 and nodes[nid].kind != "outputNode":
            raise UntranslatableError(
                f"{name}: node {nodes[nid].name!r} joins several branches; only the output "
                "node may join"
            )
    used: set[str] = set()
    ids = {nid: _node_id(n.name, used) for nid, n in nodes.items()}
    fields: set[str] = set()
    derived: set[str] = set()
    string_fields: set[str] = set()
    out_nodes: list[dict[str, Any]] = []
    written_last: list[str] = []
    order = _order(graph, succ)
    reasons: dict[str, dict[str, str]] = {}
    for nid in order:
        node = nodes[nid]
        where = f"{name}: node {node.name!r} ({node.kind})"
        nxt = _next(nid, succ, nodes, ids)
        if node.kind in ("inputNode", "outputNode"):
            continue
        tf = node.transform
        if tf is not None and (tf.input_field or tf.output_path or tf.loop):
            raise UntranslatableError(f"{where}: inputField/outputPath/loop do not translate")
        if node.kind == "expressionNode":
            assign: dict[str, Any] = {}
            for key, expr in node.expressions:
                conv = _Expr(where, expr.source)
                text = conv.text(expr.tree)
                fields |= conv.fields - derived
                if "." in key or not _NAME.match(key):
                    raise UntranslatableError(f"{where}: output key {key!r} is not a plain name")
                if text == key:
                    continue  # "decision: decision" passes a field on; strategies keep fields
                ok, literal = _literal(expr.tree)
                number = ok and isinstance(literal, int | float) and not isinstance(literal, bool)
                assign[key] = literal if number else text  # a number stays a number
                derived.add(key)
                if _is_string(expr.tree):
                    string_fields.add(key)
            doc: dict[str, Any] = {"id": ids[nid], "type": "expression"}
            if nxt:
                doc["next"] = nxt
            doc["assign"] = assign or {"_jdm_" + ids[nid]: "true"}
            out_nodes.append(doc)
            if _terminal(nid, succ, nodes):
                written_last += [k for k, _ in node.expressions]
        elif node.kind == "decisionTableNode":
            if node.hit_policy != "first":
                raise UntranslatableError(f"{where}: collect tables do not translate")
            content = node.content or {}
            raw_rules = content.get("rules") or []
            # a column no rule tests ("-" everywhere) is left out: it changes nothing
            used_columns = [
                col for col in node.columns if any((r.get(col.id) or "").strip() for r in raw_rules)
            ]
            columns = []
            for col in used_columns:
                if col.reference is None:
                    raise UntranslatableError(f"{where}: input {col.name!r} has no field")
                conv = _Expr(where, col.field or "")
                columns.append(conv.text(col.reference.tree))
                fields |= conv.fields - derived
            out_fields = [o.get("field") or "" for o in content.get("outputs") or []]
            rows: list[list[Any]] = []
            for n, rule in enumerate(raw_rules):
                cells: list[Any] = []
                for col in used_columns:
                    cell = (rule.get(col.id) or "").strip()
                    if not cell:
                        cells.append("-")
                        continue
                    if '"' in cell or "'" in cell:
                        string_fields.add(col.field or "")
                    cells.append(_cell(parse_unary(cell), where, n, cell))
                for o in content.get("outputs") or []:
                    text = (rule.get(o.get("id")) or "").strip()
                    if not text:
                        cells.append(None)
                        continue
                    tree = parse_standard(text)
                    ok, value = _literal(tree)
                    if not ok:  # a computed output: "=expression" in a ruleplus table
                        conv = _Expr(f"{where} rule {n + 1} output", text)
                        value = "=" + conv.text(tree)
                        fields |= conv.fields - derived
                    cells.append(value)
                rows.append(cells)
            for f in out_fields:
                if not _NAME.match(f):
                    raise UntranslatableError(f"{where}: output field {f!r} is not a plain name")
            derived |= set(out_fields)
            out_columns: list[Any] = []
            for i, f in enumerate(out_fields):
                values = [r[len(columns) + i] for r in rows]
                kind = _column_type(values)
                if kind == "string":
                    string_fields.add(f)
                column: dict[str, Any] = {"name": f}
                if kind != "string":
                    column["type"] = kind
                if "reason" in f.lower():
                    column["reason"] = True
                out_columns.append(column if len(column) > 1 else f)
            doc = {"id": ids[nid], "type": "table", "hit_policy": "first"}
            if nxt:
                doc["next"] = nxt
            doc.update(inputs=columns, outputs=out_columns, rules=[_Flow(r) for r in rows])
            out_nodes.append(doc)
            if _terminal(nid, succ, nodes):
                written_last += out_fields
        elif node.kind == "switchNode":
            if node.hit_policy != "first":
                raise UntranslatableError(f"{where}: collect switches do not translate")
            cases: list[dict[str, Any]] = []
            default: str | None = None
            for sid, cond in node.statements:
                targets = [t for t, h in succ[nid] if h == sid]
                if len(targets) != 1:
                    raise UntranslatableError(f"{where}: statement {sid} needs exactly one edge")
                target = targets[0]
                goto = "end" if nodes[target].kind == "outputNode" else ids[target]
                if cond is None:
                    default = goto
                    break
                conv = _Expr(where, cond.source)
                cases.append({"when": conv.text(cond.tree), "goto": goto})
                fields |= conv.fields - derived
            doc = {"id": ids[nid], "type": "switch", "cases": cases}
            if default is not None:
                doc["default"] = default
            out_nodes.append(doc)
        else:
            raise UntranslatableError(f"{where}: {node.kind} nodes do not translate")
    inputs = {
        f: {"type": "string" if f in string_fields else "number"} for f in sorted(fields - derived)
    }
    outputs = _visible_outputs(graph, order, preds, succ, sorted(inputs), written_last)
    strategy: dict[str, Any] = {
        "id": re.sub(r"[^A-Za-z0-9_\-]", "_", name) or "jdm",
        "version": "1.0.0",
        "title": f"Imported from the JDM graph {name}",
    }
    if "decision" in outputs:
        strategy["decision_field"] = "decision"
    strategy.update(inputs=inputs, outputs=outputs, nodes=out_nodes)
    if reasons:
        strategy["reasons"] = reasons
    return strategy


def _visible_outputs(
    graph: JdmGraph,
    order: list[str],
    preds: dict[str, list[str]],
    succ: dict[str, list[tuple[str, str | None]]],
    inputs: list[str],
    written_last: list[str],
) -> list[str]:
    """The fields zen's result holds: what the last nodes write, plus what pass-through nodes
    (and switches) carry on from their input, down to the input fields themselves."""
    nodes = graph.nodes
    visible: dict[str, list[str]] = {}

    def carried(nid: str) -> list[str]:
        out: list[str] = []
        for p in preds[nid]:
            out += visible.get(p, [])
        return out

    for nid in [n for n in order if nodes[n].kind != "outputNode"] + [
        n for n in order if nodes[n].kind == "outputNode"
    ]:
        node = nodes[nid]
        if node.kind == "inputNode":
            visible[nid] = list(inputs)
        elif node.kind in ("switchNode", "outputNode"):
            visible[nid] = carried(nid)
        else:
            own = (
                [k for k, _ in node.expressions]
                if node.kind == "expressionNode"
                else [o.get("field") or "" for o in (node.content or {}).get("outputs") or []]
            )
            through = node.transform is not None and node.transform.pass_through
            visible[nid] = (carried(nid) if through else []) + own
    ends: list[str] = list(written_last)
    for nid in order:
        if not succ[nid]:
            ends += visible.get(nid, [])
    return [f for f in dict.fromkeys(ends) if f and not f.startswith("_")]


def _is_string(node: ZNode) -> bool:
    if node.kind == "str":
        return True
    if node.kind == "cond":
        return _is_string(node.args[1]) or _is_string(node.args[2])
    return False


def _terminal(nid: str, succ: dict[str, list[tuple[str, str | None]]], nodes: Any) -> bool:
    outs = succ[nid]
    return not outs or all(nodes[t].kind == "outputNode" for t, _ in outs)


def _next(nid: str, succ: dict[str, list[tuple[str, str | None]]], nodes: Any, ids: Any) -> str:
    outs = [t for t, _ in succ[nid]]
    if not outs or nodes[outs[0]].kind == "outputNode":
        return "end"
    return str(ids[outs[0]])


def _order(graph: JdmGraph, succ: dict[str, list[tuple[str, str | None]]]) -> list[str]:
    """Nodes depth-first from the input, switch branches in statement order."""
    start = next(nid for nid, n in graph.nodes.items() if n.kind == "inputNode")
    seen: list[str] = []
    stack = [start]
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.append(nid)
        stack.extend(reversed([t for t, _ in succ[nid]]))
    return seen


class _Flow(list[Any]):
    """A table row, written on one line (``- [">= 780", "-", approve]``)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def strategy_yaml(strategy: Mapping[str, Any], source: str) -> str:
    """The strategy as YAML, with a header naming the source graph."""
    body = yaml.dump(dict(strategy), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return f"# Imported from the GoRules JDM graph {source} by `ruleplus import jdm`.\n{body}"


def jdm_source(source: Any, name: str | None = None) -> dict[str, Any] | None:
    """The strategy for ``source`` when it is a JDM graph (mapping, JSON text or a ``Path``);
    None for anything else (a ruleplus strategy), which is then loaded as usual."""
    document: Any = None
    label = name or "jdm"
    if isinstance(source, Mapping):
        document = source
    elif isinstance(source, str):
        if "inputNode" in source and source.lstrip().startswith("{"):
            try:
                document = json.loads(source)
            except ValueError:
                return None
    elif isinstance(source, Path) and source.suffix.lower() == ".json":
        try:
            text = source.read_text(encoding="utf-8")
        except OSError:
            return None
        if "inputNode" in text:
            try:
                document = json.loads(text)
            except ValueError:
                return None
        label = name or source.name.removesuffix(".json").removesuffix(".jdm")
    if document is None or not is_jdm_document(document):
        return None
    return jdm_to_strategy(document, name=label)
