"""Vector back end: compile a typed tree into a polars expression over a DataFrame.

Polars already has the null semantics the language defines (null propagates through
arithmetic and comparisons, ``&``/``|`` are three-valued, ``when`` treats a null condition as
false), so most nodes map one to one; the exceptions (division by zero, float overflow,
strict functions whose polars form skips nulls) are guarded here explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from ruleplus.expr._ast import (
    Binary,
    Call,
    Compare,
    Field,
    IfElse,
    In,
    IsNull,
    ListExpr,
    Literal,
    Logical,
    Node,
    Not,
    Unary,
)
from ruleplus.expr._functions import FUNCTIONS
from ruleplus.expr._types import Kind, Ty

__all__ = ["VectorEmitter", "polars_dtype"]

_DTYPES: dict[Kind, pl.DataType] = {
    Kind.INTEGER: pl.Int64(),
    Kind.NUMBER: pl.Float64(),
    Kind.STRING: pl.String(),
    Kind.BOOLEAN: pl.Boolean(),
    Kind.DATE: pl.Date(),
}


def polars_dtype(ty: Ty) -> pl.DataType | None:
    """The polars dtype that holds values of ``ty`` (None for null/any)."""
    if ty.kind is Kind.LIST:
        inner = _DTYPES.get(ty.element or Kind.ANY)
        return pl.List(inner) if inner is not None else None
    return _DTYPES.get(ty.kind)


def _ty(node: Node) -> Ty:
    assert node.ty is not None
    return node.ty


_BOOLEAN = Ty(Kind.BOOLEAN)


def _null(ty: Ty) -> pl.Expr:
    dtype = polars_dtype(ty)
    return pl.lit(None, dtype=dtype) if dtype is not None else pl.lit(None)


def _strict_on_null(node: Node) -> bool:
    """Whether ``node`` is a null-propagating operation with an operand of kind null."""
    strict = isinstance(node, Unary | Binary | Not | In) or (
        isinstance(node, Call) and FUNCTIONS[node.name].strict
    )
    return strict and any(_ty(c).kind is Kind.NULL for c in node.children())


class VectorEmitter:
    """Turn typed trees into polars expressions.

    Parameters
    ----------
    field_expr : callable
        Maps a field name to the polars expression that reads it (usually ``pl.col(name)``).
    """

    def __init__(self, field_expr: Callable[[str], pl.Expr]) -> None:
        self.field_expr = field_expr

    def emit(self, node: Node) -> pl.Expr:
        """Polars expression computing ``node``."""
        if _strict_on_null(node):
            # The literal ``null`` has polars dtype Null, on which negation, ``not``, ``abs``,
            # ``lower``… are errors; a strict operation on it is null anyway: type that null.
            return _null(_ty(node))
        method: Callable[[Node], pl.Expr] = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _typed(self, node: Node, ty: Ty) -> pl.Expr:
        """``node``, with the untyped literal ``null`` given the dtype of ``ty``."""
        return _null(ty) if _ty(node).kind is Kind.NULL else self.emit(node)

    def _literal(self, node: Literal) -> pl.Expr:
        dtype = polars_dtype(_ty(node))
        if isinstance(node.value, dt.date):
            return pl.lit(node.value, dtype=pl.Date())
        return pl.lit(node.value, dtype=dtype) if dtype is not None else pl.lit(None)

    def _field(self, node: Field) -> pl.Expr:
        return self.field_expr(node.name)

    def _unary(self, node: Unary) -> pl.Expr:
        operand = self.emit(node.operand)
        return -operand if node.op == "-" else operand

    def _binary(self, node: Binary) -> pl.Expr:
        result = self._arithmetic(node)
        if _ty(node).kind is Kind.NUMBER:  # float overflow (inf, nan) is null
            return pl.when(result.is_finite()).then(result)
        return result

    def _arithmetic(self, node: Binary) -> pl.Expr:
        left, right = self.emit(node.left), self.emit(node.right)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        if node.op == "**":
            return left.cast(pl.Float64).pow(right.cast(pl.Float64))
        nonzero = right != 0
        if node.op == "/":
            return pl.when(nonzero).then(left / right)
        if node.op == "//":
            return pl.when(nonzero).then(left // right)
        return pl.when(nonzero).then(left % right)

    def _compare(self, node: Compare) -> pl.Expr:
        left, right = self.emit(node.left), self.emit(node.right)
        ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        return ops[node.op](left, right)

    def _logical(self, node: Logical) -> pl.Expr:
        exprs = [self._typed(o, _BOOLEAN) for o in node.operands]
        result = exprs[0]
        for other in exprs[1:]:
            result = (result & other) if node.op == "and" else (result | other)
        return result

    def _not(self, node: Not) -> pl.Expr:
        return ~self.emit(node.operand)

    def _isnull(self, node: IsNull) -> pl.Expr:
        operand = self.emit(node.operand)
        return operand.is_not_null() if node.negated else operand.is_null()

    def _listexpr(self, node: ListExpr) -> pl.Expr:
        if not node.items:  # concat_list needs at least one expression
            return pl.lit([], dtype=polars_dtype(_ty(node)) or pl.List(pl.Null))
        return pl.concat_list([self.emit(i) for i in node.items])

    def _in(self, node: In) -> pl.Expr:
        value = self.emit(node.value)
        container = node.container
        vty = _ty(node.value)
        if isinstance(container, ListExpr) and all(isinstance(i, Literal) for i in container.items):
            items: list[Any] = [i.value for i in container.items if isinstance(i, Literal)]
            kinds = {_ty(i).kind for i in container.items}
            if vty.kind in (Kind.INTEGER, Kind.NUMBER) and (
                Kind.NUMBER in kinds or vty.kind is Kind.NUMBER
            ):
                value = value.cast(pl.Float64)
                items = [float(v) for v in items]
            dtype = (
                polars_dtype(
                    Ty(Kind.NUMBER if isinstance(items[0], float) else _ty(container.items[0]).kind)
                )
                if items
                else None
            )
            result = value.is_in(pl.Series(items, dtype=dtype).implode())
        elif isinstance(container, ListExpr):
            hits = [(value == self.emit(i)).fill_null(False) for i in container.items]
            any_hit = pl.any_horizontal(hits) if hits else pl.lit(False)
            result = pl.when(value.is_not_null()).then(any_hit)
        else:
            result = self.emit(container).list.contains(value)
            result = pl.when(value.is_not_null()).then(result)
        return ~result if node.negated else result

    def _ifelse(self, node: IfElse) -> pl.Expr:
        cond = self._typed(node.cond, _BOOLEAN)
        return pl.when(cond).then(self.emit(node.then)).otherwise(self.emit(node.other))

    def _call(self, node: Call) -> pl.Expr:
        spec = FUNCTIONS[node.name]
        args = [self._typed(a, _ty(node)) for a in node.args]  # min(null, x), coalesce(null, x)
        tys = [_ty(a) for a in node.args]
        consts = [a.value if isinstance(a, Literal) else None for a in node.args]
        result = spec.vector(args, tys, consts)
        nullable = [a for a, t in zip(args, tys, strict=True) if t.nullable]
        if spec.strict and nullable and node.name not in ("min", "max"):
            present = nullable[0].is_not_null()
            for a in nullable[1:]:
                present = present & a.is_not_null()
            result = pl.when(present).then(result)
        return result
