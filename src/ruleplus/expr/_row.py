"""Row back end: compile a typed tree into Python code objects.

Why generate code rather than nest closures: a decision must take a few microseconds, and a
closure per node costs a Python call per node. The tree is turned into a Python ``ast`` built
only from constants, generated local names (``v0``, ``_t1``) and the library's own helpers; no
user text ever reaches ``compile`` (nothing is ``eval``-ed or ``exec``-ed), and the checker has
already rejected everything outside the allow-list. Null tests are emitted only where the
checker says a value may be null.
"""

from __future__ import annotations

import ast
import itertools
import math
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

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
from ruleplus.expr._types import Kind

__all__ = [
    "RowEmitter",
    "build_function",
    "finite",
    "float_floordiv",
    "float_mod",
    "function_def",
    "kleene_and",
    "kleene_or",
    "safe_pow",
]

_BINOPS: dict[str, ast.operator] = {
    "+": ast.Add(),
    "-": ast.Sub(),
    "*": ast.Mult(),
    "/": ast.Div(),
    "//": ast.FloorDiv(),
    "%": ast.Mod(),
}
_CMPOPS: dict[str, ast.cmpop] = {
    "==": ast.Eq(),
    "!=": ast.NotEq(),
    "<": ast.Lt(),
    "<=": ast.LtE(),
    ">": ast.Gt(),
    ">=": ast.GtE(),
}


def safe_pow(base: float, exponent: float) -> float | None:
    """``base ** exponent`` in floating point; null on overflow or a complex result."""
    try:
        result: float | complex = float(base) ** float(exponent)
    except (OverflowError, ZeroDivisionError):
        return None
    if isinstance(result, complex) or not math.isfinite(result):
        return None
    return result


def finite(value: float) -> float | None:
    """``value``, or null for an infinity or NaN: float overflow gives null.

    ``value - value`` is 0 for every int and finite float (``math.isfinite`` would raise on
    an int too large for a float).
    """
    return value if value - value == 0 else None


def float_floordiv(x: float, y: float) -> float | None:
    """``x // y`` on numbers as the vector back end (polars) computes it: ``floor(x / y)``.

    Python's ``//`` is exact (``1.0 // 0.1 == 9.0``) where ``floor(1.0 / 0.1) == 10.0``; the
    two back ends must agree, so both use the quotient. Null on overflow.
    """
    quotient = x / y
    return float(math.floor(quotient)) if quotient - quotient == 0 else None


def float_mod(x: float, y: float) -> float | None:
    """``x % y`` on numbers as polars computes it: ``x - y * floor(x / y)``; null on overflow."""
    quotient = x / y
    if quotient - quotient != 0:
        return None
    return finite(x - y * math.floor(quotient))


