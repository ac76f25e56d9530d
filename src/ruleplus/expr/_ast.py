"""Syntax tree of the expression language: one tree, two back ends (row and vector)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruleplus.expr._types import Ty

__all__ = [
    "Binary",
    "Call",
    "Compare",
    "Field",
    "IfElse",
    "In",
    "IsNull",
    "ListExpr",
    "Literal",
    "Logical",
    "Node",
    "Not",
    "Range",
    "Unary",
    "walk",
]


@dataclass(eq=False)
class Node:
    """Base node. ``ty`` is filled in by the checker; ``pos`` is (line, column)."""

    pos: tuple[int, int] = field(default=(1, 1), kw_only=True)
    ty: Ty | None = field(default=None, kw_only=True, repr=False)

    def children(self) -> tuple[Node, ...]:
        """Direct sub-expressions, left to right."""
        return ()


@dataclass(eq=False)
class Literal(Node):
    """A constant: number, string, boolean, date or null."""

    value: Any


@dataclass(eq=False)
class Field(Node):
    """A reference to an input or derived field (dotted paths name nested fields)."""

    name: str


@dataclass(eq=False)
class Unary(Node):
    """Unary minus or plus."""

    op: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(eq=False)
class Binary(Node):
    """Arithmetic: ``+ - * / // % **``."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(eq=False)
class Compare(Node):
    """Comparison: ``== != < <= > >=``."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(eq=False)
class Logical(Node):
    """``and`` / ``or`` over two or more operands, with three-valued (Kleene) logic."""

    op: str
    operands: list[Node]

    def children(self) -> tuple[Node, ...]:
        return tuple(self.operands)


@dataclass(eq=False)
class Not(Node):
    """Logical negation (``not null`` is null)."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(eq=False)
class IsNull(Node):
    """``x is null`` / ``x is not null``; never null itself."""

    operand: Node
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(eq=False)
class ListExpr(Node):
    """A list literal ``[a, b, c]``."""

    items: list[Node]

    def children(self) -> tuple[Node, ...]:
        return tuple(self.items)


@dataclass(eq=False)
class Range(Node):
    """An interval ``[a..b]``, ``(a..b)``, ``[a..b)``, ``(a..b]``; only after ``in``."""

    low: Node
    high: Node
    low_closed: bool = True
    high_closed: bool = True

    def children(self) -> tuple[Node, ...]:
        return (self.low, self.high)


@dataclass(eq=False)
class In(Node):
    """Membership ``x in [..]`` / ``x not in [..]``, or ``x in [a..b]`` for ranges."""

    value: Node
    container: Node
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.value, self.container)


@dataclass(eq=False)
class IfElse(Node):
    """``if c then a else b``; a null condition takes the ``else`` branch."""

    cond: Node
    then: Node
    other: Node

    def children(self) -> tuple[Node, ...]:
        return (self.cond, self.then, self.other)


@dataclass(eq=False)
class Call(Node):
    """A call of a library function (only names in the function registry are allowed)."""

    name: str
    args: list[Node]

    def children(self) -> tuple[Node, ...]:
        return tuple(self.args)


def walk(node: Node) -> list[Node]:
    """Return every node of the tree, parents before children (iterative: no recursion limit)."""
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children()))
    return out
