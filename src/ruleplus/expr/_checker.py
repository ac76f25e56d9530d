"""Check a syntax tree against the allow-list and type it against an input schema.

After checking, every node's ``ty`` holds its type and whether it may be null; both back ends
rely on this (the row back end skips null tests for values that cannot be null).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from typing import Any

from ruleplus.errors import ExpressionTypeError, UnsafeExpressionError
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
    Range,
    Unary,
)
from ruleplus.expr._functions import FUNCTIONS, SignatureError
from ruleplus.expr._types import Kind, Ty

__all__ = ["MAX_EXPONENT", "check", "literal_ty"]

MAX_EXPONENT = 1024
"""Largest constant exponent accepted by ``**``."""

_BOOL = Ty(Kind.BOOLEAN, False)


def literal_ty(value: Any) -> Ty:
    """The type of a constant: non-null, except for ``None`` (the null type)."""
    if value is None:
        return Ty(Kind.NULL, True)
    if isinstance(value, bool):
        return Ty(Kind.BOOLEAN, False)
    if isinstance(value, int):
        return Ty(Kind.INTEGER, False)
    if isinstance(value, float):
        return Ty(Kind.NUMBER, False)
    if isinstance(value, str):
        return Ty(Kind.STRING, False)
    if isinstance(value, dt.date):
        return Ty(Kind.DATE, False)
    raise ExpressionTypeError(f"unsupported literal {value!r}")  # pragma: no cover


class _Checker:
    def __init__(self, schema: Mapping[str, Ty], source: str) -> None:
        self.schema = schema
        self.source = source

    def fail(self, node: Node, message: str, **extra: Any) -> ExpressionTypeError:
        return ExpressionTypeError(
            message, expression=self.source, line=node.pos[0], column=node.pos[1], **extra
        )

    def check(self, node: Node) -> Node:
        method = getattr(self, "_" + type(node).__name__.lower())
        result: Node = method(node)
        if result.ty is None:  # pragma: no cover - every method sets a type
            raise self.fail(node, "internal error: untyped node")
        return result

    # leaves -------------------------------------------------------------------------------
    def _literal(self, node: Literal) -> Node:
        node.ty = literal_ty(node.value)
        return node

    def _field(self, node: Field) -> Node:
        if any(part.startswith("__") or not part for part in node.name.split(".")):
            raise UnsafeExpressionError(
                f"field name {node.name!r} is not allowed (names may not start with '__')",
                expression=self.source,
            )
        ty = self.schema.get(node.name)
        if ty is None:
            close = difflib.get_close_matches(node.name, list(self.schema), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self.fail(node, f"unknown field {node.name!r}{hint}", field=node.name)
        node.ty = ty
        return node

    # operators ----------------------------------------------------------------------------
    def _unary(self, node: Unary) -> Node:
        node.operand = self.check(node.operand)
        ty = _ty(node.operand)
        if not ty.numeric:
            raise self.fail(node, f"unary {node.op} needs a number, got {ty}")
        node.ty = Ty(Kind.NUMBER if ty.kind is Kind.NULL else ty.kind, ty.nullable)
        return node

    def _binary(self, node: Binary) -> Node:
        node.left = self.check(node.left)
        node.right = self.check(node.right)
        lt, rt = _ty(node.left), _ty(node.right)
        nullable = lt.nullable or rt.nullable
        if node.op == "+" and lt.kind is Kind.STRING and rt.kind in (Kind.STRING, Kind.NULL):
            node.ty = Ty(Kind.STRING, nullable)
            return node
        if not (lt.numeric and rt.numeric):
            raise self.fail(node, f"'{node.op}' needs numbers, got {lt} {node.op} {rt}")
        if node.op == "**":
            exponent = node.right
            if isinstance(exponent, Literal) and abs(exponent.value or 0) > MAX_EXPONENT:
                raise UnsafeExpressionError(
                    f"exponent {exponent.value} is too large (at most {MAX_EXPONENT})",
                    expression=self.source,
                )
            node.ty = Ty(Kind.NUMBER, True)  # float power; overflow and complex results are null
            return node
        if node.op == "/":
            node.ty = Ty(Kind.NUMBER, True)  # division by zero is null
            return node
        if node.op in ("//", "%"):
            node.ty = Ty(_kind_of(lt, rt), True)
            return node
        kind = _kind_of(lt, rt)
        node.ty = Ty(kind, nullable or kind is Kind.NUMBER)  # float overflow is null
        return node

    def _compare(self, node: Compare) -> Node:
        node.left = self.check(node.left)
        node.right = self.check(node.right)
        lt, rt = _ty(node.left), _ty(node.right)
        if Kind.NULL in (lt.kind, rt.kind):
            fix = "is not null" if node.op == "!=" else "is null"
            raise self.fail(node, f"comparing with null is always null; write 'x {fix}'")
        if node.op in ("<", "<=", ">", ">=") and lt.kind is Kind.BOOLEAN:
            raise self.fail(node, f"'{node.op}' cannot order booleans")
        if not _comparable(lt, rt):
            raise self.fail(node, f"cannot compare {lt} {node.op} {rt}")
        node.ty = Ty(Kind.BOOLEAN, lt.nullable or rt.nullable)
        return node

    def _logical(self, node: Logical) -> Node:
        node.operands = [self.check(op) for op in node.operands]
        for op in node.operands:
            if not _ty(op).fits(Kind.BOOLEAN):
                raise self.fail(op, f"'{node.op}' needs true/false values, got {_ty(op)}")
        node.ty = Ty(Kind.BOOLEAN, any(_ty(op).nullable for op in node.operands))
        return node

    def _not(self, node: Not) -> Node:
        node.operand = self.check(node.operand)
        ty = _ty(node.operand)
        if not ty.fits(Kind.BOOLEAN):
            raise self.fail(node, f"'not' needs a true/false value, got {ty}")
        node.ty = Ty(Kind.BOOLEAN, ty.nullable)
        return node

    def _isnull(self, node: IsNull) -> Node:
        node.operand = self.check(node.operand)
        node.ty = _BOOL
        return node

    def _listexpr(self, node: ListExpr) -> Node:
        node.items = [self.check(item) for item in node.items]
        kinds = [_ty(i) for i in node.items]
        try:
            element = _unify(kinds) if kinds else Kind.ANY
        except TypeError:
            raise self.fail(node, "list items must all have the same type") from None
        node.ty = Ty(Kind.LIST, False, element)
        return node

    def _range(self, node: Range) -> Node:
        node.low = self.check(node.low)
        node.high = self.check(node.high)
        lt, ht = _ty(node.low), _ty(node.high)
        if not _comparable(lt, ht) or lt.kind is Kind.BOOLEAN:
            raise self.fail(
                node, f"range ends must be two numbers, strings or dates, got {lt}..{ht}"
            )
        node.ty = Ty(Kind.LIST, lt.nullable or ht.nullable, _unify([lt, ht]))
        return node

    def _in(self, node: In) -> Node:
        if isinstance(node.container, Range):
            return self.check(_range_test(node, node.container))
        node.value = self.check(node.value)
        node.container = self.check(node.container)
        vt, ct = _ty(node.value), _ty(node.container)
        if ct.kind is not Kind.LIST:
            raise self.fail(node, f"'in' needs a list [a, b] or a range [a..b], got {ct}")
        element = ct.element or Kind.ANY
        if not _comparable(vt, Ty(element)):
            raise self.fail(node, f"cannot look for a {vt} in a list of {element.value}")
        if isinstance(node.container, ListExpr) and any(
            isinstance(i, Literal) and i.value is None for i in node.container.items
        ):
            raise self.fail(node, "null in a list never matches; test 'x is null' instead")
        node.ty = Ty(Kind.BOOLEAN, vt.nullable or ct.nullable)
        return node

    def _ifelse(self, node: IfElse) -> Node:
        node.cond = self.check(node.cond)
        node.then = self.check(node.then)
        node.other = self.check(node.other)
        if not _ty(node.cond).fits(Kind.BOOLEAN):
            raise self.fail(node.cond, f"'if' needs a true/false condition, got {_ty(node.cond)}")
        tt, ot = _ty(node.then), _ty(node.other)
        try:
            kind = _unify([tt, ot])
        except TypeError:
            raise self.fail(
                node, f"'then' and 'else' must have the same type, got {tt} and {ot}"
            ) from None
        element = tt.element if tt.kind is Kind.LIST else None
        node.ty = Ty(kind, tt.nullable or ot.nullable, element)
        return node

    def _call(self, node: Call) -> Node:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            if node.name.startswith("_"):
                raise UnsafeExpressionError(
                    f"function {node.name!r} is not allowed", expression=self.source
                )
            close = difflib.get_close_matches(node.name, list(FUNCTIONS), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnsafeExpressionError(
                f"unknown function {node.name!r}{hint} (allowed: {', '.join(sorted(FUNCTIONS))})",
                expression=self.source,
            )
        count = len(node.args)
        if count < spec.min_args or (spec.max_args >= 0 and count > spec.max_args):
            want = (
                f"{spec.min_args}"
                if spec.min_args == spec.max_args
                else f"at least {spec.min_args}"
                if spec.max_args < 0
                else f"{spec.min_args} to {spec.max_args}"
            )
            raise self.fail(node, f"{node.name}() takes {want} arguments, got {count}")
        # min([a, b]) means min(a, b): flatten a literal list argument
        if node.name in ("min", "max") and count == 1 and isinstance(node.args[0], ListExpr):
            node.args = list(node.args[0].items)
            if not node.args:
                raise self.fail(node, f"{node.name}() of an empty list")
        node.args = [self.check(a) for a in node.args]
        tys = [_ty(a) for a in node.args]
        consts = [a.value if isinstance(a, Literal) else None for a in node.args]
        try:
            node.ty = spec.typer(tys, consts)
        except SignatureError as exc:
            raise self.fail(node, f"{node.name}(): {exc}") from None
        if node.name == "between":
            value, low, high = node.args
            both = Logical(
                "and",
                [Compare(">=", value, low, pos=node.pos), Compare("<=", value, high, pos=node.pos)],
                pos=node.pos,
            )
            return self.check(both)
        if node.name == "date" and isinstance(consts[0], str):
            return Literal(dt.date.fromisoformat(consts[0]), pos=node.pos, ty=Ty(Kind.DATE, False))
        return node


def _range_test(node: In, rng: Range) -> Node:
    """Desugar ``x in [a..b)`` into ``x >= a and x < b``: one semantics for both back ends."""
    low = Compare(">=" if rng.low_closed else ">", node.value, rng.low, pos=rng.pos)
    high = Compare("<=" if rng.high_closed else "<", node.value, rng.high, pos=rng.pos)
    both: Node = Logical("and", [low, high], pos=node.pos)
    return Not(both, pos=node.pos) if node.negated else both


def _ty(node: Node) -> Ty:
    assert node.ty is not None
    return node.ty


def _kind_of(a: Ty, b: Ty) -> Kind:
    if a.kind in (Kind.INTEGER, Kind.NULL) and b.kind in (Kind.INTEGER, Kind.NULL):
        return Kind.INTEGER
    return Kind.NUMBER


def _comparable(a: Ty, b: Ty) -> bool:
    if Kind.ANY in (a.kind, b.kind) or Kind.NULL in (a.kind, b.kind):
        return True
    if a.numeric and b.numeric:
        return True
    return a.kind is b.kind and a.kind is not Kind.LIST


def _unify(tys: list[Ty]) -> Kind:
    kinds = {t.kind for t in tys if t.kind is not Kind.NULL}
    if not kinds:
        return Kind.NULL
    if kinds <= {Kind.INTEGER, Kind.NUMBER}:
        return Kind.INTEGER if kinds == {Kind.INTEGER} else Kind.NUMBER
    if len(kinds) == 1:
        return kinds.pop()
    raise TypeError("mixed kinds")


def check(node: Node, schema: Mapping[str, Ty], source: str = "") -> Node:
    """Check ``node`` against the allow-list and type it against ``schema``.

    Parameters
    ----------
    node : Node
        A parsed tree (it is annotated in place and may be partly replaced by folded constants).
    schema : mapping of str to Ty
        The fields the expression may read, with their types.
    source : str, default=""
        The expression text, for error messages.

    Returns
    -------
    Node
        The typed tree (use the returned root).

    Raises
    ------
    ExpressionTypeError
        Unknown field, operands or arguments of the wrong type.
    UnsafeExpressionError
        A call outside the function library, a forbidden name, a huge constant exponent.
    """
    return _Checker(schema, source).check(node)