def kleene_and(*values: bool | None) -> bool | None:
    """Three-valued ``and``: false wins, then null, then true."""
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def kleene_or(*values: bool | None) -> bool | None:
    """Three-valued ``or``: true wins, then null, then false."""
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _name(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _is_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(left=expr, ops=[ast.Is()], comparators=[ast.Constant(None)])


class RowEmitter:
    """Turn typed trees into Python expressions over local variables.

    Parameters
    ----------
    field_ref : callable
        Maps a field name to the Python expression that reads it (usually a local name).
    namespace : dict
        Globals of the generated function; helpers and constants are added here.
    """

    def __init__(self, field_ref: Callable[[str], ast.expr], namespace: dict[str, Any]) -> None:
        self.field_ref = field_ref
        self.namespace = namespace
        self._temps = itertools.count()
        self._consts = itertools.count()
        namespace.setdefault("_pow", safe_pow)
        namespace.setdefault("_fin", finite)
        namespace.setdefault("_fdiv", float_floordiv)
        namespace.setdefault("_fmod", float_mod)
        namespace.setdefault("_and3", kleene_and)
        namespace.setdefault("_or3", kleene_or)

    # helpers ---------------------------------------------------------------------------------
    def temp(self) -> str:
        """A fresh local name."""
        return f"_t{next(self._temps)}"

    def constant(self, value: Any) -> ast.expr:
        """Reference ``value`` through the namespace (for sets, dates, compiled helpers)."""
        key = f"_k{next(self._consts)}"
        self.namespace[key] = value
        return _name(key)

    def _guard(
        self,
        parts: list[tuple[Node, ast.expr]],
        build: Callable[[list[ast.expr]], ast.expr],
        extra_null: Callable[[list[ast.expr]], list[ast.expr]] | None = None,
    ) -> ast.expr:
        """``None if any nullable part is None else build(parts)``, each part evaluated once."""
        values: list[ast.expr] = []
        tests: list[ast.expr] = []
        for node, expr in parts:
            assert node.ty is not None
            if node.ty.nullable and isinstance(expr, ast.Name):
                tests.append(_is_none(expr))  # a local is read twice for free: no temporary
                values.append(expr)
            elif node.ty.nullable or (
                extra_null is not None and not isinstance(expr, ast.Name | ast.Constant)
            ):
                name = self.temp()
                tests.append(
                    _is_none(ast.NamedExpr(target=ast.Name(id=name, ctx=ast.Store()), value=expr))
                    if node.ty.nullable
                    else ast.Compare(
                        left=ast.NamedExpr(target=ast.Name(id=name, ctx=ast.Store()), value=expr),
                        ops=[ast.IsNot()],
                        comparators=[ast.Constant(Ellipsis)],
                    )
                )
                values.append(_name(name))
            else:
                values.append(expr)
        if extra_null is not None:
            tests.extend(extra_null(values))
        if not tests:
            return build(values)
        test = tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.Or(), values=tests)
        return ast.IfExp(test=test, body=ast.Constant(None), orelse=build(values))

    # entry points ----------------------------------------------------------------------------
    def emit(self, node: Node) -> ast.expr:
        """Python expression computing ``node`` exactly (null as ``None``)."""
        method: Callable[[Node], ast.expr] = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def emit_condition(self, node: Node) -> ast.expr:
        """Python expression whose *truthiness* is ``node is true`` (null counts as false)."""
        if isinstance(node, Logical):
            op = ast.And() if node.op == "and" else ast.Or()
            return ast.BoolOp(op=op, values=[self.emit_condition(o) for o in node.operands])
        if isinstance(node, Not) and node.ty is not None and node.ty.nullable:
            return ast.Compare(
                left=self.emit(node.operand), ops=[ast.Is()], comparators=[ast.Constant(False)]
            )
        if isinstance(node, Compare) and node.ty is not None and node.ty.nullable:
            return self._compare(node, as_condition=True)
        return self.emit(node)

    # nodes -----------------------------------------------------------------------------------
    def _literal(self, node: Literal) -> ast.expr:
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return ast.Constant(node.value)
        return self.constant(node.value)

    def _field(self, node: Field) -> ast.expr:
        return self.field_ref(node.name)

    def _unary(self, node: Unary) -> ast.expr:
        op: ast.unaryop = ast.USub() if node.op == "-" else ast.UAdd()
        return self._guard(
            [(node.operand, self.emit(node.operand))], lambda v: ast.UnaryOp(op=op, operand=v[0])
        )

    def _binary(self, node: Binary) -> ast.expr:
        parts = [(node.left, self.emit(node.left)), (node.right, self.emit(node.right))]
        if node.op == "**":
            return self._guard(parts, lambda v: ast.Call(func=_name("_pow"), args=v, keywords=[]))
        op = _BINOPS[node.op]
        if node.op in ("/", "//", "%"):
            # division by zero is null: bind the divisor once and test it
            return self._divide(node, parts, op)
        if node.ty is not None and node.ty.kind is Kind.NUMBER:  # float overflow is null
            return self._guard(
                parts, lambda v: self._finite(ast.BinOp(left=v[0], op=op, right=v[1]))
            )
        return self._guard(parts, lambda v: ast.BinOp(left=v[0], op=op, right=v[1]))

    def _divide(
        self, node: Binary, parts: list[tuple[Node, ast.expr]], op: ast.operator
    ) -> ast.expr:
        (left, lexpr), (right, rexpr) = parts
        tests: list[ast.expr] = []
        lval = lexpr
        assert left.ty is not None and right.ty is not None
        if left.ty.nullable:
            name = self.temp()
            tests.append(
                _is_none(ast.NamedExpr(target=ast.Name(id=name, ctx=ast.Store()), value=lexpr))
            )
            lval = _name(name)
        rname = self.temp()
        bind = ast.NamedExpr(target=ast.Name(id=rname, ctx=ast.Store()), value=rexpr)
        if right.ty.nullable:
            tests.append(_is_none(bind))
            tests.append(
                ast.Compare(left=_name(rname), ops=[ast.Eq()], comparators=[ast.Constant(0)])
            )
        else:
            tests.append(ast.Compare(left=bind, ops=[ast.Eq()], comparators=[ast.Constant(0)]))
        test = tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.Or(), values=tests)
        result: ast.expr = ast.BinOp(left=lval, op=op, right=_name(rname))
        if node.ty is not None and node.ty.kind is Kind.NUMBER:
            if node.op == "/":
                result = self._finite(result)
            else:
                helper = {"//": "_fdiv", "%": "_fmod"}[node.op]
                result = ast.Call(func=_name(helper), args=[lval, _name(rname)], keywords=[])
        return ast.IfExp(test=test, body=ast.Constant(None), orelse=result)

    def _finite(self, value: ast.expr) -> ast.expr:
        """``None if value is inf/nan else value``, inline: ``x - x`` is 0.0 only when finite."""
        name = self.temp()
        bind = ast.NamedExpr(target=ast.Name(id=name, ctx=ast.Store()), value=value)
        return ast.IfExp(
            test=ast.BinOp(left=bind, op=ast.Sub(), right=_name(name)),
            body=ast.Constant(None),
            orelse=_name(name),
        )

    def _compare(self, node: Compare, as_condition: bool = False) -> ast.expr:
        op = _CMPOPS[node.op]
        parts = [(node.left, self.emit(node.left)), (node.right, self.emit(node.right))]
        if not as_condition:
            return self._guard(
                parts, lambda v: ast.Compare(left=v[0], ops=[op], comparators=[v[1]])
            )
        # condition: "(a := x) is not None and a > y" (false instead of null is fine here)
        tests: list[ast.expr] = []
        values: list[ast.expr] = []
        for sub, expr in parts:
            assert sub.ty is not None
            if sub.ty.nullable and isinstance(expr, ast.Name):
                tests.append(
                    ast.Compare(left=expr, ops=[ast.IsNot()], comparators=[ast.Constant(None)])
                )
                values.append(expr)
            elif sub.ty.nullable:
                name = self.temp()
                tests.append(
                    ast.Compare(
                        left=ast.NamedExpr(target=ast.Name(id=name, ctx=ast.Store()), value=expr),
                        ops=[ast.IsNot()],
                        comparators=[ast.Constant(None)],
                    )
                )
                values.append(_name(name))
            else:
                values.append(expr)
        compare = ast.Compare(left=values[0], ops=[op], comparators=[values[1]])
        return ast.BoolOp(op=ast.And(), values=[*tests, compare]) if tests else compare

    def _logical(self, node: Logical) -> ast.expr:
        operands = [self.emit(o) for o in node.operands]
        if not any(o.ty is not None and o.ty.nullable for o in node.operands):
            op = ast.And() if node.op == "and" else ast.Or()
            return ast.BoolOp(op=op, values=operands)
        helper = "_and3" if node.op == "and" else "_or3"
        return ast.Call(func=_name(helper), args=operands, keywords=[])

    def _not(self, node: Not) -> ast.expr:
        return self._guard(
            [(node.operand, self.emit(node.operand))],
            lambda v: ast.UnaryOp(op=ast.Not(), operand=v[0]),
        )

    def _isnull(self, node: IsNull) -> ast.expr:
        op: ast.cmpop = ast.IsNot() if node.negated else ast.Is()
        operand = self.emit(node.operand)
        if not isinstance(operand, ast.Name):  # "0 is None" (after folding) is a SyntaxWarning
            operand = ast.NamedExpr(target=ast.Name(id=self.temp(), ctx=ast.Store()), value=operand)
        return ast.Compare(left=operand, ops=[op], comparators=[ast.Constant(None)])

    def _listexpr(self, node: ListExpr) -> ast.expr:
        return ast.Tuple(elts=[self.emit(i) for i in node.items], ctx=ast.Load())

    def _in(self, node: In) -> ast.expr:
        container = node.container
        if isinstance(container, ListExpr) and all(isinstance(i, Literal) for i in container.items):
            items = frozenset(i.value for i in container.items if isinstance(i, Literal))
            cexpr: ast.expr = self.constant(items)
            parts = [(node.value, self.emit(node.value))]
        else:
            cexpr = self.emit(container)
            parts = [(node.value, self.emit(node.value)), (container, cexpr)]
        op: ast.cmpop = ast.NotIn() if node.negated else ast.In()

        def build(v: list[ast.expr]) -> ast.expr:
            return ast.Compare(left=v[0], ops=[op], comparators=[v[1] if len(v) > 1 else cexpr])

        return self._guard(parts, build)

    def _ifelse(self, node: IfElse) -> ast.expr:
        return ast.IfExp(
            test=self.emit_condition(node.cond),
            body=self.emit(node.then),
            orelse=self.emit(node.other),
        )

    def _call(self, node: Call) -> ast.expr:
        spec = FUNCTIONS[node.name]
        args = [self.emit(a) for a in node.args]
        nullable = any(a.ty is not None and a.ty.nullable for a in node.args)
        if node.name in ("min", "max") and len(args) > 1 and not nullable:
            return ast.Call(func=_name(node.name), args=args, keywords=[])  # builtins are fastest
        fn = self.constant(spec.row)
        if node.name in ("min", "max") and len(args) == 1:
            return self._guard(
                [(node.args[0], args[0])],
                lambda v: ast.Call(
                    func=fn, args=[ast.Starred(value=v[0], ctx=ast.Load())], keywords=[]
                ),
            )
        if not spec.strict:
            return ast.Call(func=fn, args=args, keywords=[])
        return self._guard(
            list(zip(node.args, args, strict=True)),
            lambda v: ast.Call(func=fn, args=v, keywords=[]),
        )


