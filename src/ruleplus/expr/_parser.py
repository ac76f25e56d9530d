"""Parse expression text into the ruleplus syntax tree.

The grammar (``grammar.lark``) is LALR(1) and parsed by lark with the tree built inside the
parser's reduce callbacks, so nothing recurses on user input. Size, depth and literal limits are
enforced while the tree is built: a hostile expression is refused before any other work is done.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from typing import Any, TypeAlias, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ruleplus.errors import ExpressionSyntaxError, UnsafeExpressionError
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

__all__ = [
    "KEYWORDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "SUBJECT",
    "parse",
    "parse_unary_tests",
]

SUBJECT = "?"
"""Name of the placeholder field that a decision-table cell tests."""

MAX_LENGTH = 10_000
"""Longest expression text accepted, in characters."""
MAX_DEPTH = 64
"""Deepest nesting of the syntax tree accepted."""
MAX_NODES = 2_000
"""Most syntax-tree nodes one expression may have."""
_MAX_NUMBER_DIGITS = 40
_MAX_INTEGER = 2**63 - 1
KEYWORDS = frozenset(
    {"if", "then", "else", "and", "or", "not", "in", "is", "null", "true", "false"}
)
"""Words of the grammar that cannot name a field (quote such a field: `` `in` ``)."""
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


class _Limits:
    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes = 0
        self.depth: dict[int, int] = {}

    def track(self, node: Node, *children: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise UnsafeExpressionError(
                f"expression is too large (more than {MAX_NODES} parts); "
                "split it into derived fields",
                expression=_short(self.text),
            )
        depth = 1 + max((self.depth.get(id(c), 1) for c in children), default=0)
        if depth > MAX_DEPTH:
            raise UnsafeExpressionError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels); "
                "split it into derived fields",
                expression=_short(self.text),
                line=node.pos[0],
                column=node.pos[1],
            )
        self.depth[id(node)] = depth
        return node


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pos(token: Any) -> tuple[int, int]:
    line = getattr(token, "line", None)
    column = getattr(token, "column", None)
    if isinstance(line, int) and isinstance(column, int):
        return (line, column)
    return (1, 1)


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u":
            digits = body[i + 2 : i + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ValueError(f"bad \\u escape {body[i : i + 6]!r}")
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        if nxt not in _ESCAPES:
            raise ValueError(f"unknown escape \\{nxt}")
        out.append(_ESCAPES[nxt])
        i += 2
    return "".join(out)


# The grammar's ``list`` rule makes ``_Build.list`` shadow the builtin inside the class body,
# so the callbacks' parameter types are spelled with these aliases.
_Tokens: TypeAlias = list[Token]
_Items: TypeAlias = list[Any]
_Nodes: TypeAlias = list[Node]


class _Build(Transformer[Token, Node]):
    """Reduce callbacks: turn each grammar rule into a syntax-tree node."""

    def __init__(self) -> None:
        super().__init__()
        self.limits = _Limits("")

    def _n(self, node: Node, *children: Node) -> Node:
        return self.limits.track(node, *children)

    # literals -----------------------------------------------------------------------------
    def number(self, items: _Tokens) -> Node:
        tok = items[0]
        text = str(tok)
        if len(text) > _MAX_NUMBER_DIGITS:
            raise UnsafeExpressionError(
                f"number literal is too long (more than {_MAX_NUMBER_DIGITS} characters)",
                expression=_short(self.limits.text),
                column=tok.column,
            )
        is_float = any(c in text for c in ".eE")
        value: float | int = float(text) if is_float else int(text)
        if is_float and value == float("inf"):
            raise UnsafeExpressionError(
                "number literal is out of range", expression=_short(self.limits.text)
            )
        if not is_float and value > _MAX_INTEGER:  # the vector back end computes in int64
            raise UnsafeExpressionError(
                f"integer literal is out of range (at most {_MAX_INTEGER}); "
                "write a larger number with a decimal point or an exponent, e.g. 1e20",
                expression=_short(self.limits.text),
                column=tok.column,
            )
        return self._n(Literal(value, pos=_pos(tok)))

    def string(self, items: _Tokens) -> Node:
        tok = items[0]
        try:
            value = _unescape(str(tok)[1:-1])
        except ValueError as exc:
            raise ExpressionSyntaxError(
                f"bad string literal: {exc}",
                expression=_short(self.limits.text),
                line=tok.line,
                column=tok.column,
            ) from exc
        return self._n(Literal(value, pos=_pos(tok)))

    def true(self, _: _Tokens) -> Node:
        return self._n(Literal(True))

    def false(self, _: _Tokens) -> Node:
        return self._n(Literal(False))

    def null(self, _: _Tokens) -> Node:
        return self._n(Literal(None))

    def field(self, items: _Tokens) -> Node:
        return self._n(Field(".".join(str(t) for t in items), pos=_pos(items[0])))

    def quoted_field(self, items: _Tokens) -> Node:
        return self._n(Field(str(items[0])[1:-1], pos=_pos(items[0])))

    def call(self, items: _Items) -> Node:
        name, *args = items
        args = [a for a in args if a is not None]
        return self._n(Call(str(name), args, pos=_pos(name)), *args)

    def list(self, items: _Items) -> Node:
        elems = [a for a in items if a is not None]
        pos = elems[0].pos if elems else (1, 1)
        return self._n(ListExpr(elems, pos=pos), *elems)

    # operators ----------------------------------------------------------------------------
    def _binary(self, op: str, items: _Nodes) -> Node:
        left, right = items
        return self._n(Binary(op, left, right, pos=left.pos), left, right)

    def add(self, items: _Nodes) -> Node:
        return self._binary("+", items)

    def sub(self, items: _Nodes) -> Node:
        return self._binary("-", items)

    def mul(self, items: _Nodes) -> Node:
        return self._binary("*", items)

    def div(self, items: _Nodes) -> Node:
        return self._binary("/", items)

    def floordiv(self, items: _Nodes) -> Node:
        return self._binary("//", items)

    def mod(self, items: _Nodes) -> Node:
        return self._binary("%", items)

    def pow(self, items: _Nodes) -> Node:
        return self._binary("**", items)

    def neg(self, items: _Nodes) -> Node:
        (operand,) = items
        if isinstance(operand, Literal) and type(operand.value) in (int, float):
            operand.value = -operand.value  # fold "-5" into a literal
            return operand
        return self._n(Unary("-", operand, pos=operand.pos), operand)

    def pos(self, items: _Nodes) -> Node:
        (operand,) = items
        return self._n(Unary("+", operand, pos=operand.pos), operand)

    def _compare(self, op: str, items: _Nodes) -> Node:
        left, right = items
        return self._n(Compare(op, left, right, pos=left.pos), left, right)

    def eq(self, items: _Nodes) -> Node:
        return self._compare("==", items)

    def ne(self, items: _Nodes) -> Node:
        return self._compare("!=", items)

    def lt(self, items: _Nodes) -> Node:
        return self._compare("<", items)

    def le(self, items: _Nodes) -> Node:
        return self._compare("<=", items)

    def gt(self, items: _Nodes) -> Node:
        return self._compare(">", items)

    def ge(self, items: _Nodes) -> Node:
        return self._compare(">=", items)

    def _range(self, items: _Nodes, low_closed: bool, high_closed: bool) -> Node:
        low, high = items
        return self._n(Range(low, high, low_closed, high_closed, pos=low.pos), low, high)

    def range_cc(self, items: _Nodes) -> Node:
        return self._range(items, True, True)

    def range_co(self, items: _Nodes) -> Node:
        return self._range(items, True, False)

    def range_oc(self, items: _Nodes) -> Node:
        return self._range(items, False, True)

    def range_oo(self, items: _Nodes) -> Node:
        return self._range(items, False, False)

    def in_(self, items: _Nodes) -> Node:
        value, container = items
        return self._n(In(value, container, pos=value.pos), value, container)

    def not_in(self, items: _Nodes) -> Node:
        value, container = items
        return self._n(In(value, container, negated=True, pos=value.pos), value, container)

    def is_null(self, items: _Nodes) -> Node:
        (operand,) = items
        return self._n(IsNull(operand, pos=operand.pos), operand)

    def is_not_null(self, items: _Nodes) -> Node:
        (operand,) = items
        return self._n(IsNull(operand, negated=True, pos=operand.pos), operand)

    def _logical(self, op: str, items: _Nodes) -> Node:
        left, right = items
        operands = [
            *(left.operands if isinstance(left, Logical) and left.op == op else [left]),
            right,
        ]
        return self._n(Logical(op, operands, pos=operands[0].pos), left, right)

    def and_(self, items: _Nodes) -> Node:
        return self._logical("and", items)

    def or_(self, items: _Nodes) -> Node:
        return self._logical("or", items)

    def not_(self, items: _Nodes) -> Node:
        (operand,) = items
        return self._n(Not(operand, pos=operand.pos), operand)

    # decision-table cells --------------------------------------------------------------------
    def _subject(self, at: Node) -> Node:
        return self._n(Field(SUBJECT, pos=at.pos))

    def _t_compare(self, op: str, items: _Nodes) -> Node:
        (operand,) = items
        subject = self._subject(operand)
        return self._n(Compare(op, subject, operand, pos=operand.pos), subject, operand)

    def t_lt(self, items: _Nodes) -> Node:
        return self._t_compare("<", items)

    def t_le(self, items: _Nodes) -> Node:
        return self._t_compare("<=", items)

    def t_gt(self, items: _Nodes) -> Node:
        return self._t_compare(">", items)

    def t_ge(self, items: _Nodes) -> Node:
        return self._t_compare(">=", items)

    def t_ne(self, items: _Nodes) -> Node:
        return self._t_compare("!=", items)

    def t_eq(self, items: _Nodes) -> Node:
        (operand,) = items
        if isinstance(operand, Literal) and operand.value is None:
            subject = self._subject(operand)
            return self._n(IsNull(subject, pos=operand.pos), subject)
        return self._t_compare("==", items)

    def t_value(self, items: _Nodes) -> Node:
        (operand,) = items
        if isinstance(operand, Range | ListExpr):
            subject = self._subject(operand)
            return self._n(In(subject, operand, pos=operand.pos), subject, operand)
        return self.t_eq(items)

    def t_not(self, items: _Nodes) -> Node:
        (inner,) = items
        return self._n(Not(inner, pos=inner.pos), inner)

    def unary_tests(self, items: _Nodes) -> Node:
        if len(items) == 1:
            return items[0]
        if all(
            isinstance(t, Compare) and t.op == "==" and isinstance(t.right, Literal) for t in items
        ):
            # "a", "b", "c" -> ? in ["a", "b", "c"] (one set lookup instead of a chain)
            values = [t.right for t in items if isinstance(t, Compare)]
            listed = self._n(ListExpr(values, pos=items[0].pos), *values)
            subject = self._subject(items[0])
            return self._n(In(subject, listed, pos=items[0].pos), subject, listed)
        return self._n(Logical("or", list(items), pos=items[0].pos), *items)

    def ifelse(self, items: _Nodes) -> Node:
        cond, then, other = items
        return self._n(IfElse(cond, then, other, pos=cond.pos), cond, then, other)


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, _Build]:
    grammar = resources.files("ruleplus.expr").joinpath("grammar.lark").read_text("utf-8")
    build = _Build()
    lark = Lark(
        grammar,
        parser="lalr",
        transformer=build,
        maybe_placeholders=True,
        start=["start", "unary_tests"],
    )
    return lark, build


_LOCK = threading.Lock()


def parse(text: str) -> Node:
    """Parse expression text into a syntax tree.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"dti > 0.45 and creditScore < 650"``.

    Returns
    -------
    Node
        The root of the (unchecked) syntax tree.

    Raises
    ------
    ExpressionSyntaxError
        If the text does not parse; the message shows the line, column and what was expected.
    UnsafeExpressionError
        If the text is too long, too large or too deeply nested.
    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise UnsafeExpressionError(
            f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})",
            expression=_short(text),
        )
    return _parse(text, "start")


