"""The ruleplus expression language.

One syntax tree, checked once, compiled to two back ends with one semantics:

- a **row** back end (a Python code object; a few hundred nanoseconds per expression), and
- a **vector** back end (a polars expression over a whole DataFrame).

Null semantics: arithmetic, comparisons and strict functions give null when an operand is null;
``and``/``or``/``not`` are three-valued (``false and null`` is false, ``true or null`` is true);
a null condition counts as false in ``if`` and in rules; division by zero, overflow and
out-of-domain math give null; ``min``/``max``/``coalesce`` skip nulls.

Callers that build or inspect trees themselves (the decision nodes) use the syntax tree classes
(:class:`Node` and its subclasses, :func:`walk`), :func:`literal_ty` and, to lay out generated
functions, :func:`function_def` from here, not from the private modules.

Example
-------
>>> from ruleplus.expr import compile_expression, Ty, Kind
>>> e = compile_expression("if dti > 0.4 then 'high' else 'ok'", {"dti": Ty(Kind.NUMBER)})
>>> e({"dti": 0.5})
'high'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    Range,
    Unary,
    walk,
)
from ruleplus.expr._checker import check, literal_ty
from ruleplus.expr._functions import FUNCTIONS
from ruleplus.expr._parser import KEYWORDS, SUBJECT, parse, parse_unary_tests
from ruleplus.expr._row import RowEmitter, build_function, compile_row, function_def
from ruleplus.expr._types import Kind, Ty, parse_type_name
from ruleplus.expr._vector import VectorEmitter, polars_dtype

__all__ = [
    "FUNCTIONS",
    "KEYWORDS",
    "SUBJECT",
    "Binary",
    "Call",
    "Compare",
    "CompiledExpression",
    "Field",
    "IfElse",
    "In",
    "IsNull",
    "Kind",
    "ListExpr",
    "Literal",
    "Logical",
    "Node",
    "Not",
    "Range",
    "RowEmitter",
    "Ty",
    "Unary",
    "VectorEmitter",
    "build_function",
    "check",
    "compile_expression",
    "fields_of",
    "function_def",
    "literal_ty",
    "parse",
    "parse_type_name",
    "parse_unary_tests",
    "polars_dtype",
    "walk",
]


def fields_of(node: Node) -> list[str]:
    """Names of the fields a tree reads, in first-use order."""
    return list(dict.fromkeys(n.name for n in walk(node) if isinstance(n, Field)))


@dataclass
class CompiledExpression:
    """A checked expression with both back ends.

    Attributes
    ----------
    source : str
        The expression text.
    tree : Node
        The typed syntax tree.
    ty : Ty
        The result type.
    fields : list of str
        Fields it reads.
    """

    source: str
    tree: Node
    ty: Ty
    fields: list[str]
    _row: Any = field(repr=False)

    def __call__(self, record: Mapping[str, Any]) -> Any:
        """Evaluate on one record (missing fields are null)."""
        return self._row(record)

    def to_polars(self) -> pl.Expr:
        """The polars expression (fields read with ``pl.col``)."""
        return VectorEmitter(pl.col).emit(self.tree)


def compile_expression(source: str, schema: Mapping[str, Ty]) -> CompiledExpression:
    """Parse, check and compile one expression.

    Parameters
    ----------
    source : str
        The expression text.
    schema : mapping of str to Ty
        Fields the expression may read.

    Raises
    ------
    ExpressionSyntaxError, UnsafeExpressionError, ExpressionTypeError
        With the expression, the position and what to do.
    """
    tree = check(parse(source), schema, source)
    names = fields_of(tree)
    row = compile_row(tree, {name: f"v{i}" for i, name in enumerate(names)})
    assert tree.ty is not None
    return CompiledExpression(source, tree, tree.ty, names, row)
