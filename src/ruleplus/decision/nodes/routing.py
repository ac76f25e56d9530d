"""Routing nodes: ``switch`` (first case that holds) and ``split`` (champion/challenger).

A split assigns each applicant to an arm by a stable hash of ``salt`` and the key field, so an
applicant always sees the same arm until the salt or the shares change; a null key goes to the
first arm (the champion). The hash is FNV-1a (64-bit) over the UTF-8 bytes of
``salt + "\x1f" + key`` followed by the splitmix64 finaliser, written out here because it must be
the same in the row back end (pure Python) and the vector back end (numpy over Arrow buffers,
about 30 vector operations for a million keys), in every process and every library version —
which rules out Python's ``hash`` and polars' ``hash``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ruleplus.decision._document import SplitNode, SwitchNode
from ruleplus.decision.nodes._base import CompiledNode, NodeContext, RowGen, VecGen, reads_of
from ruleplus.expr import Kind, Node, Ty

__all__ = ["CompiledSplit", "CompiledSwitch", "bucket", "check_split", "check_switch"]

BUCKETS = 10_000


_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF


def _fnv(data: bytes, state: int = _FNV_OFFSET) -> int:
    for byte in data:
        state = ((state ^ byte) * _FNV_PRIME) & _MASK
    return state


def _finalise(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _MASK
    return x ^ (x >> 33)


def bucket(salt: str, key: Any) -> int:
    """Stable bucket in ``[0, 10000)`` for an applicant key (None -> 0)."""
    if key is None:
        return 0
    text = key if isinstance(key, str) else str(key)
    state = _fnv(text.encode(), _fnv(salt.encode() + b"\x1f"))
    return _finalise(state) % BUCKETS


def buckets(salt: str, keys: pl.Series) -> np.ndarray:
    """:func:`bucket` for a whole column at once (same results, vectorised)."""
    strings = keys.cast(pl.String)
    arrow = (
        pa.concat_arrays(strings.to_arrow().chunks)
        if isinstance(strings.to_arrow(), pa.ChunkedArray)
        else strings.to_arrow()
    )
    arrow = arrow.cast(pa.large_string())
    _, offsets_buf, data_buf = arrow.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        arrow.offset : arrow.offset + len(arrow) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)
        if data_buf is not None
        else np.zeros(1, dtype=np.uint8)
    )
    if data.size == 0:
        data = np.zeros(1, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    state = np.full(len(arrow), _fnv(salt.encode() + b"\x1f"), dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    for j in range(int(lengths.max()) if len(lengths) else 0):
        active = lengths > j
        byte = data[np.minimum(starts + j, data.size - 1)].astype(np.uint64)
        state = np.where(active, (state ^ byte) * prime, state)
    x = state
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    out = (x % np.uint64(BUCKETS)).astype(np.int64)
    out[strings.is_null().to_numpy()] = 0
    return out


@dataclass
class CompiledSwitch(CompiledNode):
    """Route to the first case whose condition holds."""

    cases: list[tuple[Node, str]] = field(default_factory=list)
    default: str = "end"

    def row_branches(
        self, g: RowGen
    ) -> tuple[list[ast.stmt], list[tuple[ast.expr | None, str, str | None]]]:
        branches: list[tuple[ast.expr | None, str, str | None]] = [
            (g.cond(c), t, None) for c, t in self.cases
        ]
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

    def row_branches(
        self, g: RowGen
    ) -> tuple[list[ast.stmt], list[tuple[ast.expr | None, str, str | None]]]:
        fn = g.helper("_bucket", bucket)
        setup: list[ast.stmt] = [
            ast.Assign(
                targets=[ast.Name(id="_b", ctx=ast.Store())],
                value=ast.Call(
                    func=fn, args=[ast.Constant(self.salt), g.load(self.key)], keywords=[]
                ),
            )
        ]
        branches: list[tuple[ast.expr | None, str, str | None]] = []
        for i, (name, upper, target) in enumerate(self.arms):
            last = i == len(self.arms) - 1
            test = (
                None
                if last
                else ast.Compare(
                    left=ast.Name(id="_b", ctx=ast.Load()),
                    ops=[ast.Lt()],
                    comparators=[ast.Constant(upper)],
                )
            )
            branches.append((test, target, name))
        return setup, branches

    def vector_branches(self, g: VecGen) -> list[tuple[pl.Expr | None, str, str | None]]:
        salt = self.salt
        source = g.source
        keys = (
            source.get_column(self.key)
            if self.key in source.columns
            else pl.Series([None] * source.height, dtype=pl.String)
        )
        col = g.column(pl.lit(pl.Series(buckets(salt, keys), dtype=pl.Int64)))
        out: list[tuple[pl.Expr | None, str, str | None]] = []
        lower = 0
        for i, (name, upper, target) in enumerate(self.arms):
            last = i == len(self.arms) - 1
            cond = (
                (pl.col(col) >= lower) if last else ((pl.col(col) >= lower) & (pl.col(col) < upper))
            )
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
    return CompiledSwitch(
        doc.id,
        "switch",
        ctx.node_index,
        reads=reads_of(*(c for c, _ in cases)),
        targets=targets,
        cases=cases,
        default=doc.default,
    )


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
    return CompiledSplit(
        doc.id,
        "split",
        ctx.node_index,
        reads=[doc.key],
        targets=[a.goto for a in doc.arms],
        key=doc.key,
        salt=doc.salt,
        arms=arms,
    )
