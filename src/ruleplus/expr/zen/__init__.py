"""The ZEN expression language of GoRules zen-engine (JDM decision graphs), natively.

ZEN is dynamically typed and computes in decimals; this package parses it (standard
expressions and decision-table cells, where ``$`` is the column value), compiles it to Python
closures with zen's semantics (never ``eval``) and converts values between JSON and ZEN.

Example
-------
>>> from ruleplus.expr.zen import compile_zen, compile_zen_unary
>>> compile_zen("sum(map(items, #.price * #.qty))").evaluate(
...     {"items": [{"price": 2.5, "qty": 2}, {"price": 1, "qty": 3}]})
8
>>> compile_zen_unary('"gold", "platinum"').evaluate({}, reference="gold")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruleplus.expr.zen._compile import Interval, Run, Scope, compile_node
from ruleplus.expr.zen._functions import FUNCTIONS, string_of, to_bool
from ruleplus.expr.zen._parser import ZNode, parse_standard, parse_unary
from ruleplus.expr.zen._values import (
    CLOCK,
    CTX,
    ZenRuntimeError,
    dot_insert,
    from_json,
    merge,
    to_json,
    type_name,
)

__all__ = [
    "CLOCK",
    "CTX",
    "FUNCTIONS",
    "Interval",
    "Scope",
    "ZNode",
    "ZenExpression",
    "ZenRuntimeError",
    "compile_zen",
    "compile_zen_unary",
    "dot_insert",
    "from_json",
    "merge",
    "parse_standard",
    "parse_unary",
    "string_of",
    "to_bool",
    "to_json",
    "type_name",
]


@dataclass(frozen=True)
class ZenExpression:
    """A compiled ZEN expression.

    Attributes
    ----------
    source : str
        The expression text.
    tree : ZNode
        The syntax tree.
    unary : bool
        Whether it is a decision-table cell (``$`` is the tested value).
    """

    source: str
    tree: ZNode
    unary: bool
    run: Run

    def __call__(self, scope: Scope) -> Any:
        """Evaluate on a prepared scope (ZEN values in, ZEN value out)."""
        return self.run(scope)

    def evaluate(self, data: Any, *, reference: Any = None) -> Any:
        """Evaluate on JSON data; returns JSON (``reference`` is ``$``)."""
        scope = Scope(from_json(data), from_json(reference))
        return to_json(self.run(scope))


def compile_zen(source: str) -> ZenExpression:
    """Parse and compile a standard ZEN expression.

    Raises
    ------
    ExpressionSyntaxError, UnsafeExpressionError
        With the expression and the column.
    """
    tree = parse_standard(source)
    return ZenExpression(source, tree, False, compile_node(tree, source))


def compile_zen_unary(source: str) -> ZenExpression:
    """Parse and compile a decision-table cell (unary test over ``$``)."""
    tree = parse_unary(source)
    return ZenExpression(source, tree, True, compile_node(tree, source))
