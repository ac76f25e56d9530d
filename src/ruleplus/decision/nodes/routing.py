"""Routing nodes: ``switch`` (first case that holds) and ``split`` (champion/challenger).

A split assigns each applicant to an arm by a stable hash of ``salt`` and the key field
(BLAKE2b, the same in every process and back end), so an applicant always sees the same arm
until the salt or the shares change. A null key goes to the first arm (the champion).
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ruleplus.decision._document import SplitNode, SwitchNode
from ruleplus.decision.nodes._base import CompiledNode, NodeContext, RowGen, VecGen, reads_of
from ruleplus.expr import Kind, Node, Ty

__all__ = ["CompiledSplit", "CompiledSwitch", "bucket", "check_split", "check_switch"]

BUCKETS = 10_000


def bucket(salt: str, key: Any) -> int:
    """Stable bucket in ``[0, 10000)`` for an applicant key (None -> 0)."""
    if key is None:
        return 0
    text = key if isinstance(key, str) else repr(key)
    digest = hashlib.blake2b(f"{salt}\x1f{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass
class CompiledSwitch(CompiledNode):
    """Route to the first case whose condition holds."""

    cases: list[tuple[Node, str]] = field(default_factory=list)
    default: str = "end"

    def row_branches(self, g: RowGen) -> tuple[list[ast.stmt], list[tuple[ast.expr | None, str, str | None]]]:
        branches: list[tuple[ast.expr | None, str, str | None]] = [(g.cond(c), t, None) for c, t in self.cases]
        branches.append((None, self.default, None))
        return [], branches

    def vector_branches(self, g: VecGen) -> list[tuple[pl.Expr | None, str, str | None]]:
        out: list[tuple[pl.Expr | None, str, str | None]] = []
        taken = pl.lit(False)
        for cond, target in self.cases:
            c = g.expr(cond).fill_null(False)
            out.append((c & ~taken, target, None))
            taken = taken | c
        out.append((~taken, self.default, None))
        return out


@dataclass
class CompiledSplit(CompiledNode):
    """Deterministic traffic split."""

    key: str = ""
    salt: str = ""
    arms: list[tuple[str, int, str]] = field(default_factory=list)  # (name, upper bucket, target)

    def row_branches(self, g: RowGen) -> tuple[list[ast.stmt], list[tuple[ast.expr | None, str, str | None]]]:
        fn = g.helper("_bucket", bucket)
        setup: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id="_b", ctx=ast.Store())],
                                            value=ast.Call(func=fn, args=[ast.Constant(self.salt), g.load(self.key)], keywords=[]))]
        branches: list[tuple[ast.expr | None, str, str | None]] = []
        for i, (name, upper, target) in enumerate(self.arms):
            last = i == len(self.arms) - 1
            test = None if last else ast.Compare(left=ast.Name(id="_b", ctx=ast.Load()), ops=[ast.Lt()], comparators=[ast.Constant(upper)])
            branches.append((test, target, name))
        return setup, branches

    def vector_branches(self, g: VecGen) -> list[tuple[pl.Expr | None, str, str | None]]:
        salt = self.salt
        keys = g.frame.get_column(self.key) if self.key in g.frame.columns else pl.Series([None] * g.frame.height)
        # the hash is computed once per distinct key (applicants repeat little; this is the cost)
        uniques = keys.unique()
        mapping = {k: bucket(salt, k) for k in uniques.to_list()}
        buckets = keys.replace_strict(mapping, return_dtype=pl.Int64) if keys.len() else pl.Series([], dtype=pl.Int64)
        col = g.column(pl.lit(buckets))
        out: list[tuple[pl.Expr | None, str, str | None]] = []
        lower = 0
        for i, (name, upper, target) in enumerate(self.arms):
            last = i == len(self.arms) - 1
            cond = (pl.col(col) >= lower) if last else ((pl.col(col) >= lower) & (pl.col(col) < upper))
            out.append((cond, target, name))
            lower = upper
        return out


def check_switch(doc: SwitchNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Type the case conditions."""
    if not doc.cases:
        raise ctx.error("a switch needs at least one case", "cases")
    cases: list[tuple[Node, str]] = []
    for i, case in enumerate(doc.cases):
        tree = ctx.expr(case.when, env, "cases", i, "when")
        assert tree.ty is not None
        if not tree.ty.fits(Kind.BOOLEAN):
            raise ctx.error(f"case condition must be true/false, got {tree.ty}", "cases", i, "when")
        cases.append((tree, case.goto))
    targets = [t for _, t in cases] + [doc.default]
    return CompiledSwitch(doc.id, "switch", ctx.node_index, reads=reads_of(*(c for c, _ in cases)),
                          targets=targets, cases=cases, default=doc.default)


def check_split(doc: SplitNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Resolve shares into bucket bounds."""
    if doc.key not in env:
        raise ctx.error(f"split key {doc.key!r} is not a known field", "key", field=doc.key)
    if len(doc.arms) < 1:
        raise ctx.error("a split needs at least one arm", "arms")
    names = [a.name for a in doc.arms]
    if len(set(names)) != len(names):
        raise ctx.error("arm names must be unique", "arms")
    total = sum(a.share for a in doc.arms)
    arms: list[tuple[str, int, str]] = []
    running = 0.0
    for arm in doc.arms:
        running += arm.share
        arms.append((arm.name, round(BUCKETS * running / total), arm.goto))
    return CompiledSplit(doc.id, "split", ctx.node_index, reads=[doc.key], targets=[a.goto for a in doc.arms],
                         key=doc.key, salt=doc.salt, arms=arms)
