"""``tree`` node: a decision tree of splits whose leaves set fields (and may give a reason).

A split's condition that is null follows the split's ``missing`` branch (``else`` by default).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ruleplus.decision._document import TreeBranch, TreeNode
from ruleplus.decision.nodes._base import CompiledNode, NodeContext, RowGen, VecGen, reads_of
from ruleplus.expr import Kind, Node, Ty

__all__ = ["CompiledTree", "check_tree"]


@dataclass
class _Split:
    cond: Node
    missing_yes: bool
    yes: _Split | _Leaf
    no: _Split | _Leaf


@dataclass
class _Leaf:
    label: str
    values: dict[str, Node]
    reason: str | None


@dataclass
class CompiledTree(CompiledNode):
    """A checked decision tree."""

    root: _Split | _Leaf | None = None
    leaves: list[tuple[list[tuple[Node, bool, bool]], _Leaf]] = field(default_factory=list)

    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        assert self.root is not None
        return self._row(g, self.root)

    def _row(self, g: RowGen, node: _Split | _Leaf) -> list[ast.stmt]:
        if isinstance(node, _Leaf):
            body = [g.store(name, g.expr(tree)) for name, tree in node.values.items()]
            if node.reason:
                body.append(g.reason(ast.Constant(node.reason)))
            return body + g.detail(ast.Constant(node.label)) or [ast.Pass()]
        if node.missing_yes:
            test: ast.expr = ast.Compare(
                left=g.expr(node.cond), ops=[ast.IsNot()], comparators=[ast.Constant(False)]
            )
        else:
            test = g.cond(node.cond)
        return [
            ast.If(
                test=test,
                body=self._row(g, node.yes) or [ast.Pass()],
                orelse=self._row(g, node.no) or [ast.Pass()],
            )
        ]

    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        paths: list[tuple[pl.Expr, _Leaf]] = []
        for steps, leaf in self.leaves:
            cond = pl.lit(True) if mask is None else mask
            for tree, missing_yes, take_yes in steps:
                branch = g.expr(tree).fill_null(missing_yes)
                cond = cond & (branch if take_yes else ~branch)
            paths.append((pl.col(g.column(cond)), leaf))
        for name, ty in self.assigns.items():
            old = g.current(name, ty)
            chain: Any = None
            for cond, leaf in paths:
                value = g.expr(leaf.values[name]) if name in leaf.values else old
                chain = pl.when(cond).then(value) if chain is None else chain.when(cond).then(value)
            g.assign(name, chain.otherwise(old), None)
        for cond, leaf in paths:
            if leaf.reason:
                g.reason(pl.when(cond).then(pl.lit(leaf.reason)))
        g.flush()


def check_tree(doc: TreeNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Check every split and leaf; collect root-to-leaf paths for the vector back end."""
    assigns: dict[str, Ty] = {}
    leaves: list[tuple[list[tuple[Node, bool, bool]], _Leaf]] = []
    trees: list[Node] = []

    def visit(
        branch: TreeBranch, path: tuple[Any, ...], label: str, steps: list[tuple[Node, bool, bool]]
    ) -> _Split | _Leaf:
        if branch.set is not None:
            if branch.condition is not None:
                raise ctx.error(
                    "a tree node is either a split (if/then/else) or a leaf (set)", *path
                )
            values = {
                name: ctx.value(raw, env, *path, "set", name) for name, raw in branch.set.items()
            }
            for name, tree in values.items():
                assert tree.ty is not None
                prior = assigns.get(name)
                if (
                    prior is not None
                    and tree.ty.kind is not Kind.NULL
                    and prior.kind is not Kind.NULL
                    and prior.kind != tree.ty.kind
                    and {prior.kind, tree.ty.kind} - {Kind.INTEGER, Kind.NUMBER}
                ):
                    raise ctx.error(
                        f"leaves set {name!r} to values of different types", *path, "set", name
                    )
                kind = (
                    tree.ty.kind
                    if prior is None or prior.kind is Kind.NULL
                    else (
                        prior.kind
                        if prior.kind == tree.ty.kind or tree.ty.kind is Kind.NULL
                        else Kind.NUMBER
                    )
                )
                assigns[name] = Ty(kind, True)
                trees.append(tree)
            reason = ctx.check_reason(branch.reason, *path, "reason") if branch.reason else None
            leaf = _Leaf(branch.id or label, values, reason)
            leaves.append((list(steps), leaf))
            return leaf
        if branch.condition is None or branch.yes is None or branch.no is None:
            raise ctx.error("a split needs 'if', 'then' and 'else'", *path)
        cond = ctx.expr(branch.condition, env, *path, "if")
        assert cond.ty is not None
        if not cond.ty.fits(Kind.BOOLEAN):
            raise ctx.error(f"a split condition must be true/false, got {cond.ty}", *path, "if")
        trees.append(cond)
        missing_yes = branch.missing == "then"
        yes = visit(
            branch.yes, (*path, "then"), f"{label}.then", [*steps, (cond, missing_yes, True)]
        )
        no = visit(
            branch.no, (*path, "else"), f"{label}.else", [*steps, (cond, missing_yes, False)]
        )
        return _Split(cond, missing_yes, yes, no)

    root = visit(doc.root, ("root",), "root", [])
    for name in list(assigns):
        if name in env:
            assigns[name] = Ty(assigns[name].kind, True)
    return CompiledTree(
        doc.id,
        "tree",
        ctx.node_index,
        reads=[f for f in reads_of(*trees) if f in env],
        assigns=assigns,
        root=root,
        leaves=leaves,
    )
