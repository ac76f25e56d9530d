"""``scorecard`` node: points per characteristic, a total, and ranked reason codes.

Each characteristic gives points from the first of: its missing-value points (null input),
a special value (exact match, e.g. a bureau "no record" code), the first bin whose test holds,
else its ``else_points`` (0 when not given). Reason codes are ranked by points lost against the
characteristic's maximum attainable points (the usual adverse-action method); ties keep the
document order, and only characteristics that lost points give a reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ruleplus.decision._document import ScorecardNode
from ruleplus.decision.nodes._base import (
    CompiledNode,
    NodeContext,
    RowGen,
    VecGen,
    literal_node,
    reads_of,
)
from ruleplus.expr import Field, Kind, Node, Ty

__all__ = ["CompiledScorecard", "check_scorecard"]


@dataclass
class _Char:
    name: str
    subject: str
    input_tree: Node | None  # None when the input is a plain field
    missing: float
    special: list[tuple[Node, float]]
    bins: list[tuple[Node | None, float]]
    other: float
    reason: str | None

    @property
    def max_points(self) -> float:
        candidates = [
            self.missing,
            self.other,
            *(p for _, p in self.special),
            *(p for _, p in self.bins),
        ]
        return max(candidates)


def _rank(node_index: int, top: int) -> Any:
    def rank(*pairs: Any) -> list[tuple[str, int, float]]:
        # pairs: lost0, code0, lost1, code1, ...
        items = [
            (pairs[i], i, pairs[i + 1])
            for i in range(0, len(pairs), 2)
            if pairs[i + 1] is not None and pairs[i] > 0
        ]
        items.sort(key=lambda t: (-t[0], t[1]))
        return [(code, node_index, lost) for lost, _, code in items[:top]]

    return rank


@dataclass
class CompiledScorecard(CompiledNode):
    """A checked scorecard."""

    base: float = 0.0
    output: str = "score"
    chars: list[_Char] = field(default_factory=list)
    top: int = 4
    prefix: str | None = None

    def _points_name(self, i: int) -> str:
        return f"{self.prefix}{self.chars[i].name}" if self.prefix else f"_{self.id}_p{i}"

    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for i, ch in enumerate(self.chars):
            if ch.input_tree is not None:
                out.append(g.store(ch.subject, g.expr(ch.input_tree)))
            points = self._points_name(i)
            chain: list[ast.stmt] = [g.store(points, ast.Constant(ch.other))]
            for test, value in reversed(ch.bins):
                cond = g.cond(test) if test is not None else ast.Constant(True)
                chain = [
                    ast.If(test=cond, body=[g.store(points, ast.Constant(value))], orelse=chain)
                ]
            for test, value in reversed(ch.special):
                chain = [
                    ast.If(
                        test=g.cond(test), body=[g.store(points, ast.Constant(value))], orelse=chain
                    )
                ]
            missing = ast.Compare(
                left=g.load(ch.subject), ops=[ast.Is()], comparators=[ast.Constant(None)]
            )
            out.append(
                ast.If(test=missing, body=[g.store(points, ast.Constant(ch.missing))], orelse=chain)
            )
        total: ast.expr = ast.Constant(self.base)
        for i in range(len(self.chars)):
            total = ast.BinOp(left=total, op=ast.Add(), right=g.load(self._points_name(i)))
        out.append(g.store(self.output, total))
        if self.top and any(ch.reason for ch in self.chars):
            rank = g.helper(f"_rank_{self.index}", _rank(self.index, self.top))
            args: list[ast.expr] = []
            for i, ch in enumerate(self.chars):
                lost = ast.BinOp(
                    left=ast.Constant(ch.max_points),
                    op=ast.Sub(),
                    right=g.load(self._points_name(i)),
                )
                args.extend([lost, ast.Constant(ch.reason)])
            out.append(g.extend_reasons(ast.Call(func=rank, args=args, keywords=[])))
        return out

    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        for ch in self.chars:
            if ch.input_tree is not None:
                g.assign(ch.subject, g.expr(ch.input_tree), None, ch.input_tree.ty)
        g.flush()
        points: list[pl.Expr] = []
        for i, ch in enumerate(self.chars):
            subject = pl.col(ch.subject) if ch.subject in g.known else pl.lit(None)
            chain: Any = pl.when(subject.is_null()).then(pl.lit(ch.missing))
            for test, value in ch.special:
                chain = chain.when(g.expr(test).fill_null(False)).then(pl.lit(value))
            for bin_test, value in ch.bins:
                cond = g.expr(bin_test).fill_null(False) if bin_test is not None else pl.lit(True)
                chain = chain.when(cond).then(pl.lit(value))
            expr = chain.otherwise(pl.lit(ch.other)).cast(pl.Float64)
            name = self._points_name(i)
            g.assign(name, expr, mask, Ty(Kind.NUMBER, False))
            points.append(pl.col(name))
        g.flush()
        g.assign(
            self.output, pl.lit(self.base) + pl.sum_horizontal(points), mask, Ty(Kind.NUMBER, False)
        )
        g.flush()
        coded = [(i, ch) for i, ch in enumerate(self.chars) if ch.reason]
        if self.top and coded:
            lost = pl.struct(
                [
                    (pl.lit(ch.max_points) - pl.col(self._points_name(i))).alias(f"c{n}")
                    for n, (i, ch) in enumerate(coded)
                ]
            )
            codes = np.array([ch.reason for _, ch in coded], dtype=object)
            ranked = lost.map_batches(_ranker(codes, self.top), return_dtype=pl.List(pl.String))
            empty = pl.lit([], dtype=pl.List(pl.String))
            g.reason(ranked if mask is None else pl.when(mask).then(ranked).otherwise(empty))


def _ranker(codes: np.ndarray, top: int) -> Any:
    """Rank reasons for a whole batch: stable sort of points lost, keep the top ones lost > 0."""

    def rank(batch: pl.Series) -> pl.Series:
        fields = batch.struct.fields
        lost = (
            np.column_stack([batch.struct.field(f).to_numpy() for f in fields])
            if len(batch)
            else np.zeros((0, len(fields)))
        )
        order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
        picked = np.take_along_axis(lost, order, axis=1)
        keep = picked > 0
        offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
        values = pa.array(codes[order[keep]].tolist(), type=pa.large_string())
        return pl.Series(
            pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values)
        ).cast(pl.List(pl.String))

    return rank


def check_scorecard(doc: ScorecardNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Check every characteristic's input and bins."""
    if not doc.characteristics:
        raise ctx.error("a scorecard needs at least one characteristic", "characteristics")
    local = dict(env)
    chars: list[_Char] = []
    names: set[str] = set()
    for i, cdoc in enumerate(doc.characteristics):
        path = ("characteristics", i)
        if cdoc.name in names:
            raise ctx.error(f"characteristic {cdoc.name!r} appears twice", *path)
        names.add(cdoc.name)
        tree = ctx.expr(cdoc.input, env, *path, "input")
        if type(tree) is Field:
            subject, input_tree = str(tree.name), None
        else:
            subject, input_tree = f"_{doc.id}_x{i}", tree
            assert tree.ty is not None
            local[subject] = tree.ty
        special: list[tuple[Node, float]] = []
        for j, sv in enumerate(cdoc.special):
            lit = literal_node(sv.value)
            text = (
                f'"{sv.value}"'
                if isinstance(sv.value, str)
                else str(sv.value).lower()
                if isinstance(sv.value, bool)
                else repr(sv.value)
            )
            special.append((ctx.test(text, subject, local, *path, "special", j) or lit, sv.points))
        bins = [
            (ctx.test(b.when, subject, local, *path, "bins", j), b.points)
            for j, b in enumerate(cdoc.bins)
        ]
        if not bins:
            raise ctx.error(f"characteristic {cdoc.name!r} has no bins", *path, "bins")
        reason = ctx.check_reason(cdoc.reason, *path, "reason") if cdoc.reason else None
        other = cdoc.else_points if cdoc.else_points is not None else 0.0
        missing = cdoc.missing_points if cdoc.missing_points is not None else other
        chars.append(_Char(cdoc.name, subject, input_tree, missing, special, bins, other, reason))
    prefix = doc.points_prefix
    assigns: dict[str, Ty] = {}
    for i, ch in enumerate(chars):
        if ch.input_tree is not None:
            assert ch.input_tree.ty is not None
            assigns[ch.subject] = ch.input_tree.ty
        assigns[f"{prefix}{ch.name}" if prefix else f"_{doc.id}_p{i}"] = Ty(Kind.NUMBER, False)
    assigns[doc.output] = Ty(Kind.NUMBER, False)
    reads = [
        f
        for f in reads_of(
            *(c.input_tree for c in chars),
            *(t for c in chars for t, _ in c.bins),
            *(t for c in chars for t, _ in c.special),
        )
        if f in env
    ]
    for c in chars:
        if c.input_tree is None and c.subject not in reads:
            reads.append(c.subject)
    return CompiledScorecard(
        doc.id,
        "scorecard",
        ctx.node_index,
        reads=reads,
        assigns=assigns,
        base=doc.base_points,
        output=doc.output,
        chars=chars,
        top=doc.reasons_top,
        prefix=prefix,
    )
