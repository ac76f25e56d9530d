"""``call`` node: evaluate another strategy and copy some of its outputs.

The sub-strategy is compiled once, with the caller. Its reference is resolved by the caller's
artifact resolver (``ctx.artifacts``: a path relative to the caller's file for strategies read
from files, a ``sha256:`` reference in the service's artifact store) and compiled by the
compiler the caller hands over (``ctx.compile_sub``), so this module does not import it: the
node holds the sub-strategy as a :class:`~ruleplus.decision.nodes.SubStrategy`.
Its inputs are bound to expressions of the caller (``inputs``; a sub-input left out takes the
caller's field of the same name when there is one), and ``outputs`` copies sub-strategy outputs
into fields of the caller, typed as the sub-strategy types them. The sub-strategy's reason codes
join the caller's reasons, attributed to the call node. A sub-strategy that rejects its inputs
fails the record (row: :class:`~ruleplus.errors.EvaluationError`; frame: the row's ``_error``).
A strategy that calls itself, directly or through others, does not compile.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ruleplus.decision._artifacts import ArtifactError
from ruleplus.decision._document import CallNode
from ruleplus.decision._inputs import ERROR_COLUMN, InputSpec
from ruleplus.decision.nodes._base import (
    CompiledNode,
    NodeContext,
    RowGen,
    SubStrategy,
    VecGen,
    reads_of,
)
from ruleplus.errors import EvaluationError, InputValidationError
from ruleplus.expr import Field, Kind, Node, Ty

__all__ = ["CompiledCallNode", "check_call"]

RowCall = Callable[[dict[str, Any]], tuple[dict[str, Any], list[Any], Any]]


@dataclass
class CompiledCallNode(CompiledNode):
    """Bind inputs, run the sub-strategy, copy outputs and reasons."""

    sub: SubStrategy | None = None
    strategy_id: str = ""
    inputs: list[tuple[str, Node]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def _sub(self) -> SubStrategy:
        assert self.sub is not None
        return self.sub

    def _problem(self, listing: str) -> str:
        return f"{self.id}: sub-strategy {self._sub().id!r} failed: {listing}"

    # row ---------------------------------------------------------------------------------
    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        call = g.helper(f"_call_{self.index}{'_t' if g.trace else ''}", self._row_call(g.trace))
        result = g.temp()
        out: list[ast.stmt] = [
            ast.Assign(
                targets=[ast.Name(id=result, ctx=ast.Store())],
                value=ast.Call(func=call, args=[self._record(g)], keywords=[]),
            )
        ]
        sub_out = ast.Subscript(
            value=ast.Name(id=result, ctx=ast.Load()), slice=ast.Constant(0), ctx=ast.Load()
        )
        types = self._sub().output_types
        for name, source in self.outputs.items():
            if types[source].nullable:  # null outputs are left out of the sub's dict
                get = ast.Attribute(value=sub_out, attr="get", ctx=ast.Load())
                value: ast.expr = ast.Call(func=get, args=[ast.Constant(source)], keywords=[])
            else:
                value = ast.Subscript(value=sub_out, slice=ast.Constant(source), ctx=ast.Load())
            out.append(g.store(name, value))
        reasons = ast.Subscript(
            value=ast.Name(id=result, ctx=ast.Load()), slice=ast.Constant(1), ctx=ast.Load()
        )
        out.append(g.extend_reasons(reasons))
        out.extend(
            g.detail(
                ast.Subscript(
                    value=ast.Name(id=result, ctx=ast.Load()), slice=ast.Constant(2), ctx=ast.Load()
                )
            )
        )
        return out

    def _record(self, g: RowGen) -> ast.expr:
        """The sub-strategy's input record (dotted names become nested mappings)."""
        tree: dict[str, Any] = {}
        for name, node in self.inputs:
            *parents, leaf = name.split(".")
            level = tree
            for part in parents:
                level = level.setdefault(part, {})
            level[leaf] = g.expr(node)

        def build(level: dict[str, Any]) -> ast.expr:
            return ast.Dict(
                keys=[ast.Constant(k) for k in level],
                values=[build(v) if isinstance(v, dict) else v for v in level.values()],
            )

        return build(tree)

    def _row_call(self, trace: bool) -> RowCall:
        sub = self._sub()
        row = sub.row_traced if trace else sub.row
        index = self.index
        problem = self._problem
        node_id, strategy_id = self.id, self.strategy_id

        def call(record: dict[str, Any]) -> tuple[dict[str, Any], list[Any], Any]:
            try:
                outputs, reasons, _arm, raw_trace = row(record)
            except InputValidationError as exc:
                raise EvaluationError(
                    problem("; ".join(str(p) for p in exc.problems)),
                    strategy=strategy_id,
                    node=node_id,
                    sub_strategy=sub.id,
                    fields=[p.field for p in exc.problems],
                ) from None
            moved = [(code, index, weight) for code, _node, weight in reasons]
            detail = None
            if trace:
                detail = {
                    "strategy": sub.id,
                    "version": sub.version,
                    "outputs": dict(outputs),
                    "trace": [t.to_dict() for t in sub.render_trace(raw_trace or [])],
                }
            return outputs, moved, detail

        return call

    # vector ------------------------------------------------------------------------------
    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        sub = self._sub()
        g.flush()
        tag = f"_call{self.index}_"
        bound = [g.expr(node).alias(f"{tag}in{k}") for k, (_, node) in enumerate(self.inputs)]
        reach = mask.fill_null(False) if mask is not None else pl.lit(True)
        if ERROR_COLUMN in g.known:  # rows that failed the caller's own input schema stop there
            reach = reach & pl.col(ERROR_COLUMN).is_null()
        # the sub-strategy runs eagerly: materialise the caller's frame once, here
        frame = g.frame.with_columns([*bound, reach.alias(f"{tag}reach")]).collect()
        reached = frame.get_column(f"{tag}reach")
        sub_in = frame.filter(reached).select(
            [pl.col(f"{tag}in{k}").alias(name) for k, (name, _) in enumerate(self.inputs)]
            or [pl.col(f"{tag}reach")]  # keeps the height when the sub has no inputs
        )
        result = sub.evaluate_frame(sub_in)
        columns = {f"{tag}out{k}": pl.col(source) for k, source in enumerate(self.outputs.values())}
        columns[f"{tag}reasons"] = pl.col("reasons")
        columns[f"{tag}error"] = pl.col(ERROR_COLUMN)
        attached = result.select(
            reached.arg_true().alias(f"{tag}row"),
            *[value.alias(name) for name, value in columns.items()],
        )
        frame = (
            frame.with_row_index(f"{tag}row")
            .join(attached, on=f"{tag}row", how="left", maintain_order="left")
            .drop(f"{tag}row")
        )
        g.frame = frame.lazy()
        g.known.update(frame.columns)
        for k, (name, ty) in enumerate(self.assigns.items()):
            g.assign(name, pl.col(f"{tag}out{k}"), mask, ty)
        g.reason(pl.col(f"{tag}reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        error = pl.col(f"{tag}error")
        g.error(pl.when(error.is_not_null()).then(pl.lit(self._problem("")) + error))
        g.flush()


def check_call(doc: CallNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Compile the sub-strategy, bind its inputs and type the copied outputs."""
    sub, warnings = _compile_sub(doc, ctx)
    specs = {s.name: s for s in sub.specs}
    unknown = [name for name in doc.inputs if name not in specs]
    if unknown:
        raise ctx.error(
            f"sub-strategy {sub.id!r} has no input {unknown[0]!r}; its inputs are: "
            f"{', '.join(specs) or '(none)'}",
            "inputs",
            unknown[0],
            field=unknown[0],
        )
    inputs: list[tuple[str, Node]] = []
    for name, spec in specs.items():
        if name in doc.inputs:
            tree = ctx.expr(doc.inputs[name], env, "inputs", name)
        elif name in env:
            tree = Field(name)
            tree.ty = env[name]
        elif spec.required:
            raise ctx.error(
                f"sub-strategy {sub.id!r} requires input {name!r}: bind it in 'inputs'",
                "inputs",
                field=name,
            )
        else:
            continue
        assert tree.ty is not None
        if not _fits(tree.ty, spec):
            raise ctx.error(
                f"sub-input {name!r} is {spec.ty.kind.value}, the expression gives {tree.ty}",
                "inputs",
                name,
                field=name,
            )
        inputs.append((name, tree))
    _check_nesting([n for n, _ in inputs], ctx)
    assigns: dict[str, Ty] = {}
    for name, source in doc.outputs.items():
        if source not in sub.output_types:
            known = ", ".join(sub.outputs) or "(none)"
            raise ctx.error(
                f"sub-strategy {sub.id!r} has no output {source!r}; its outputs are: {known}",
                "outputs",
                name,
                field=name,
            )
        assigns[name] = sub.output_types[source]
    return CompiledCallNode(
        doc.id,
        "call",
        ctx.node_index,
        reads=[r for r in reads_of(*(t for _, t in inputs)) if r in env],
        assigns=assigns,
        sub=sub,
        strategy_id=ctx.strategy_id,
        inputs=inputs,
        outputs=dict(doc.outputs),
        warnings=warnings + _reason_warnings(doc, sub, ctx),
    )


def _compile_sub(doc: CallNode, ctx: NodeContext) -> tuple[SubStrategy, list[str]]:
    try:
        source = ctx.artifacts.strategy(doc.strategy)
    except ArtifactError as exc:
        raise ctx.error(exc.message, "strategy", field="strategy") from None
    if source.key in ctx.chain:
        loop = (*ctx.chain[ctx.chain.index(source.key) :], source.key)
        raise ctx.error(f"strategy calls itself: {_shown(loop)}", "strategy", field="strategy")
    if ctx.compile_sub is None:
        raise ctx.error("sub-strategies cannot be compiled here", "strategy", field="strategy")
    sub = ctx.compile_sub(source, (*ctx.chain, source.key))
    return sub, [f"{ctx.node_id}: sub-strategy {sub.id!r}: {w}" for w in sub.warnings]


def _shown(loop: tuple[str, ...]) -> str:
    """A call loop; file paths relative to the outermost file's folder."""
    root = os.path.dirname(loop[0]) if os.path.isabs(loop[0]) else None
    return " -> ".join(
        os.path.relpath(key, root) if root is not None and os.path.isabs(key) else key
        for key in loop
    )


def _fits(ty: Ty, spec: InputSpec) -> bool:
    numeric = {Kind.INTEGER, Kind.NUMBER}
    if ty.kind in (Kind.NULL, Kind.ANY) or spec.kind is Kind.ANY:
        return True
    if spec.kind in numeric:
        return ty.kind in numeric
    return ty.kind is spec.kind


def _check_nesting(names: list[str], ctx: NodeContext) -> None:
    """Dotted sub-inputs are nested mappings: ``a`` and ``a.b`` cannot both be bound."""
    for name in names:
        parts = name.split(".")
        for end in range(1, len(parts)):
            prefix = ".".join(parts[:end])
            if prefix in names:
                raise ctx.error(
                    f"sub-inputs {prefix!r} and {name!r} cannot both be bound", "inputs", field=name
                )


def _reason_warnings(doc: CallNode, sub: SubStrategy, ctx: NodeContext) -> list[str]:
    if not ctx.reasons:
        return []
    missing = [code for code in sub.reason_codes if code not in ctx.reasons]
    if not missing:
        return []
    return [
        f"{doc.id}: reason codes of sub-strategy {sub.id!r} missing from this strategy's "
        f"reasons (shown without text): {', '.join(missing)}"
    ]