def function_def(name: str, params: list[str], body: list[ast.stmt]) -> ast.FunctionDef:
    """``def name(params): body``: positional parameters only, no decorators or annotations.

    ``FunctionDef.type_params`` exists from Python 3.12 on (and must then be given); older
    versions have no such field.
    """
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=p) for p in params],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    if sys.version_info >= (3, 12):
        return ast.FunctionDef(
            name=name,
            args=args,
            body=body,
            decorator_list=[],
            returns=None,
            type_params=[],
        )
    return ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None)


def build_function(
    name: str, params: list[str], body: list[ast.stmt], namespace: dict[str, Any]
) -> Callable[..., Any]:
    """Compile generated statements into a Python function (no ``exec``, no user text).

    Parameters
    ----------
    name : str
        Function name (shown in tracebacks and profiles).
    params : list of str
        Positional parameter names.
    body : list of ast.stmt
        The function body.
    namespace : dict
        The function's globals.
    """
    func = function_def(name, params, body)
    module = ast.Module(body=[func], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, f"<ruleplus {name}>", "exec")
    fn_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    namespace.setdefault(
        "__builtins__",
        {"min": min, "max": max, "len": len, "int": int, "float": float, "str": str, "bool": bool},
    )
    return types.FunctionType(fn_code, namespace, name)


def compile_row(node: Node, fields: Mapping[str, str]) -> Callable[[Mapping[str, Any]], Any]:
    """Compile a typed tree into ``f(record) -> value`` reading ``record.get(field)``.

    Parameters
    ----------
    node : Node
        A checked tree.
    fields : mapping of str to str
        Field name -> local variable name for every field the tree reads.
    """
    namespace: dict[str, Any] = {}
    emitter = RowEmitter(lambda f: _name(fields[f]), namespace)
    body: list[ast.stmt] = [
        ast.Assign(
            targets=[ast.Name(id=local, ctx=ast.Store())],
            value=ast.Call(
                func=ast.Attribute(value=_name("record"), attr="get", ctx=ast.Load()),
                args=[ast.Constant(field)],
                keywords=[],
            ),
        )
        for field, local in fields.items()
    ]
    body.append(ast.Return(value=emitter.emit(node)))
    return build_function("expression", ["record"], body, namespace)