def parse_unary_tests(text: str) -> Node:
    """Parse a decision-table cell into a boolean tree over the placeholder field ``?``.

    Parameters
    ----------
    text : str
        The cell, e.g. ``">= 780"``, ``"[740..779]"``, ``'"own", "mortgage"'``, ``"not(0)"``.
        Callers treat ``""`` and ``"-"`` as "any value" before calling this.

    Returns
    -------
    Node
        A boolean tree in which :data:`SUBJECT` stands for the tested value.
    """
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"a table cell must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise UnsafeExpressionError("table cell is too long", expression=_short(text))
    return _parse(text, "unary_tests")


def _parse(text: str, start: str) -> Node:
    if not text.strip():
        raise ExpressionSyntaxError("expression is empty")
    with _LOCK:  # also around the first call: threads starting together build one parser
        lark, build = _parser()
        return _parse_locked(lark, build, text, start)


def _parse_locked(lark: Lark, build: _Build, text: str, start: str) -> Node:
    build.limits = _Limits(text)
    try:
        tree = lark.parse(text, start=start)
    except (UnsafeExpressionError, ExpressionSyntaxError):
        raise
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise UnsafeExpressionError(
            "expression is nested too deeply", expression=_short(text)
        ) from None
    finally:
        build.limits = _Limits("")
    if not isinstance(tree, Node):  # pragma: no cover - the grammar always builds nodes
        raise ExpressionSyntaxError("expression did not parse to a value", expression=_short(text))
    return tree


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionSyntaxError:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedToken):
        found = "end of expression" if exc.token.type == "$END" else repr(str(exc.token))
        expected = sorted(exc.accepts or exc.expected)
        what = f"unexpected {found}"
        hint = _expected_hint(expected)
    elif isinstance(exc, UnexpectedCharacters):
        # lark declares pos_in_stream optional on the base class; UnexpectedCharacters sets it
        what = f"unexpected character {text[cast(int, exc.pos_in_stream)]!r}"
        hint = ""
    elif isinstance(exc, UnexpectedEOF):
        what = "unexpected end of expression"
        hint = ""
    else:  # pragma: no cover
        what, hint = "syntax error", ""
    context = exc.get_context(text, span=30).rstrip("\n") if line else ""
    message = f"{what}{hint}" + (f"\n{context}" if context else "")
    return ExpressionSyntaxError(message, expression=_short(text), line=line, column=column)


_TOKEN_NAMES = {
    "NUMBER": "a number",
    "STRING": "a string",
    "NAME": "a field or function name",
    "RPAR": "')'",
    "LPAR": "'('",
    "RSQB": "']'",
    "LSQB": "'['",
    "COMMA": "','",
    "THEN": "'then'",
    "ELSE": "'else'",
}


def _expected_hint(expected: list[str]) -> str:
    names = [_TOKEN_NAMES[e] for e in expected if e in _TOKEN_NAMES]
    if not names:
        return ""
    return "; expected " + ", ".join(dict.fromkeys(names))
