"""Compile ZEN syntax trees into Python closures with zen's dynamic semantics.

zen is dynamically typed: ``null + 1`` and ``"a" < "b"`` are run-time errors, ``1 / 0`` is null,
``==`` across types is false, ``and``/``or`` need a boolean on the left and return the right
operand as is. The tree is turned into nested closures built only from the library's own
functions (nothing is ``eval``-ed); each closure takes the evaluation scope.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from ruleplus.errors import ExpressionSyntaxError, UnsafeExpressionError
from ruleplus.expr.zen._dates import METHODS, ZenDate
from ruleplus.expr.zen._functions import FUNCTIONS, string_of
from ruleplus.expr.zen._parser import ZNode
from ruleplus.expr.zen._values import CTX, ZenRuntimeError, fit, type_name

__all__ = ["Interval", "Scope", "compile_node"]

Run = Callable[["Scope"], Any]


class Scope:
    """What an expression reads: the input (``env``), ``$``, locals (``$nodes``, aliases) and
    the closure items (``#``)."""

    __slots__ = ("dollar", "env", "items", "local")

    def __init__(self, env: Any, dollar: Any = None, local: dict[str, Any] | None = None) -> None:
        self.env = env
        self.dollar = dollar
        self.local = local or {}
        self.items: list[Any] = []


class Interval:
    """A range value ``[a..b)``; ``in`` tests membership, closures iterate it.

    As in zen, a reversed left bracket (``]a..b[``, ``)a..b(``) means the outside of the range.
    """

    __slots__ = ("high", "left", "low", "right")
    zen_type = "interval"

    def __init__(self, low: Any, high: Any, left: str, right: str) -> None:
        self.low, self.high = low, high
        self.left, self.right = left, right

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in the interval (zen's rule, brackets and all)."""
        low, high, left, right = self.low, self.high, self.left, self.right
        outside = left in ")]"
        first = {"(": low < value, "[": low <= value, ")": low > value, "]": low >= value}.get(left)
        second = {")": high > value, "]": high >= value, "(": high < value, "[": high <= value}.get(
            right
        )
        if first is None or second is None:
            raise ZenRuntimeError("unsupported interval bracket")
        return bool(first or second) if outside else bool(first and second)

    def to_list(self) -> list[Any]:
        """The integers in the interval (for closures over a range)."""
        if not (isinstance(self.low, Decimal) and isinstance(self.high, Decimal)):
            raise ZenRuntimeError("only a number interval can be iterated")
        if self.left not in "([" or self.right not in ")]":
            raise ZenRuntimeError("an outside interval cannot be iterated")
        start = int(self.low) + (1 if self.left == "(" else 0)
        stop = int(self.high) + (0 if self.right == ")" else 1)
        if stop - start > 100_000:
            raise ZenRuntimeError("interval is too large to iterate")
        return [Decimal(i) for i in range(start, stop)]

    def to_json(self) -> str:
        """The interval as text."""
        return f"{self.left}{self.low}..{self.high}{self.right}"


def _err(op: str, *values: Any) -> ZenRuntimeError:
    kinds = ", ".join(type_name(v) for v in values)
    return ZenRuntimeError(f"{op}: unsupported type ({kinds})")


def _is_num(v: Any) -> bool:
    return isinstance(v, Decimal)


# operators ---------------------------------------------------------------------------------------
def _add(a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        try:
            return fit(CTX.add(a, b))
        except Overflow:
            raise ZenRuntimeError("+: number overflow") from None
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    raise _err("+", a, b)


def _arith(op: str, fn: Callable[[Decimal, Decimal], Decimal]) -> Callable[[Any, Any], Any]:
    def run(a: Any, b: Any) -> Any:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            try:
                return fn(a, b)
            except Overflow:
                raise ZenRuntimeError(f"{op}: number overflow") from None
        raise _err(op, a, b)

    return run


def _unsigned_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value  # zen's product of 0 has no sign


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        if b.is_zero():
            return None
        try:
            return fit(CTX.divide(a, b))
        except (Overflow, DivisionByZero, InvalidOperation):
            return None
    raise _err("/", a, b)


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        if b.is_zero():
            return None
        return CTX.remainder(a, b)
    raise _err("%", a, b)


def _power(a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        if a.is_zero():  # zen: 0^0 is 1, 0^anything else 0 (also for negative powers)
            return Decimal(1) if b.is_zero() else Decimal(0)
        try:
            if b == b.to_integral_value() and abs(b) <= 1000:
                return fit(CTX.power(a, int(b)))
            if a < 0:  # zen keeps the sign for a fractional power of a negative number
                return fit(CTX.power(-a, b)).copy_negate()
            return fit(CTX.power(a, b))
        except (Overflow, InvalidOperation, DivisionByZero):
            raise ZenRuntimeError("^: number overflow") from None
    raise _err("^", a, b)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, ZenDate) and isinstance(b, ZenDate):
        return a == b
    return False


def _compare(op: str) -> Callable[[Any, Any], bool]:
    tests: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
    }
    test = tests[op]

    def run(a: Any, b: Any) -> bool:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            return test(a, b)
        if isinstance(a, ZenDate) and isinstance(b, ZenDate) and a.moment and b.moment:
            return test(a.moment, b.moment)
        raise _err(op, a, b)

    return run


def _in(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        if isinstance(a, bool):
            return any(isinstance(x, bool) and x == a for x in b)
        if isinstance(a, Decimal):
            return any(isinstance(x, Decimal) and not isinstance(x, bool) and x == a for x in b)
        if isinstance(a, str):
            return any(isinstance(x, str) and x == a for x in b)
        if a is None:
            return any(x is None for x in b)
        if isinstance(a, ZenDate):
            return any(isinstance(x, ZenDate) and x == a for x in b)
        raise _err("in", a, b)
    if isinstance(b, Interval) and isinstance(a, Decimal) and isinstance(b.low, Decimal):
        return b.contains(a)
    if isinstance(b, Interval) and isinstance(a, ZenDate) and isinstance(b.low, ZenDate):
        if a.moment is None or b.low.moment is None or b.high.moment is None:
            raise ZenRuntimeError("in: invalid date")
        return Interval(b.low.moment, b.high.moment, b.left, b.right).contains(a.moment)
    if isinstance(b, dict) and isinstance(a, str):
        return a in b
    raise _err("in", a, b)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _arith("-", lambda x, y: fit(CTX.subtract(x, y))),
    "*": _arith("*", lambda x, y: _unsigned_zero(fit(CTX.multiply(x, y)))),
    "/": _divide,
    "%": _modulo,
    "^": _power,
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _compare("<"),
    "<=": _compare("<="),
    ">": _compare(">"),
    ">=": _compare(">="),
    "in": _in,
    "not in": lambda a, b: not _in(a, b),
}


_MAX_INDEX = 2**64 - 1
"""zen converts an index to a 64-bit unsigned integer (truncating): above this it is an error."""


def _index(key: Decimal, what: str) -> int:
    if key.is_signed():  # zen: a negative index (even -0) is an error
        raise ZenRuntimeError(f"negative {what} index")
    idx = int(key)
    if idx > _MAX_INDEX:
        raise ZenRuntimeError(f"{what} index {idx} is over 2^64 - 1")
    return idx


def _fetch(obj: Any, key: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(key) if isinstance(key, str) else None
    if isinstance(obj, list) and isinstance(key, Decimal):
        idx = _index(key, "array")
        return obj[idx] if idx < len(obj) else None
    if isinstance(obj, str) and isinstance(key, Decimal):
        idx = _index(key, "string")
        return obj[idx] if idx < len(obj) else None
    return None


def _boolean(op: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ZenRuntimeError(f"{op}: expected a boolean, got {type_name(value)}")


# compiler ----------------------------------------------------------------------------------------
class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.aliases: list[str | None] = []

    def fail(self, node: ZNode, message: str) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, expression=self.source[:200], column=node.pos + 1)

    def compile(self, node: ZNode) -> Run:
        method: Callable[[ZNode], Run] = getattr(self, "_" + node.kind)
        return method(node)

    def _num(self, node: ZNode) -> Run:
        value = node.value
        return lambda s: value

    _str = _num
    _bool = _num

    def _null(self, node: ZNode) -> Run:
        return lambda s: None

    def _dollar(self, node: ZNode) -> Run:
        return lambda s: s.dollar

    def _root(self, node: ZNode) -> Run:
        return lambda s: s.env

    def _pointer(self, node: ZNode) -> Run:
        return lambda s: s.items[-1]

    def _ident(self, node: ZNode, lenient: bool = False) -> Run:
        name: str = node.value
        if name in self.aliases:
            depth = len(self.aliases) - 1 - self.aliases[::-1].index(name)
            return lambda s: s.items[depth]

        def run(s: Scope) -> Any:
            if name in s.local:
                return s.local[name]
            env = s.env
            if isinstance(env, dict):
                return env.get(name)
            if env is None or lenient:  # zen: ``a.b`` on a non-object input is null, ``a`` fails
                return None
            raise ZenRuntimeError(f"cannot read {name!r} from a {type_name(env)}")

        return run

    def _tpl(self, node: ZNode) -> Run:
        parts = [self.compile(p) for p in node.args]
        return lambda s: "".join(string_of(p(s)) for p in parts)

    def _member(self, node: ZNode) -> Run:
        base = node.args[0]
        obj = self._ident(base, lenient=True) if base.kind == "ident" else self.compile(base)
        key = self.compile(node.args[1])
        prop = node.args[1]
        if prop.kind == "str":
            name = prop.value

            def run_named(s: Scope) -> Any:
                value = obj(s)
                return value.get(name) if isinstance(value, dict) else None

            return run_named
        return lambda s: _fetch(obj(s), key(s))

    def _slice(self, node: ZNode) -> Run:
        obj = self.compile(node.args[0])
        low_node, high_node = node.extra
        low = self.compile(low_node) if low_node is not None else None
        high = self.compile(high_node) if high_node is not None else None

        def run(s: Scope) -> Any:
            value = obj(s)
            if not isinstance(value, list | str):
                raise _err("slice", value)
            start = int(low(s)) if low is not None else 0
            stop = int(high(s)) if high is not None else len(value) - 1
            if start < 0 or stop >= len(value) or start > stop + 1:
                raise ZenRuntimeError("slice out of bounds")
            return value[start : stop + 1]

        return run

    def _array(self, node: ZNode) -> Run:
        items = [self.compile(a) for a in node.args]
        return lambda s: [i(s) for i in items]

    def _object(self, node: ZNode) -> Run:
        pairs = [(self.compile(p.args[0]), self.compile(p.args[1])) for p in node.args]

        def run(s: Scope) -> Any:
            out: dict[str, Any] = {}
            for key, value in pairs:
                k = key(s)
                if not isinstance(k, str):
                    k = string_of(k)
                out[k] = value(s)
            return out

        return run

    def _interval(self, node: ZNode) -> Run:
        low, high = (self.compile(a) for a in node.args)
        left, right = node.extra

        def run(s: Scope) -> Any:
            a, b = low(s), high(s)
            numbers = isinstance(a, Decimal) and isinstance(b, Decimal)
            if not (numbers or (isinstance(a, ZenDate) and isinstance(b, ZenDate))):
                raise _err("interval", a, b)
            return Interval(a, b, left, right)

        return run

    def _unary(self, node: ZNode) -> Run:
        operand = self.compile(node.args[0])
        if node.value == "not":
            return lambda s: not _boolean("not", operand(s))
        if node.value == "+":
            return operand

        def negate(s: Scope) -> Any:
            value = operand(s)
            if isinstance(value, Decimal):
                return value.copy_negate()  # -0 stays -0, as in zen
            raise _err("negate", value)

        return negate

    def _binary(self, node: ZNode) -> Run:
        op: str = node.value
        left, right = (self.compile(a) for a in node.args)
        if op == "and":

            def run_and(s: Scope) -> Any:
                return right(s) if _boolean("and", left(s)) else False

            return run_and
        if op == "or":

            def run_or(s: Scope) -> Any:
                return True if _boolean("or", left(s)) else right(s)

            return run_or
        if op == "??":

            def run_nullish(s: Scope) -> Any:
                value = left(s)
                return right(s) if value is None else value

            return run_nullish
        fn = _BINARY[op]
        return lambda s: fn(left(s), right(s))

    def _cond(self, node: ZNode) -> Run:
        cond, on_true, on_false = (self.compile(a) for a in node.args)
        return lambda s: on_true(s) if _boolean("?:", cond(s)) else on_false(s)

    def _call(self, node: ZNode) -> Run:
        name: str = node.value
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise UnsafeExpressionError(
                f"unknown function {name!r} (allowed: {', '.join(sorted(FUNCTIONS))})",
                expression=self.source[:200],
            )
        fn, fewest, most = spec
        if not fewest <= len(node.args) <= most:
            raise self.fail(node, f"{name}() takes {fewest} to {most} arguments")
        args = [self.compile(a) for a in node.args]
        if len(args) == 1:
            (only,) = args
            return lambda s: fn(only(s))
        return lambda s: fn(*(a(s) for a in args))

    def _method(self, node: ZNode) -> Run:
        name: str = node.value
        method = METHODS.get(name)
        if method is None:
            raise UnsafeExpressionError(
                f"unknown method .{name}() (date methods: {', '.join(sorted(METHODS))})",
                expression=self.source[:200],
            )
        target, *args = (self.compile(a) for a in node.args)

        def run(s: Scope) -> Any:
            value = target(s)
            if not isinstance(value, ZenDate):
                raise ZenRuntimeError(f".{name}(): expected a date, got {type_name(value)}")
            try:
                return method(value, *(a(s) for a in args))
            except TypeError:
                raise ZenRuntimeError(f".{name}(): wrong number of arguments") from None

        return run

    def _closure(self, node: ZNode) -> Run:
        name: str = node.value
        array = self.compile(node.args[0])
        self.aliases.append(node.extra)
        try:
            body = self.compile(node.args[1])
        finally:
            self.aliases.pop()

        def items_of(s: Scope) -> list[Any]:
            value = array(s)
            if isinstance(value, list):
                return value
            if isinstance(value, Interval):
                return value.to_list()
            raise ZenRuntimeError(f"{name}(): expected an array, got {type_name(value)}")

        def each(s: Scope) -> Any:
            for item in items_of(s):
                s.items.append(item)
                try:
                    yield item, body(s)
                finally:
                    s.items.pop()

        def run(s: Scope) -> Any:
            if name == "map":
                return [v for _, v in each(s)]
            if name == "filter":
                return [i for i, v in each(s) if _boolean("filter", v)]
            if name == "flatMap":
                out: list[Any] = []
                for _, v in each(s):
                    out.extend(v if isinstance(v, list) else [v])
                return out
            if name == "all":
                return all(_boolean("all", v) for _, v in each(s))
            if name == "some":
                return any(_boolean("some", v) for _, v in each(s))
            if name == "none":
                return not any(_boolean("none", v) for _, v in each(s))
            hits = sum(1 for _, v in each(s) if to_bool_strict(v))
            return Decimal(hits) if name == "count" else hits == 1

        return run


def to_bool_strict(value: Any) -> bool:
    """A closure predicate's value: booleans only."""
    return _boolean("count", value)


def compile_node(node: ZNode, source: str) -> Run:
    """Compile a parsed tree into ``run(scope) -> value``."""
    return _Compiler(source).compile(node)
