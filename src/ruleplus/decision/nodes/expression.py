"""``expression`` node: derived fields computed in order."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import polars as pl

from ruleplus.decision._document import ExpressionNode
from ruleplus.decision.nodes._base import CompiledNode, NodeContext, RowGen, VecGen, reads_of
from ruleplus.expr import Node, Ty

__all__ = ["CompiledExpressionNode", "check_expression"]


@dataclass
class CompiledExpressionNode(CompiledNode):
    """Assignments ``field = expression`` in order."""

    steps: list[tuple[str, Node]] = field(default_factory=list)

    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        return [g.store(name, g.expr(tree)) for name, tree in self.steps]

    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        for name, tree in self.steps:
            if any(r in g.pending for r in reads_of(tree)):
                g.flush()  # a later field reads an earlier one
            g.assign(name, g.expr(tree), mask, tree.ty)
        g.flush()


def check_expression(doc: ExpressionNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Type every assignment, each seeing the ones before it."""
    if not doc.assign:
        raise ctx.error("an expression node needs at least one field in 'assign'", "assign")
    local = dict(env)
    steps: list[tuple[str, Node]] = []
    for name, text in doc.assign.items():
        tree = ctx.expr(text, local, "assign", name)
        assert tree.ty is not None
        local[name] = tree.ty
        steps.append((name, tree))
    return CompiledExpressionNode(
        doc.id,
        "expression",
        ctx.node_index,
        reads=[r for r in reads_of(*(t for _, t in steps)) if r in env],
        assigns={n: t.ty for n, t in steps if t.ty is not None},
        steps=steps,
    )
