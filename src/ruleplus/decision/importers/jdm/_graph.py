"""Run a GoRules JDM decision graph natively, with zen-engine's graph semantics.

The walk follows zen's: nodes run once all their predecessors have; a node's input is the merge
of its predecessors' outputs; a switch removes the edges of the statements that did not match
(and, recursively, whatever that leaves unconnected); the result merges the outputs of the
visited nodes that have no outgoing edge. Expressions compile once (:mod:`ruleplus.expr.zen`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruleplus.decision.importers.jdm._js import FunctionNode, js_available
from ruleplus.errors import EvaluationError, ExpressionError, StrategyCompileError
from ruleplus.expr.zen import (
    Scope,
    ZenExpression,
    ZenRuntimeError,
    compile_zen,
    compile_zen_unary,
    dot_insert,
    from_json,
    merge,
    to_json,
)

__all__ = [
    "JDM_CONTENT_TYPE",
    "FunctionNodeError",
    "JdmGraph",
    "is_jdm_document",
    "load_jdm",
]

JDM_CONTENT_TYPE = "application/vnd.gorules.decision"
_KINDS = frozenset(
    {
        "inputNode",
        "outputNode",
        "expressionNode",
        "decisionTableNode",
        "switchNode",
        "decisionNode",
        "functionNode",
    }
)
MAX_SUB_DEPTH = 5
"""Deepest nesting of decision (sub-graph) nodes."""

Loader = Callable[[str], Mapping[str, Any]]


class FunctionNodeError(StrategyCompileError):
    """The graph has a JavaScript function node, which ruleplus does not run."""


def is_jdm_document(doc: Any) -> bool:
    """Whether a parsed document is a JDM decision graph (not a ruleplus strategy)."""
    if not isinstance(doc, Mapping):
        return False
    if doc.get("contentType") == JDM_CONTENT_TYPE:
        return True
    nodes = doc.get("nodes")
    return (
        isinstance(nodes, list)
        and "edges" in doc
        and any(isinstance(n, Mapping) and n.get("type") == "inputNode" for n in nodes)
    )


@dataclass
class _Transform:
    input_field: ZenExpression | None
    output_path: str | None
    pass_through: bool
    loop: bool


@dataclass
class _Column:
    id: str
    name: str
    field: str | None
    reference: ZenExpression | None


@dataclass
class _Rule:
    id: str
    description: str
    tests: list[tuple[int, ZenExpression]]  # (column index, cell)
    outputs: list[tuple[str, ZenExpression]]  # (output path, value)


@dataclass
class _Node:
    id: str
    name: str
    kind: str
    content: Any = None
    transform: _Transform | None = None
    expressions: list[tuple[str, ZenExpression]] = field(default_factory=list)
    columns: list[_Column] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    hit_policy: str = "first"
    statements: list[tuple[str, ZenExpression | None]] = field(default_factory=list)
    sub: JdmGraph | None = None
    function: FunctionNode | None = None
    uses_nodes: bool = False


def _compile(text: Any, where: str, unary: bool = False) -> ZenExpression:
    if not isinstance(text, str):
        raise StrategyCompileError(f"{where}: expected expression text, got {text!r}")
    try:
        return compile_zen_unary(text) if unary else compile_zen(text)
    except ExpressionError as exc:
        raise StrategyCompileError(f"{where}: {exc}") from exc


def _transform(content: Mapping[str, Any], where: str) -> _Transform:
    input_field = content.get("inputField")
    return _Transform(
        _compile(input_field, f"{where} inputField") if input_field else None,
        content.get("outputPath") or None,
        bool(content.get("passThrough", False)),
        content.get("executionMode") == "loop",
    )


class JdmGraph:
    """A compiled JDM decision graph.

    Parameters
    ----------
    document : mapping
        The parsed JDM JSON.
    name : str, default="graph"
        Shown in errors.
    loader : callable, optional
        ``loader(key) -> document`` for decision (sub-graph) nodes; default: files relative to
        ``base``.
    base : Path, optional
        Folder that decision-node keys are relative to.

    Raises
    ------
    StrategyCompileError
        A bad node, edge or expression (naming the node).
    FunctionNodeError
        A JavaScript function node (naming it).
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        name: str = "graph",
        loader: Loader | None = None,
        base: Path | None = None,
        depth: int = 0,
    ) -> None:
        if depth > MAX_SUB_DEPTH:
            raise StrategyCompileError(f"{name}: decision nodes nested more than {MAX_SUB_DEPTH}")
        self.name = name
        self.document = document
        self._base = base
        self._loader = loader or self._file_loader
        raw_nodes = document.get("nodes")
        raw_edges = document.get("edges", [])
        if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
            raise StrategyCompileError(f"{name}: a JDM graph needs 'nodes' and 'edges' lists")
        self.warnings: list[str] = []
        self.nodes: dict[str, _Node] = {}
        for raw in raw_nodes:
            node = self._node(raw, depth)
            if node.id in self.nodes:
                raise StrategyCompileError(f"{name}: two nodes have the id {node.id!r}")
            self.nodes[node.id] = node
        self.edges: list[tuple[str, str, str, str | None]] = []
        for raw in raw_edges:
            src, tgt = raw.get("sourceId"), raw.get("targetId")
            if src not in self.nodes or tgt not in self.nodes:
                raise StrategyCompileError(
                    f"{name}: edge {raw.get('id')!r} joins unknown nodes {src!r} -> {tgt!r}"
                )
            self.edges.append((str(raw.get("id", "")), src, tgt, raw.get("sourceHandle")))
        self.in_edges: dict[str, list[int]] = {nid: [] for nid in self.nodes}
        self.out_edges: dict[str, list[int]] = {nid: [] for nid in self.nodes}
        for index in reversed(range(len(self.edges))):  # newest edge first, as petgraph walks
            _, src, tgt, _ = self.edges[index]
            self.out_edges[src].append(index)
            self.in_edges[tgt].append(index)
        self._inputs = [nid for nid, n in self.nodes.items() if n.kind == "inputNode"]
        inputs = [n for n in self.nodes.values() if n.kind == "inputNode"]
        if len(inputs) != 1:
            raise StrategyCompileError(
                f"{name}: a JDM graph needs one input node, has {len(inputs)}"
            )
        self._check_acyclic()

    # building -----------------------------------------------------------------------------------
    def _file_loader(self, key: str) -> Mapping[str, Any]:
        if self._base is None:
            raise StrategyCompileError(f"{self.name}: decision node {key!r} needs a loader")
        path = (self._base / key).resolve()
        if not path.is_relative_to(self._base.resolve()):
            raise StrategyCompileError(f"{self.name}: decision key {key!r} leaves {self._base}")
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StrategyCompileError(f"{self.name}: cannot load decision {key!r}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise StrategyCompileError(f"{self.name}: decision {key!r} is not a JDM object")
        return loaded

    def _node(self, raw: Any, depth: int) -> _Node:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            raise StrategyCompileError(f"{self.name}: a node needs an 'id'")
        kind = raw.get("type")
        nid = raw["id"]
        label = str(raw.get("name") or nid)
        where = f"{self.name}: node {label!r} ({kind}, id {nid})"
        if kind not in _KINDS:
            raise StrategyCompileError(f"{where}: unknown node type {kind!r}")
        content = raw.get("content") or {}
        node = _Node(nid, label, kind, content)
        node.uses_nodes = "$nodes" in json.dumps(content)  # only then is the view built
        if kind == "functionNode":
            if not js_available():
                raise FunctionNodeError(
                    f"{where}: JavaScript function nodes need a sandboxed JavaScript engine, "
                    "which is not installed (pip install 'ruleplus[jdm]'), or rewrite it as "
                    "expression or decision-table nodes"
                )
            node.function = FunctionNode(content, where)
        if kind == "expressionNode":
            node.transform = _transform(content, where)
            for item in content.get("expressions") or []:
                key, value = item.get("key") or "", item.get("value") or ""
                if key and value:
                    node.expressions.append((key, _compile(value, f"{where} {key!r}")))
                    node.uses_nodes |= "$nodes" in value
        elif kind == "decisionTableNode":
            self._table(node, content, where)
        elif kind == "switchNode":
            node.hit_policy = content.get("hitPolicy") or "first"
            for st in content.get("statements") or []:
                cond = st.get("condition") or ""
                expr = _compile(cond, f"{where} statement {st.get('id')}") if cond.strip() else None
                node.statements.append((str(st.get("id")), expr))
                node.uses_nodes |= "$nodes" in cond
        elif kind == "decisionNode":
            node.transform = _transform(content, where)
            key = content.get("key")
            if not isinstance(key, str) or not key:
                raise StrategyCompileError(f"{where}: a decision node needs a 'key'")
            node.sub = JdmGraph(
                self._loader(key),
                name=key,
                loader=self._loader,
                base=self._base,
                depth=depth + 1,
            )
        return node

    def _table(self, node: _Node, content: Mapping[str, Any], where: str) -> None:
        node.transform = _transform(content, where)
        node.hit_policy = content.get("hitPolicy") or "first"
        if node.hit_policy not in ("first", "collect"):
            raise StrategyCompileError(f"{where}: unknown hit policy {node.hit_policy!r}")
        for col in content.get("inputs") or []:
            fld = col.get("field") or None
            ref = _compile(fld, f"{where} input {col.get('name')!r}") if fld else None
            node.columns.append(_Column(str(col.get("id")), str(col.get("name", "")), fld, ref))
        outputs = [(str(o.get("id")), o.get("field") or "") for o in content.get("outputs") or []]
        index = {c.id: i for i, c in enumerate(node.columns)}
        for n, rule in enumerate(content.get("rules") or []):
            rid = str(rule.get("_id", n))
            tests: list[tuple[int, ZenExpression]] = []
            for cid, i in index.items():
                cell = rule.get(cid)
                if isinstance(cell, str) and cell.strip():
                    unary = node.columns[i].reference is not None
                    try:
                        test = _compile(cell, f"{where} rule {n + 1} cell", unary)
                    except StrategyCompileError as exc:
                        # zen treats a cell that does not parse as one that never matches
                        self.warnings.append(str(exc))
                        test = _NEVER
                    tests.append((i, test))
                    node.uses_nodes |= "$nodes" in cell
            outs: list[tuple[str, ZenExpression]] = []
            for oid, path in outputs:
                cell = rule.get(oid)
                if path and isinstance(cell, str) and cell.strip():
                    outs.append((path, _compile(cell, f"{where} rule {n + 1} output {path!r}")))
            node.rules.append(_Rule(rid, str(rule.get("_description", "")), tests, outs))

    def _check_acyclic(self) -> None:
        succ: dict[str, list[str]] = {n: [] for n in self.nodes}
        for _, s, t, _ in self.edges:
            succ[s].append(t)
        state: dict[str, int] = {}
        for start in self.nodes:
            if state.get(start):
                continue
            stack = [(start, iter(succ[start]))]
            state[start] = 1
            while stack:
                nid, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[nid] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    raise StrategyCompileError(f"{self.name}: the graph has a cycle at {nxt!r}")
                elif not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))

    # evaluation ---------------------------------------------------------------------------------
    def evaluate(self, data: Any, *, trace: bool = False) -> dict[str, Any]:
        """Run the graph on one JSON input.

        Returns
        -------
        dict
            ``{"result": <JSON>}`` plus ``"trace"`` (per node id: name, input, output, detail,
            time in ms) when ``trace`` is set.

        Raises
        ------
        EvaluationError
            A node failed (naming it and the expression).
        """
        traces: dict[str, Any] | None = {} if trace else None
        result = self.run(from_json(data), traces)
        out: dict[str, Any] = {"result": to_json(_clean(result))}
        if traces is not None:
            out["trace"] = traces
        return out

    def run(self, context: Any, traces: dict[str, Any] | None = None) -> Any:
        """Run on a ZEN value (decimals); returns the ZEN result."""
        edges = _Edges(self)
        present = set(self.nodes)
        data: dict[str, Any] = {}
        inputs = self._inputs
        visited: set[str] = set()
        switched: set[str] = set()
        to_visit = list(inputs)
        while to_visit:
            nid = to_visit.pop()
            if nid in visited or nid not in present:
                continue
            unresolved = [p for p in edges.preds(nid) if p not in visited]
            if unresolved:
                to_visit.append(nid)
                to_visit.extend(unresolved)
                continue
            visited.add(nid)
            node = self.nodes[nid]
            if node.kind == "switchNode" and nid not in switched:
                valid = self._switch(node, edges.incoming(nid, data), data)
                drop = [e for e in edges.outgoing(nid) if self.edges[e][3] not in valid]
                for edge in drop:
                    edges.remove(edge, present)
                switched.add(nid)
                if traces is not None:
                    traces[nid] = {"name": node.name, "type": node.kind, "statements": valid}
                if drop:
                    visited.clear()
                    to_visit = [i for i in inputs if i in present]
                    continue
            to_visit.extend(edges.succs(nid))
            if nid in data:
                continue
            node_input = context if node.kind == "inputNode" else edges.incoming(nid, data)
            start = time.perf_counter()
            detail: dict[str, Any] = {}
            output = self._run_node(node, node_input, data, detail)
            data[nid] = output
            if traces is not None:
                entry = traces.get(nid, {})
                entry.update(
                    name=node.name,
                    type=node.kind,
                    input=to_json(_clean(node_input)),
                    output=to_json(_clean(output)),
                    detail=detail,
                    ms=(time.perf_counter() - start) * 1000,
                )
                traces[nid] = entry
            if node.kind == "outputNode":
                break
        result: Any = {}
        for nid in self.nodes:
            ending = nid in present and nid in visited and nid in data
            if ending and not edges.outgoing(nid):
                result = merge(result, data[nid])
        return result

    def _nodes_view(self, data: dict[str, Any]) -> dict[str, Any]:
        return {self.nodes[nid].name: value for nid, value in data.items()}

    def _scope(self, node: _Node, env: Any, data: dict[str, Any]) -> Scope:
        local = {"$nodes": self._nodes_view(data)} if node.uses_nodes else None
        return Scope(env, None, local)

    def _switch(self, node: _Node, env: Any, data: dict[str, Any]) -> list[str]:
        scope = self._scope(node, env, data)
        valid: list[str] = []
        for sid, cond in node.statements:
            ok = True
            if cond is not None:
                try:
                    ok = cond.run(scope) is True
                except ZenRuntimeError:
                    ok = False
            if ok:
                valid.append(sid)
                if node.hit_policy == "first":
                    break
        return valid

    def _run_node(self, node: _Node, node_input: Any, data: dict[str, Any], detail: Any) -> Any:
        if node.kind in ("inputNode", "outputNode", "switchNode"):
            return node_input
        if node.function is not None:
            payload = merge(node_input, {"$nodes": self._nodes_view(data)})
            return from_json(node.function(to_json(payload)))
        tf = node.transform
        assert tf is not None
        try:
            source = node_input
            if tf.input_field is not None:
                source = tf.input_field(self._scope(node, node_input, data))
            if tf.loop:
                if not isinstance(source, list):
                    raise ZenRuntimeError("loop execution mode needs an array")
                output: Any = []
                for item in source:
                    one = self._body(node, item, data, detail)
                    output.append(merge(item, one) if tf.pass_through else one)
            else:
                output = self._body(node, source, data, detail)
        except ZenRuntimeError as exc:
            raise EvaluationError(
                f"{self.name}: node {node.name!r} ({node.kind}) failed: {exc}", node=node.id
            ) from exc
        if tf.output_path:
            wrapped: dict[str, Any] = {}
            dot_insert(wrapped, tf.output_path, output)
            output = wrapped
        if tf.pass_through:
            output = merge(node_input, output)
        return output

    def _body(self, node: _Node, env: Any, data: dict[str, Any], detail: Any) -> Any:
        if node.kind == "expressionNode":
            scope = self._scope(node, env, data)
            scope.dollar = {}
            result: dict[str, Any] = {}
            for key, expr in node.expressions:
                value = expr.run(scope)
                dot_insert(scope.dollar, key, value)
                dot_insert(result, key, value)
            return result
        if node.kind == "decisionTableNode":
            return self._table_run(node, env, data, detail)
        assert node.sub is not None
        return node.sub.run(env)

    def _table_run(self, node: _Node, env: Any, data: dict[str, Any], detail: Any) -> Any:
        scope = self._scope(node, env, data)
        refs: list[Any] = []
        for col in node.columns:
            if col.reference is None:
                refs.append(None)
                continue
            try:
                refs.append(col.reference.run(scope))
            except ZenRuntimeError:
                refs.append(_FAILED)
        hits: list[Any] = []
        matched: list[str] = []
        for rule in node.rules:
            if not _row_matches(rule, refs, scope):
                continue
            out: dict[str, Any] = {}
            try:
                for path, expr in rule.outputs:
                    dot_insert(out, path, expr.run(scope))
            except ZenRuntimeError:
                continue
            matched.append(rule.id)
            if node.hit_policy == "first":
                detail["rules"] = matched
                return out
            hits.append(out)
        detail["rules"] = matched
        return hits if node.hit_policy == "collect" else None


