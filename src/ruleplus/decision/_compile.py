"""Compile a strategy document: check the flow, type every node, build both programs.

The row program is one generated Python function per strategy (and a second one that records a
trace), laid out by structured code generation: a routing node becomes ``if``/``elif`` whose
branches run until the routing node's nearest post-dominator, so a path executes only its own
nodes. The vector program runs the nodes in topological order over a polars DataFrame, each node
restricted to the rows that reach it.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruleplus.decision._artifacts import NO_ARTIFACTS, ArtifactResolver
from ruleplus.decision._document import LoadedDocument
from ruleplus.decision._graph import END, Graph
from ruleplus.decision._inputs import InputSpec, row_validation
from ruleplus.decision.nodes import (
    NODE_TYPES,
    CompiledNode,
    NodeContext,
    RawRow,
    RowGen,
    SubCompiler,
    first_match,
)
from ruleplus.errors import FieldProblem, StrategyCompileError
from ruleplus.expr import Kind, Ty, build_function, function_def

__all__ = ["FlowProgram", "compile_flow"]

Env = dict[str, Ty]


def merge_envs(envs: list[Env], on_conflict: Callable[[str, Ty, Ty], Exception]) -> Env:
    """Fields known on every incoming path keep their type; others become nullable."""
    if not envs:
        return {}
    if len(envs) == 1:
        return dict(envs[0])
    out: Env = {}
    names = list(dict.fromkeys(n for e in envs for n in e))
    for name in names:
        tys = [e[name] for e in envs if name in e]
        kinds = {t.kind for t in tys if t.kind is not Kind.NULL}
        if kinds <= {Kind.INTEGER, Kind.NUMBER} and kinds:
            kind = Kind.INTEGER if kinds == {Kind.INTEGER} else Kind.NUMBER
        elif len(kinds) == 1:
            kind = kinds.pop()
        elif not kinds:
            kind = Kind.NULL
        else:
            raise on_conflict(name, tys[0], tys[-1])
        nullable = len(tys) < len(envs) or any(t.nullable for t in tys)
        out[name] = Ty(kind, nullable, tys[0].element)
    return out


@dataclass
class FlowProgram:
    """Everything the evaluator needs."""

    specs: list[InputSpec]
    nodes: dict[str, CompiledNode]
    graph: Graph
    outputs: list[str]
    output_types: dict[str, Ty]
    row: RawRow
    row_traced: RawRow
    row_source: str
    warnings: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_types: dict[str, Ty] = field(default_factory=dict)


def compile_flow(
    loaded: LoadedDocument,
    raise_invalid: Callable[[list[FieldProblem]], Any],
    *,
    artifacts: ArtifactResolver = NO_ARTIFACTS,
    chain: tuple[str, ...] = (),
    compile_sub: SubCompiler | None = None,
    parameters: Mapping[str, tuple[Ty, Any]] | None = None,
) -> FlowProgram:
    """Check and compile a loaded document (see module docstring).

    Parameters
    ----------
    loaded : LoadedDocument
        The validated document.
    raise_invalid : callable
        Called by the row program with the problems of an invalid record.
    artifacts : ArtifactResolver, default=NO_ARTIFACTS
        Resolves the document's references (``call.strategy``, ``model.artifact``).
    chain : tuple of str, default=()
        Keys of the documents being compiled, outermost first (see :class:`NodeContext`).
    compile_sub : SubCompiler, optional
        Compiles the sub-strategies of ``call`` nodes.
    parameters : mapping, optional
        Parameter name -> (type, value): read like inputs, compiled in as constants.
    """
    doc = loaded.doc
    parameters = dict(parameters or {})
    file = str(loaded.path) if loaded.path else loaded.name

    def error(node_id: str | None, message: str, **extra: Any) -> StrategyCompileError:
        line = loaded.node_line(node_id) if node_id else None
        return StrategyCompileError(
            message,
            strategy=doc.id,
            version=doc.version,
            file=file,
            line=line,
            node=node_id,
            **extra,
        )

    specs: list[InputSpec] = []
    for name, fdoc in doc.inputs.items():
        try:
            specs.append(InputSpec.from_doc(name, fdoc))
        except ValueError as exc:
            raise StrategyCompileError(
                str(exc),
                strategy=doc.id,
                file=file,
                line=loaded.line_of("inputs", name),
                field=name,
            ) from None
    specs.extend(_signal_specs(loaded, specs, file))
    for spec in specs:
        if spec.name in parameters:
            raise StrategyCompileError(
                f"parameter {spec.name!r} has the name of an input",
                strategy=doc.id,
                file=file,
                line=loaded.line_of("parameters", spec.name),
                field=spec.name,
            )
    parameter_types = {name: ty for name, (ty, _) in parameters.items()}
    env0: Env = {**{s.name: s.ty for s in specs}, **parameter_types}

    ids = [n.id for n in doc.nodes]
    seen: set[str] = set()
    for node_id in ids:
        if node_id in seen or node_id == END:
            raise error(
                node_id,
                f"node id {node_id!r} is used twice" if node_id != END else "'end' is reserved",
            )
        seen.add(node_id)
    succ: dict[str, list[str]] = {}
    for i, ndoc in enumerate(doc.nodes):
        if ndoc.type in ("switch", "split"):
            succ[ndoc.id] = (
                ([c.goto for c in ndoc.cases] + [ndoc.default])
                if ndoc.type == "switch"
                else [a.goto for a in ndoc.arms]
            )
        else:
            succ[ndoc.id] = [ndoc.next or (ids[i + 1] if i + 1 < len(ids) else END)]
    graph = Graph(ids, succ, lambda n, m: error(n, m))

    # typing pass in topological order
    index = {n.id: i for i, n in enumerate(doc.nodes)}
    env_out: dict[str, Env] = {}
    nodes: dict[str, CompiledNode] = {}
    warnings: list[str] = []
    for node_id in graph.topo:
        preds = graph.pred[node_id]
        if node_id == graph.start:
            env_in = env0
        else:

            def on_conflict(f: str, a: Ty, b: Ty, n: str = node_id) -> StrategyCompileError:
                return error(n, f"field {f!r} is {a} on one path and {b} on another", field=f)

            env_in = merge_envs([env_out[p] for p in preds], on_conflict)
        ndoc = doc.nodes[index[node_id]]
        ctx = NodeContext(
            doc.id,
            doc.version,
            file,
            loaded.line_of,
            index[node_id],
            node_id,
            doc.reasons,
            doc.decision_field,
            doc.decision_order,
            artifacts,
            chain,
            compile_sub,
        )
        compiled = NODE_TYPES[ndoc.type](ndoc, env_in, ctx)
        for name in compiled.assigns:
            if name in parameter_types:
                raise error(
                    node_id,
                    f"node assigns parameter {name!r}; parameters are set by the strategy's "
                    "declaration and its overrides",
                    field=name,
                )
            if name in env0 and name != doc.decision_field:
                raise error(
                    node_id,
                    f"node assigns input field {name!r}; derive a new field instead",
                    field=name,
                )
        warnings.extend(getattr(compiled, "warnings", []))
        nodes[node_id] = compiled
        env_out[node_id] = {**env_in, **compiled.assigns}
    env_end = merge_envs(
        [env_out[p] for p in graph.pred[END]],
        lambda f, a, b: error(None, f"field {f!r} is {a} on one path and {b} on another", field=f),
    )
    if doc.outputs is not None:
        outputs = list(doc.outputs)
        for name in outputs:
            if name not in env_end:
                raise StrategyCompileError(
                    f"output {name!r} is never assigned",
                    strategy=doc.id,
                    file=file,
                    line=loaded.line_of("outputs"),
                    field=name,
                )
    else:
        outputs = [n for n in env_end if n not in env0 and not n.startswith("_")]
    output_types = {n: env_end[n] for n in outputs}

    values = {name: value for name, (_, value) in parameters.items()}
    builder = _RowBuilder(
        graph, nodes, specs, outputs, doc.decision_field, raise_invalid, values, parameter_types
    )
    row, source = builder.build(trace=False)
    row_traced, _ = builder.build(trace=True)
    return FlowProgram(
        specs,
        nodes,
        graph,
        outputs,
        output_types,
        row,
        row_traced,
        source,
        warnings,
        values,
        parameter_types,
    )


def _name(n: str) -> ast.Name:
    return ast.Name(id=n, ctx=ast.Load())


def _store(n: str, value: ast.expr) -> ast.stmt:
    return ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=value)


class _RowBuilder:
    def __init__(
        self,
        graph: Graph,
        nodes: dict[str, CompiledNode],
        specs: list[InputSpec],
        outputs: list[str],
        decision_field: str,
        raise_invalid: Callable[[list[FieldProblem]], Any],
        parameters: dict[str, Any],
        parameter_types: dict[str, Ty],
    ) -> None:
        self.graph = graph
        self.nodes = nodes
        self.specs = specs
        self.outputs = outputs
        self.raise_invalid = raise_invalid
        self.parameters = parameters
        self.parameter_types = parameter_types

    def build(self, trace: bool) -> tuple[Any, str]:
        namespace: dict[str, Any] = {"_invalid": self.raise_invalid, "_pc": time.perf_counter_ns}
        locals_: dict[str, str] = {}
        g = RowGen(namespace, locals_, trace)
        self._g = g
        for spec in self.specs:
            g.local(spec.name)
        body = row_validation(self.specs, locals_, namespace, "rec")
        body.append(
            ast.If(
                test=_name("_problems"),
                body=[
                    ast.Return(
                        value=ast.Call(
                            func=_name("_invalid"), args=[_name("_problems")], keywords=[]
                        )
                    )
                ],
                orelse=[],
            )
        )
        assigned = list(
            dict.fromkeys(f for n in self.nodes.values() for f in n.assigns if f not in locals_)
        )
        for name in assigned:
            body.append(_store(g.local(name), ast.Constant(None)))
        # parameters are constants of this compiled program, never read from the record
        for name, value in self.parameters.items():
            body.append(_store(g.local(name), g.const(value)))
        body.append(_store("_rs", ast.List(elts=[], ctx=ast.Load())))
        body.append(_store("_arm", ast.Constant(None)))
        body.append(
            _store("_tr", ast.List(elts=[], ctx=ast.Load()) if trace else ast.Constant(None))
        )
        env = {**{s.name: s.ty for s in self.specs}, **self.parameter_types}
        body.extend(self._chain(g, self.graph.start, "", env))
        fn = _build("decide", body, namespace)
        source = ast.unparse(
            ast.fix_missing_locations(
                ast.Module(
                    body=[function_def("decide", ["rec"], body)],
                    type_ignores=[],
                )
            )
        )
        return fn, source

    def _chain(self, g: RowGen, start: str, stop: str, env: Env) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        current = start
        while True:
            if current == END:
                out.extend(self._finish(env))
                return out
            if current == stop:
                return out
            node = self.nodes[current]
            g.node_index = node.index
            if node.targets:
                join = self.graph.ipdom(current)
                setup, branches = node.row_branches(g)
                out.extend(setup)
                reads = ast.Tuple(elts=[g.load(r) for r in node.reads], ctx=ast.Load())
                chosen: list[tuple[ast.expr, list[ast.stmt]]] = []
                default: list[ast.stmt] | None = None
                envs: list[Env] = []
                for test, target, arm in branches:
                    benv = dict(env)
                    bbody: list[ast.stmt] = []
                    if arm is not None:
                        bbody.append(_store("_arm", ast.Constant(arm)))
                    if g.trace:
                        bbody.append(
                            g.trace_entry(
                                node.index,
                                reads,
                                ast.Tuple(elts=[], ctx=ast.Load()),
                                ast.Constant(arm or target),
                                ast.Constant(0),
                            )
                        )
                    bbody.extend(self._chain(g, target, join, benv))
                    envs.append(benv)
                    if test is None:
                        default = bbody or [ast.Pass()]
                        break
                    chosen.append((test, bbody))
                # if/elif, or flat tests in a loop run once for long chains (see first_match)
                out.extend(first_match(chosen, default))
                if join == END:
                    return out  # every branch returned
                merged = merge_envs(envs, lambda f, a, b: ValueError(f))
                env.clear()
                env.update(merged)
                current = join
                continue
            out.extend(self._node(g, node))
            env.update(node.assigns)
            current = self.graph.succ[current][0]

    def _node(self, g: RowGen, node: CompiledNode) -> list[ast.stmt]:
        stmts = node.emit_row(g)
        if not g.trace:
            return stmts
        start = _store("_s", ast.Call(func=_name("_pc"), args=[], keywords=[]))
        reads = ast.Tuple(elts=[g.load(r) for r in node.reads], ctx=ast.Load())
        writes = ast.Tuple(
            elts=[g.load(w) for w in node.assigns if not w.startswith("_")], ctx=ast.Load()
        )
        elapsed = ast.BinOp(
            left=ast.Call(func=_name("_pc"), args=[], keywords=[]), op=ast.Sub(), right=_name("_s")
        )
        record = g.trace_entry(node.index, reads, writes, _name("_d"), elapsed)
        return [start, _store("_d", ast.Constant(None)), *stmts, record]

    def _finish(self, env: Env) -> list[ast.stmt]:
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        maybe: list[str] = []
        for name in self.outputs:
            ty = env.get(name)
            if ty is None:
                continue
            if ty.nullable:
                maybe.append(name)
            else:
                keys.append(ast.Constant(name))
                values.append(_name(self._local(name)))
        out: list[ast.stmt] = [_store("_o", ast.Dict(keys=keys, values=values))]
        for name in maybe:
            local = _name(self._local(name))
            out.append(
                ast.If(
                    test=ast.Compare(
                        left=local, ops=[ast.IsNot()], comparators=[ast.Constant(None)]
                    ),
                    body=[
                        ast.Assign(
                            targets=[
                                ast.Subscript(
                                    value=_name("_o"), slice=ast.Constant(name), ctx=ast.Store()
                                )
                            ],
                            value=local,
                        )
                    ],
                    orelse=[],
                )
            )
        out.append(
            ast.Return(
                value=ast.Tuple(
                    elts=[_name("_o"), _name("_rs"), _name("_arm"), _name("_tr")], ctx=ast.Load()
                )
            )
        )
        return out

    def _local(self, name: str) -> str:
        return self._g.local(name)


def _build(name: str, body: list[ast.stmt], namespace: dict[str, Any]) -> Any:
    return build_function(name, ["rec"], body, namespace)


def _signal_specs(
    loaded: LoadedDocument, specs: list[InputSpec], file: str | None
) -> list[InputSpec]:
    """Inputs filled by the service's fraud signals: counts (integer) and list hits (boolean)."""
    signals = loaded.doc.signals
    if signals is None:
        return []
    known = {s.name for s in specs}
    out: list[InputSpec] = []
    entries = [("velocity", i, s.name, s.key) for i, s in enumerate(signals.velocity)]
    entries += [("lists", i, s.name, s.key) for i, s in enumerate(signals.lists)]
    for section, index, name, key in entries:
        line = loaded.line_of("signals", section, index)
        if key not in known:
            raise StrategyCompileError(
                f"signal {name!r} counts field {key!r}, which is not an input",
                strategy=loaded.doc.id,
                file=file,
                line=line,
                field=key,
            )
        if name in known or any(o.name == name for o in out):
            raise StrategyCompileError(
                f"signal {name!r} has the name of another input",
                strategy=loaded.doc.id,
                file=file,
                line=line,
                field=name,
            )
        kind = Kind.INTEGER if section == "velocity" else Kind.BOOLEAN
        out.append(
            InputSpec(name, kind, None, False, 0 if kind is Kind.INTEGER else None, None, None)
        )
    return out
