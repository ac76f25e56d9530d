"""Parse ZEN expressions (standard and unary/cell form) into a small syntax tree.

A precedence-climbing parser with zen's own precedences (``or`` 10, ``and`` 15, comparisons 20,
``+ -`` 30, ``* / %`` 60, ``^`` 70 right-associative, ``??`` 80; prefix ``not``/``!`` 50 and
``+ -`` 200) and its disambiguation of intervals (``[1..5)``) from arrays by backtracking.
Nesting is limited (:data:`MAX_DEPTH`) so that hostile input cannot exhaust the stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ruleplus.errors import ExpressionSyntaxError, UnsafeExpressionError
from ruleplus.expr.zen._lexer import Token, tokenize

__all__ = [
    "CLOSURES",
    "MAX_DEPTH",
    "ZNode",
    "parse_standard",
    "parse_unary",
    "unary_behaviour",
]

MAX_DEPTH = 100
"""Deepest nesting accepted."""

CLOSURES = frozenset({"all", "none", "some", "one", "filter", "map", "flatMap", "count"})
_BINARY: dict[str, tuple[int, bool]] = {  # operator -> (precedence, right-associative)
    "or": (10, False),
    "and": (15, False),
    "==": (20, False),
    "!=": (20, False),
    "<": (20, False),
    ">": (20, False),
    "<=": (20, False),
    ">=": (20, False),
    "in": (20, False),
    "not in": (20, False),
    "+": (30, False),
    "-": (30, False),
    "*": (60, False),
    "/": (60, False),
    "%": (60, False),
    "^": (70, True),
    "??": (80, False),
}
_UNARY = {"not": 50, "!": 50, "+": 200, "-": 200}
_COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">=", "in", "not in"})
_OPENERS = frozenset({"(", "[", "]", ")"})
_CLOSERS = frozenset({")", "]", "[", "("})


@dataclass(eq=False, slots=True)
class ZNode:
    """A syntax-tree node.

    ``kind`` is one of: ``num str bool null tpl ident root dollar pointer member slice array
    object interval unary binary cond call closure method``; ``value`` holds the literal, name
    or operator; ``args`` the children; ``extra`` brackets, aliases and the like.
    """

    kind: str
    value: Any = None
    args: tuple[ZNode, ...] = ()
    extra: Any = None
    pos: int = field(default=0)


class _BacktrackError(Exception):
    pass


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0
        self.closure_depth = 0
        self.has_range = any(t.kind == "op" and t.value == ".." for t in self.tokens)

    # helpers ----------------------------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def is_op(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.value == value

    def fail(self, message: str, tok: Token | None = None) -> ExpressionSyntaxError:
        tok = tok or self.peek()
        column = (tok.pos + 1) if tok else len(self.source) + 1
        return ExpressionSyntaxError(message, expression=self.source[:200], column=column)

    def expect(self, value: str) -> None:
        if not self.is_op(value):
            tok = self.peek()
            got = f"{tok.value!r}" if tok else "end of expression"
            raise self.fail(f"expected {value!r}, got {got}")
        self.i += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise UnsafeExpressionError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                expression=self.source[:200],
            )

    # grammar ----------------------------------------------------------------------------------
    def binary(self, precedence: int, unary_root: bool = False) -> ZNode:
        self.enter()
        try:
            left = self.prefix()
            while True:
                tok = self.peek()
                if tok is None or tok.kind != "op":
                    break
                if unary_root and tok.value in (",", "and", "or"):
                    break
                spec = _BINARY.get(tok.value)
                if spec is None or spec[0] < precedence:
                    break
                self.i += 1
                prec, right_assoc = spec
                right = self.binary(prec if right_assoc else prec + 1, unary_root)
                left = ZNode("binary", tok.value, (left, right), pos=tok.pos)
            if precedence == 0 and self.is_op("?"):
                pos = self.peek().pos  # type: ignore[union-attr]
                self.i += 1
                on_true = self.binary(0, unary_root)
                self.expect(":")
                on_false = self.binary(0, unary_root)
                left = ZNode("cond", None, (left, on_true, on_false), pos=pos)
            return left
        finally:
            self.depth -= 1

    def prefix(self) -> ZNode:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end of expression")
        if tok.kind == "name" and tok.value == "#" and self.closure_depth > 0:
            self.i += 1
            return self.postfix(ZNode("pointer", pos=tok.pos))
        if tok.kind == "op" and tok.value not in _OPENERS and tok.value not in "{":
            if tok.value not in _UNARY:
                raise self.fail(f"unexpected operator {tok.value!r}")
            self.i += 1
            operand = self.binary(_UNARY[tok.value])
            op = "not" if tok.value == "!" else tok.value
            return ZNode("unary", op, (operand,), pos=tok.pos)
        interval = self.interval()
        if interval is not None:
            return interval
        if tok.kind == "op" and tok.value == "(":
            self.i += 1
            inner = self.binary(0)
            self.expect(")")
            return self.postfix(inner)
        return self.literal()

    def interval(self) -> ZNode | None:
        tok = self.peek()
        if not self.has_range or tok is None or tok.kind != "op" or tok.value not in _OPENERS:
            return None
        start = self.i
        self.i += 1
        try:
            left = self.binary(0)
            if not self.is_op(".."):
                raise _BacktrackError
            self.i += 1
            right = self.binary(0)
            close = self.peek()
            if close is None or close.kind != "op" or close.value not in _CLOSERS:
                raise _BacktrackError
            self.i += 1
        except (_BacktrackError, ExpressionSyntaxError):
            self.i = start
            return None
        node = ZNode("interval", None, (left, right), (tok.value, close.value), pos=tok.pos)
        return self.postfix(node)

    def literal(self) -> ZNode:
        tok = self.peek()
        assert tok is not None
        if tok.kind == "num":
            self.i += 1
            try:
                return ZNode("num", Decimal(tok.value), pos=tok.pos)
            except InvalidOperation:
                raise self.fail(f"bad number {tok.value!r}", tok) from None
        if tok.kind == "str":  # zen: no member access on a string or template literal
            self.i += 1
            return ZNode("str", tok.value, pos=tok.pos)
        if tok.kind == "bool":
            self.i += 1
            return ZNode("bool", tok.value == "true", pos=tok.pos)
        if tok.kind == "tpl":
            self.i += 1
            return self.template(tok)
        if tok.kind == "op" and tok.value == "[":
            return self.array()
        if tok.kind == "op" and tok.value == "{":
            return self.object()
        if tok.kind == "name":
            return self.identifier()
        raise self.fail(f"unexpected {tok.value!r}")

    def template(self, tok: Token) -> ZNode:
        body, parts, i = tok.value, [], 0
        while i < len(body):
            j = body.find("${", i)
            if j < 0:
                parts.append(ZNode("str", body[i:]))
                break
            if j > i:
                parts.append(ZNode("str", body[i:j]))
            end = body.find("}", j + 2)
            if end < 0:
                raise self.fail("unterminated ${ in a template string", tok)
            parts.append(_Parser(body[j + 2 : end]).standard())
            i = end + 1
        return ZNode("tpl", None, tuple(parts), pos=tok.pos)

    def array(self) -> ZNode:
        start = self.peek()
        assert start is not None
        self.i += 1
        items: list[ZNode] = []
        while not self.is_op("]"):
            if items:
                self.expect(",")
                if self.is_op("]"):
                    break
            items.append(self.binary(0))
        self.expect("]")
        return self.postfix(ZNode("array", None, tuple(items), pos=start.pos))

    def object(self) -> ZNode:
        start = self.peek()
        assert start is not None
        self.i += 1
        pairs: list[ZNode] = []
        while not self.is_op("}"):
            if pairs:
                self.expect(",")
                if self.is_op("}"):
                    break
            tok = self.peek()
            if tok is None:
                raise self.fail("unterminated object")
            if tok.kind in ("name", "num", "str", "bool") or (
                tok.kind == "op" and tok.value in ("and", "or", "in")
            ):
                self.i += 1
                key = ZNode("str", tok.value, pos=tok.pos)
            elif tok.kind == "op" and tok.value == "[":
                self.i += 1
                key = self.binary(0)
                self.expect("]")
            else:
                raise self.fail(f"{tok.value!r} cannot be an object key")
            self.expect(":")
            pairs.append(ZNode("pair", None, (key, self.binary(0))))
        self.expect("}")
        return ZNode("object", None, tuple(pairs), pos=start.pos)  # zen: no postfix here

    def identifier(self) -> ZNode:
        tok = self.peek()
        assert tok is not None
        self.i += 1
        name = tok.value
        if not self.is_op("("):
            if name == "null":
                return ZNode("null", pos=tok.pos)
            if name == "$":
                return self.postfix(ZNode("dollar", pos=tok.pos))
            if name == "$root":
                return self.postfix(ZNode("root", pos=tok.pos))
            if name == "#":
                raise self.fail("'#' is only allowed inside a closure", tok)
            return self.postfix(ZNode("ident", name, pos=tok.pos))
        self.i += 1
        if name in CLOSURES:
            array = self.binary(0)
            alias = None
            nxt = self.peek()
            if nxt is not None and nxt.kind == "name" and nxt.value == "as":
                self.i += 1
                alias_tok = self.peek()
                if alias_tok is None or alias_tok.kind != "name":
                    raise self.fail("expected a name after 'as'")
                alias = alias_tok.value
                self.i += 1
            self.expect(",")
            self.closure_depth += 1
            try:
                body = self.binary(0)
            finally:
                self.closure_depth -= 1
            self.expect(")")
            node = ZNode("closure", name, (array, body), alias, pos=tok.pos)
        else:
            args: list[ZNode] = []
            while not self.is_op(")"):
                args.append(self.binary(0))
                if not self.is_op(","):
                    break
                self.i += 1
            self.expect(")")
            node = ZNode("call", name, tuple(args), pos=tok.pos)
        return self.postfix(node)

    def postfix(self, node: ZNode) -> ZNode:
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "op":
                return node
            if tok.value == ".":
                self.i += 1
                prop = self.peek()
                if prop is None or not (
                    prop.kind == "name"
                    or (prop.kind == "op" and prop.value in ("and", "or", "in", "not"))
                ):
                    raise self.fail("expected a property name after '.'")
                self.i += 1
                if self.is_op("("):
                    self.i += 1
                    args: list[ZNode] = []
                    while not self.is_op(")"):
                        args.append(self.binary(0))
                        if not self.is_op(","):
                            break
                        self.i += 1
                    self.expect(")")
                    node = ZNode("method", prop.value, (node, *args), pos=prop.pos)
                else:
                    node = ZNode("member", None, (node, ZNode("str", prop.value)), pos=prop.pos)
            elif tok.value == "[":
                self.i += 1
                if self.is_op(":"):
                    self.i += 1
                    upper = None if self.is_op("]") else self.binary(0)
                    self.expect("]")
                    node = ZNode("slice", None, (node,), (None, upper), pos=tok.pos)
                    continue
                index = self.binary(0)
                if self.is_op(":"):
                    self.i += 1
                    upper = None if self.is_op("]") else self.binary(0)
                    self.expect("]")
                    node = ZNode("slice", None, (node,), (index, upper), pos=tok.pos)
                    continue
                self.expect("]")
                node = ZNode("member", None, (node, index), pos=tok.pos)
            else:
                return node

    # entry points -----------------------------------------------------------------------------
    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise self.fail(f"unexpected {tok.value!r}")

    def standard(self) -> ZNode:
        if not self.tokens:
            raise ExpressionSyntaxError("expression is empty", expression=self.source)
        node = self.binary(0)
        self.done()
        return node

    def unary(self) -> ZNode:
        node = self.unary_pair()
        while self.peek() is not None:
            tok = self.peek()
            assert tok is not None
            if tok.kind == "op" and tok.value == "and":
                op = "and"
            elif tok.kind == "op" and tok.value in ("or", ","):
                op = "or"
            else:
                raise self.fail(f"invalid join operator {tok.value!r}")
            self.i += 1
            node = ZNode("binary", op, (node, self.unary_pair()), pos=tok.pos)
        return node

    def unary_pair(self) -> ZNode:
        tok = self.peek()
        left: ZNode = ZNode("dollar")
        if not (tok is not None and tok.kind == "op" and tok.value in _COMPARISONS):
            left = self.binary(0, unary_root=True)
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.value in _COMPARISONS:
            self.i += 1
            right = self.binary(0, unary_root=True)
            return ZNode("binary", tok.value, (left, right), pos=tok.pos)
        behaviour = unary_behaviour(left)
        if behaviour == "bool":
            return ZNode("call", "bool", (left,))
        return ZNode("binary", behaviour, (ZNode("dollar"), left), pos=left.pos)


_AS_BOOL_CALLS = frozenset({"contains", "startsWith", "endsWith", "matches", "isNumeric"})
_IN_CALLS = frozenset({"flatten", "merge", "mergeDeep", "extract", "split", "keys", "values"})
_AS_BOOL_METHODS = frozenset(
    {
        "isSame",
        "isBefore",
        "isAfter",
        "isSameOrBefore",
        "isSameOrAfter",
        "isValid",
        "isYesterday",
        "isToday",
        "isTomorrow",
        "isLeapYear",
    }
)


def unary_behaviour(node: ZNode) -> str:
    """How a bare cell value tests ``$``: ``"=="``, ``"in"`` or ``"bool"`` (zen's rules)."""
    kind = node.kind
    if kind in ("pointer",):
        return "bool"
    if kind in ("array", "slice", "interval"):
        return "in"
    if kind == "cond":
        a, b = unary_behaviour(node.args[1]), unary_behaviour(node.args[2])
        return a if a == b else "=="
    if kind == "unary":
        return unary_behaviour(node.args[0])
    if kind == "binary":
        if node.value in ("+", "-", "*", "/", "%", "^"):
            a, b = unary_behaviour(node.args[0]), unary_behaviour(node.args[1])
            return a if a == b else "=="
        return "bool"
    if kind == "call":
        if node.value in _AS_BOOL_CALLS:
            return "bool"
        return "in" if node.value in _IN_CALLS else "=="
    if kind == "closure":
        return (
            "in"
            if node.value in ("filter", "map", "flatMap")
            else ("==" if node.value == "count" else "bool")
        )
    if kind == "method":
        return "bool" if node.value in _AS_BOOL_METHODS else "=="
    return "=="


def parse_standard(source: str) -> ZNode:
    """Parse a standard expression (expression nodes, output cells, switch conditions).

    Raises
    ------
    ExpressionSyntaxError, UnsafeExpressionError
        With the expression and the column.
    """
    return _Parser(source).standard()


def parse_unary(source: str) -> ZNode:
    """Parse a decision-table input cell: ``$`` is the column's value (``> 5``, ``"a", "b"``)."""
    parser = _Parser(source)
    if not parser.tokens:
        raise ExpressionSyntaxError("cell is empty", expression=source)
    return parser.unary()