_FAILED = object()
_NEVER = compile_zen("false")


def _row_matches(rule: _Rule, refs: list[Any], scope: Scope) -> bool:
    for i, cell in rule.tests:
        ref = refs[i]
        if ref is _FAILED:
            return False
        try:
            if cell.unary:
                scope.dollar = ref
            if cell.run(scope) is not True:
                return False
        except ZenRuntimeError:
            return False
    return True


class _Edges:
    """The live edges of one run (a switch removes some), indexed by node."""

    __slots__ = ("_graph", "alive")

    def __init__(self, graph: JdmGraph) -> None:
        self._graph = graph
        self.alive = set(range(len(graph.edges)))

    def preds(self, nid: str) -> list[str]:
        """Sources of the live edges into ``nid``, newest edge first (petgraph's order)."""
        edges = self._graph.edges
        return [edges[e][1] for e in self._graph.in_edges[nid] if e in self.alive]

    def succs(self, nid: str) -> list[str]:
        """Targets of the live edges out of ``nid``, newest edge first."""
        edges = self._graph.edges
        return [edges[e][2] for e in self._graph.out_edges[nid] if e in self.alive]

    def outgoing(self, nid: str) -> list[int]:
        """Indexes of the live edges out of ``nid``."""
        return [e for e in self._graph.out_edges[nid] if e in self.alive]

    def incoming(self, nid: str, data: dict[str, Any]) -> Any:
        """The merge of the outputs of ``nid``'s predecessors (zen's node input)."""
        found = [data[p] for p in self.preds(nid) if p in data]
        if not found:
            return {}
        head = found[0] if isinstance(found[0], dict | list) else {}
        for more in found[1:]:
            head = merge(head, more)
        return head

    def remove(self, edge: int, present: set[str]) -> None:
        """zen's recursive edge removal: nodes left with no incoming (or outgoing) edges go."""
        if edge not in self.alive:
            return
        self.alive.discard(edge)
        graph = self._graph
        _, src, tgt, _ = graph.edges[edge]
        sides = ((tgt, graph.in_edges, graph.out_edges), (src, graph.out_edges, graph.in_edges))
        for nid, side, other in sides:
            if not any(e in self.alive for e in side[nid]):
                for e in [e for e in other[nid] if e in self.alive]:
                    self.remove(e, present)
                both = (*graph.in_edges[nid], *graph.out_edges[nid])
                if not any(e in self.alive for e in both):
                    present.discard(nid)


def _clean(value: Any) -> Any:
    if isinstance(value, dict) and "$nodes" in value:
        return {k: v for k, v in value.items() if k != "$nodes"}
    return value


def load_jdm(path: str | Path) -> JdmGraph:
    """Read and compile a JDM file (decision-node keys relative to its folder)."""
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StrategyCompileError(f"{file}: not a readable JSON file: {exc}") from exc
    if not is_jdm_document(document):
        raise StrategyCompileError(f"{file}: not a JDM decision graph (no nodes/edges)")
    return JdmGraph(document, name=file.name, base=file.parent)
