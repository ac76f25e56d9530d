"""The key property of ruleplus.expr: the row and the vector back end never disagree.

A hypothesis strategy builds random, well-typed expression texts over a schema with integer,
number, string, boolean and date fields (all nullable), using every operator and most library
functions; a second one builds small data frames with nulls. For every row, the row back end
``e(record)`` must equal what the vector back end ``df.select(e.to_polars())`` computes:
nulls equal nulls, booleans, strings and dates exactly, numbers to ``rel_tol=1e-9``.

Scope, on purpose:

- Integer expressions are kept below ``INT_LIMIT`` in magnitude (every integer-valued sub-tree
  carries a bound and operations that could exceed it are not generated). The row back end has
  Python's unbounded integers and the vector back end wraps at int64; int64 overflow is out of
  scope here. The limit (1e15 < 2**53) also keeps int -> float conversions exact.
- Float overflow is *in* scope: ``+ - * / // % **``, ``exp`` and friends must give null in
  both back ends, so number sub-trees are not bounded.
- Float inputs are finite (no NaN or infinity in the data; input validation is the strategy
  layer's job) and moderate, ``|x| <= 1e6``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleplus.errors import ExpressionTypeError
from ruleplus.expr import Kind, Ty, compile_expression, polars_dtype
from ruleplus.expr._functions import _canonical_regex

INT_LIMIT = 1e15
"""Largest magnitude an integer sub-expression may reach (see the module docstring)."""

FIELDS: dict[str, Kind] = {
    "i1": Kind.INTEGER,
    "i2": Kind.INTEGER,
    "n1": Kind.NUMBER,
    "n2": Kind.NUMBER,
    "app.n3": Kind.NUMBER,  # a dotted name: read as one flat key / column
    "s1": Kind.STRING,
    "s2": Kind.STRING,
    "b1": Kind.BOOLEAN,
    "b2": Kind.BOOLEAN,
    "d1": Kind.DATE,
    "d2": Kind.DATE,
}
SCHEMA = {name: Ty(kind) for name, kind in FIELDS.items()}
POLARS_SCHEMA = {name: polars_dtype(ty) for name, ty in SCHEMA.items()}

# kinds the generator asks for; "num" accepts integer-valued sub-trees too
INT, NUM, STR, BOOL, DATE = "int", "num", "str", "bool", "date"
FIELDS_OF = {
    INT: [n for n, k in FIELDS.items() if k is Kind.INTEGER],
    NUM: [n for n, k in FIELDS.items() if k is Kind.NUMBER],
    STR: [n for n, k in FIELDS.items() if k is Kind.STRING],
    BOOL: [n for n, k in FIELDS.items() if k is Kind.BOOLEAN],
    DATE: [n for n, k in FIELDS.items() if k is Kind.DATE],
}

# text: ASCII, quotes and backslashes (escapes), white space for trim, a little Unicode
# (case mapping of ß, final sigma, dotted İ) and strings that look almost like dates
ALPHABET = "aAbZz 09-_'\"\\\t\nßéÉΣσİ"
DATE_LIKE = [
    "2020-02-29",
    "2021-02-29",
    "1999-12-31",
    "2020-W01-1",
    " 2020-01-1",
    "+2020-1-01",
    "20200101",
    "2020-1-1",
    "0000-01-01",
]
TEXT = st.text(ALPHABET, max_size=6) | st.sampled_from(DATE_LIKE)
FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 0.7, 1.0, 10.0, 1e-9, 3.0, 1e6, -1e6]
)
# literals may be extreme: float overflow must give null in both back ends
LITERAL_FLOATS = FLOATS | st.sampled_from([1e300, -1e300, 1e-300, 1.7e308, 1.0, 0.1])
INTS = st.integers(-1_000_000, 1_000_000) | st.sampled_from([0, 1, -1, 2, 7, -7])
DATES = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)) | st.sampled_from(
    [dt.date(2000, 2, 29), dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(1999, 12, 31)]
)

Gen = tuple[str, float, bool]
"""A generated sub-expression: text, bound on its magnitude (numbers only), is it a literal."""


def _quote(text: str) -> str:
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{body}"'


def _number(value: float) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return f"({text})" if text.startswith("-") else text


# --- leaves -------------------------------------------------------------------------------


@st.composite
def leaf(draw: st.DrawFn, kind: str, nullok: bool) -> Gen:
    choice = draw(st.integers(0, 9))
    if nullok and choice == 0:
        return "null", 0.0, True
    if choice <= 4:
        pool = FIELDS_OF[kind] if kind != NUM else FIELDS_OF[NUM] + FIELDS_OF[INT]
        name = draw(st.sampled_from(pool))
        return name, 1e6 if FIELDS[name] in (Kind.INTEGER, Kind.NUMBER) else 0.0, False
    if kind == INT or (kind == NUM and choice == 5):
        value = draw(st.integers(-1000, 1000) | st.sampled_from([0, 1, -1, 2, 3, 10, 12]))
        return _number(value), float(abs(value)), True
    if kind == NUM:
        x = draw(LITERAL_FLOATS)
        return _number(x), abs(x), True
    if kind == STR:
        return _quote(draw(TEXT)), 0.0, True
    if kind == BOOL:
        return draw(st.sampled_from(["true", "false"])), 0.0, True
    day = draw(DATES)
    return f"date('{day.isoformat()}')", 0.0, True


# --- compound expressions -----------------------------------------------------------------

Builder = Callable[[st.DrawFn, int, bool], Gen]


@st.composite
def expr(draw: st.DrawFn, kind: str, depth: int, nullok: bool = True) -> Gen:
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        return draw(leaf(kind, nullok))
    build = draw(st.sampled_from(BUILDERS[kind]))
    return build(draw, depth - 1, nullok)


def _sub(draw: st.DrawFn, kind: str, depth: int, nullok: bool = True) -> Gen:
    return draw(expr(kind, depth, nullok))


def _int_arith(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    (a, ab, _), (b, bb, _) = _sub(draw, INT, depth), _sub(draw, INT, depth)
    op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
    bound = {"+": ab + bb, "-": ab + bb, "*": ab * bb, "//": ab, "%": bb}[op]
    if bound > INT_LIMIT:
        return f"max({a}, {b})", max(ab, bb), False
    return f"({a} {op} {b})", bound, False


def _int_unary(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    a, ab, _ = _sub(draw, INT, depth)
    return draw(st.sampled_from([f"(-{a})", f"abs({a})", f"(+{a})"])), ab, False


def _int_from_num(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    x, xb, _ = _sub(draw, NUM, depth)
    if xb > INT_LIMIT:  # floor of a huge number is tested in test_expr_semantics
        x, xb = "n1", 1e6
    return f"{draw(st.sampled_from(['floor', 'ceil']))}({x})", xb + 1, False


def _int_from_str(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    s, _, _ = _sub(draw, STR, depth)
    return f"len({s})", 1e4, False


def _int_from_date(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    a, _, _ = _sub(draw, DATE, depth)
    if draw(st.booleans()):
        return f"{draw(st.sampled_from(['year', 'month', 'day', 'weekday']))}({a})", 1e4, False
    b, _, _ = _sub(draw, DATE, depth)
    fn = draw(st.sampled_from(["days_between", "months_between", "age"]))
    return f"{fn}({a}, {b})", 1e6, False


def _variadic(kind: str, names: list[str]) -> Builder:
    def build(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
        fn = draw(st.sampled_from(names))
        count = draw(st.integers(2, 3))
        # min/max of nothing but nulls has no useful type: keep the first argument non-null
        args = [
            _sub(draw, kind, depth, nullok=(i > 0 or (fn == "coalesce" and nullok)))
            for i in range(count)
        ]
        return f"{fn}({', '.join(a for a, _, _ in args)})", max(b for _, b, _ in args), False

    return build


def _clamp(kind: str) -> Builder:
    def build(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
        args = [_sub(draw, kind, depth) for _ in range(3)]
        return f"clamp({', '.join(a for a, _, _ in args)})", max(b for _, b, _ in args), False

    return build


def _ifelse(kind: str) -> Builder:
    def build(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
        cond, _, _ = _sub(draw, BOOL, depth)
        then, tb, _ = _sub(draw, kind, depth, nullok)
        other, ob, _ = _sub(draw, kind, depth, nullok)
        return f"(if {cond} then {then} else {other})", max(tb, ob), False

    return build


def _num_arith(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    (a, ab, _), (b, bb, _) = _sub(draw, NUM, depth), _sub(draw, NUM, depth)
    op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%"]))
    bound = {"+": ab + bb, "-": ab + bb, "*": ab * bb, "%": bb}.get(op, math.inf)
    return f"({a} {op} {b})", bound, False


def _num_power(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    base, _, _ = _sub(draw, NUM, depth)
    exponent, eb, literal = _sub(draw, NUM, depth)
    if literal and eb > 1024:  # constant exponents above 1024 are refused at compile time
        exponent = draw(st.sampled_from(["2", "3", "0.5", "(-1)", "(-0.5)", "0", "1024"]))
    return f"({base} {draw(st.sampled_from(['**', '^']))} {exponent})", math.inf, False


def _num_unary(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    x, xb, _ = _sub(draw, NUM, depth)
    fn = draw(st.sampled_from(["-", "abs", "round", "round2", "sqrt", "log", "log10", "exp"]))
    if fn == "-":
        return f"(-{x})", xb, False
    if fn == "round2":
        return f"round({x}, {draw(st.integers(0, 12))})", xb + 1, False
    bound = {"abs": xb, "round": xb + 1, "sqrt": math.sqrt(xb), "log": 745.0, "log10": 324.0}
    return f"{fn}({x})", bound.get(fn, math.inf), False


def _str_ops(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    a, _, _ = _sub(draw, STR, depth, nullok=False)
    if draw(st.booleans()):
        b, _, _ = _sub(draw, STR, depth)
        return f"({a} + {b})", 0.0, False
    return f"{draw(st.sampled_from(['lower', 'upper', 'trim']))}({a})", 0.0, False


def _date_ops(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    s, _, literal = _sub(draw, STR, depth)
    if literal and s != "null":  # a constant that is not a date is refused at compile time
        s = _quote(draw(st.dates()).isoformat())
    return f"date({s})", 0.0, False


_COMPARABLE = [INT, NUM, STR, DATE]


def _compare(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    kind = draw(st.sampled_from([*_COMPARABLE, BOOL]))
    a, _, _ = _sub(draw, kind, depth, nullok=False)
    b, _, _ = _sub(draw, kind, depth, nullok=False)
    ops = ["==", "=", "!="] if kind == BOOL else ["==", "=", "!=", "<", "<=", ">", ">="]
    return f"({a} {draw(st.sampled_from(ops))} {b})", 0.0, False


def _logic(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    choice = draw(st.integers(0, 2))
    a, _, _ = _sub(draw, BOOL, depth)
    if choice == 0:
        return f"(not {a})", 0.0, False
    rest = [_sub(draw, BOOL, depth)[0] for _ in range(draw(st.integers(1, 2)))]
    op = " and " if choice == 1 else " or "
    return f"({op.join([a, *rest])})", 0.0, False


def _membership(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    kind = draw(st.sampled_from([*_COMPARABLE, BOOL]))
    value, _, _ = _sub(draw, kind, depth)
    items = [
        draw(leaf(kind, nullok=False))
        if draw(st.booleans())
        else _sub(draw, kind, depth, nullok=False)
        for _ in range(draw(st.integers(1, 4)))
    ]
    if draw(st.booleans()):  # an all-literal list (the fast path of both back ends)
        items = [draw(leaf(kind, nullok=False)) for _ in items]
        items = [it if it[2] else draw(leaf(kind, nullok=False)) for it in items]
    op = draw(st.sampled_from(["in", "not in"]))
    return f"({value} {op} [{', '.join(t for t, _, _ in items)}])", 0.0, False


def _range(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    kind = draw(st.sampled_from(_COMPARABLE))
    value, _, _ = _sub(draw, kind, depth, nullok=False)
    low, _, _ = _sub(draw, kind, depth, nullok=False)
    high, _, _ = _sub(draw, kind, depth, nullok=False)
    left, right = draw(st.sampled_from(["[", "("])), draw(st.sampled_from(["]", ")"]))
    op = draw(st.sampled_from(["in", "not in"]))
    if draw(st.integers(0, 3)) == 0:
        return f"between({value}, {low}, {high})", 0.0, False
    return f"({value} {op} {left}{low}..{high}{right})", 0.0, False


def _null_test(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    x, _, _ = _sub(draw, draw(st.sampled_from([*_COMPARABLE, BOOL])), depth)
    return f"({x} is {draw(st.sampled_from(['null', 'not null']))})", 0.0, False


def _text_test(draw: st.DrawFn, depth: int, nullok: bool) -> Gen:
    a, _, _ = _sub(draw, STR, depth)
    b, _, _ = _sub(draw, STR, depth)
    return f"{draw(st.sampled_from(['contains', 'startswith', 'endswith']))}({a}, {b})", 0.0, False


BUILDERS: dict[str, list[Builder]] = {
    INT: [
        _int_arith,
        _int_arith,
        _int_unary,
        _int_from_num,
        _int_from_str,
        _int_from_date,
        _variadic(INT, ["min", "max", "coalesce"]),
        _clamp(INT),
        _ifelse(INT),
    ],
    NUM: [
        _num_arith,
        _num_arith,
        _num_power,
        _num_unary,
        _num_unary,
        _int_arith,
        _variadic(NUM, ["min", "max", "coalesce"]),
        _clamp(NUM),
        _ifelse(NUM),
    ],
    STR: [_str_ops, _str_ops, _variadic(STR, ["min", "max", "coalesce"]), _ifelse(STR)],
    BOOL: [
        _compare,
        _compare,
        _logic,
        _logic,
        _membership,
        _range,
        _null_test,
        _text_test,
        _ifelse(BOOL),
    ],
    DATE: [_date_ops, _variadic(DATE, ["min", "max", "coalesce"]), _ifelse(DATE)],
}


# --- data ---------------------------------------------------------------------------------

_VALUES = {
    Kind.INTEGER: INTS,
    Kind.NUMBER: FLOATS,
    Kind.STRING: TEXT,
    Kind.BOOLEAN: st.booleans(),
    Kind.DATE: DATES,
}


@st.composite
def frames(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = draw(st.integers(1, 30))
    columns = {
        name: draw(st.lists(st.none() | _VALUES[kind], min_size=rows, max_size=rows))
        for name, kind in FIELDS.items()
    }
    return [{name: columns[name][i] for name in FIELDS} for i in range(rows)]


# --- the property -------------------------------------------------------------------------


def _same(row: Any, vec: Any, kind: Kind) -> bool:
    if row is None or vec is None:
        return row is None and vec is None
    if kind in (Kind.INTEGER, Kind.NUMBER):
        return math.isclose(row, vec, rel_tol=1e-9, abs_tol=1e-12)
    return bool(row == vec)


_PY_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.INTEGER: (int,),
    Kind.NUMBER: (int, float),
    Kind.STRING: (str,),
    Kind.BOOLEAN: (bool,),
    Kind.DATE: (dt.date,),
}


def assert_backends_agree(text: str, records: list[dict[str, Any]]) -> None:
    e = compile_expression(text, SCHEMA)
    frame = pl.DataFrame(records, schema=POLARS_SCHEMA)
    out = frame.select(e.to_polars().alias("result"))["result"]
    vector = out.to_list()
    if len(vector) == 1 and frame.height != 1:  # a constant expression: polars gives one value
        vector = vector * frame.height
    assert len(vector) == frame.height, text
    expected_dtype = polars_dtype(e.ty)
    if expected_dtype is not None and out.dtype != pl.Null:
        assert out.dtype == expected_dtype, f"{text}: vector dtype {out.dtype}, type {e.ty}"
    for i, record in enumerate(records):
        row = e(record)
        if row is not None:
            allowed = _PY_TYPES.get(e.ty.kind)
            assert allowed is not None, f"{text}: non-null value {row!r} of type {e.ty}"
            is_bool = isinstance(row, bool)
            assert isinstance(row, allowed) and (is_bool == (e.ty.kind is Kind.BOOLEAN)), (
                f"{text}: row value {row!r} is not a {e.ty}"
            )
        else:
            assert e.ty.nullable, f"{text}: null from a non-nullable {e.ty}"
        assert _same(row, vector[i], e.ty.kind), (
            f"\nexpression: {text}\nrecord: {record}\nrow back end: {row!r}\n"
            f"vector back end: {vector[i]!r}"
        )


@pytest.mark.parametrize("kind", [INT, NUM, STR, BOOL, DATE])
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_backends_agree(kind: str, data: st.DataObject) -> None:
    text, _, _ = data.draw(expr(kind, 4), label="expression")
    records = data.draw(frames(), label="records")
    assert_backends_agree(text, records)


# --- known-hard cases, checked every run ----------------------------------------------------
# Random search rarely lands on these; each one was (or would be) a disagreement.


def _rows(field: str, *values: Any, **others: Any) -> list[dict[str, Any]]:
    return [{**dict.fromkeys(FIELDS), **others, field: v} for v in (*values, None)]


def _pairs(a: str, b: str, pairs: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
    return [{**dict.fromkeys(FIELDS), a: x, b: y} for x, y in [*pairs, (None, 1.0)]]


_QUOTIENTS = [
    (1.0, 0.1),
    (-1.0, 0.1),
    (0.7, 0.1),
    (1e6, 0.001),
    (7.5, -2.0),
    (2.0, -0.1),
    (-7.5, 2.0),
    (5.0, 0.0),
    (0.0, 3.0),
    (1e300, 1e-300),
    (-1e300, 1e-300),
]
_HUGE = [(1e300, 1e300), (-1e300, 1e300), (1.7e308, 1.7e308), (-1.7e308, 1.7e308), (2.0, 3.0)]

EDGE_CASES: list[tuple[str, list[dict[str, Any]]]] = [
    # float // and % follow polars: floor(x / y) and x - y * floor(x / y)
    ("n1 // n2", _pairs("n1", "n2", _QUOTIENTS)),
    ("n1 % n2", _pairs("n1", "n2", _QUOTIENTS)),
    ("i1 // n2", _pairs("i1", "n2", [(1, 0.1), (-1, 0.1), (7, -2.0), (3, 0.0)])),
    ("i1 % n2", _pairs("i1", "n2", [(1, 0.1), (-1, 0.1), (7, -2.0), (3, 0.0)])),
    ("i1 // i2", _pairs("i1", "i2", [(-7, 2), (7, -2), (7, 0), (-7, -2), (0, 5)])),
    ("i1 % i2", _pairs("i1", "i2", [(-7, 2), (7, -2), (7, 0), (-7, -2), (0, 5)])),
    # float overflow and NaN give null
    ("n1 * n2", _pairs("n1", "n2", _HUGE)),
    ("n1 + n2", _pairs("n1", "n2", _HUGE)),
    ("n1 - n2", _pairs("n1", "n2", _HUGE)),
    ("n1 / n2", _pairs("n1", "n2", [*_QUOTIENTS, (1.0, -0.0)])),
    ("(n1 * n2) - (n1 * n2) > 0", _pairs("n1", "n2", _HUGE)),
    ("n1 * n2 > 1 or n1 * n2 is null", _pairs("n1", "n2", _HUGE)),
    (
        "n1 ** n2",
        _pairs(
            "n1",
            "n2",
            [
                (-8.0, 1 / 3),
                (0.0, -1.0),
                (1e6, 1000.0),
                (2.0, 0.5),
                (-2.0, 3.0),
                (0.0, 0.0),
                (-0.0, -1.0),
                (1.0, 1e300),
            ],
        ),
    ),
    ("1e300 * 1e300", _rows("n1", 1.0)),
    ("2 ** 1024", _rows("n1", 1.0)),
    ("exp(n1)", _rows("n1", 709.0, 710.0, -1000.0, 1.0)),
    ("sqrt(n1)", _rows("n1", -1.0, -0.0, 0.0, 4.0)),
    ("log(n1) + log10(n1)", _rows("n1", -1.0, 0.0, 1e-300, 100.0)),
    # floor / ceil / round of huge numbers: null outside int64, no exception
    ("floor(n1)", _rows("n1", 1e300, -1e300, 9.3e18, -9.223372036854775808e18, 2.5, -2.5)),
    ("ceil(n1)", _rows("n1", 1e300, -1e300, 9.3e18, 9.2e18, 2.5, -2.5, -0.5)),
    ("floor(n1) + 1", _rows("n1", 1e300, 1.5)),
    ("round(n1, 12)", _rows("n1", 1e300, -1e300, 2.675, -2.5, 0.5, 1.005)),
    ("round(n1)", _rows("n1", -2.5, 2.5, 0.5, -0.5, 0.49999999999999994, 1e300, 1e16 + 1)),
    ("round(n1, 2)", _rows("n1", 2.675, 1.005, -1.005, 0.125, 1e6 + 0.005)),
    # date(): only YYYY-MM-DD (Python alone reads ISO weeks, polars reads " 2020-01-1")
    ("date(s1)", _rows("s1", *DATE_LIKE, "", "2020-02-30", "9999-12-31", "0001-01-01")),
    ("date(s1) is null", _rows("s1", *DATE_LIKE)),
    # case mapping and length beyond ASCII
    ("lower(s1) + '|' + upper(s1)", _rows("s1", "ΑΣ", "ΟΔΟΣ ΟΔΟΣ", "İ", "ß", "ǅ", "ﬁ", "É")),
    ("len(s1)", _rows("s1", "é", "e\u0301", "👍", "")),
    ("trim(s1)", _rows("s1", " \t\na\r ", "\u00a0a\u00a0", "")),
    (
        "contains(s1, s2) or startswith(s1, s2) or endswith(s1, s2)",
        _pairs("s1", "s2", [("abc", ""), ("", ""), ("abc", "bc"), ("a.c", ".")]),
    ),
    # the untyped literal null in every position the vector back end must type
    ("-null", _rows("n1", 1.0)),
    ("not null", _rows("n1", 1.0)),
    ("abs(null)", _rows("n1", 1.0)),
    ("lower(null)", _rows("n1", 1.0)),
    ("year(null)", _rows("n1", 1.0)),
    ("floor(null) + i1", _rows("i1", 1)),
    ("if null then 1 else 2", _rows("n1", 1.0)),
    ("if b1 then null else i1", _rows("b1", True, False, i1=3)),
    ("null in [1, 2]", _rows("n1", 1.0)),
    ("null not in [i1, 2]", _rows("i1", 1)),
    ("not (null and null)", _rows("n1", 1.0)),
    ("null or b1", _rows("b1", True, False)),
    ("-min(null, null)", _rows("n1", 1.0)),
    ("min(null, i1) + max(i1, null)", _rows("i1", 3)),
    ("coalesce(null, null) is null", _rows("n1", 1.0)),
    ("coalesce(null, s1, 'x')", _rows("s1", "a")),
    ("s1 + null", _rows("s1", "a")),
    ("null + null", _rows("n1", 1.0)),
    ("null ** 2", _rows("n1", 1.0)),
    ("len([])", _rows("n1", 1.0)),
    ("i1 in []", _rows("i1", 1)),
    ("len([i1, null, 3])", _rows("i1", 1)),
    # "is null" on constants (Python warns about "0 is None")
    ("0 is null", _rows("n1", 1.0)),
    ("(1 + 2) is not null", _rows("n1", 1.0)),
    ("'a' is null", _rows("n1", 1.0)),
    ("(+5) is null and -5 is not null", _rows("n1", 1.0)),
    # membership with mixed int / float and non-literal lists
    ("i1 in [1, 2.5]", _rows("i1", 1, 2, 3)),
    ("n1 in [1, 2]", _rows("n1", 1.0, 1.5, 2.0)),
    ("n1 not in [i1, 2.5]", _rows("n1", 1.0, 2.5, 3.0, i1=1)),
    ("s1 in [s2, 'a']", _pairs("s1", "s2", [("a", None), ("b", "b"), ("c", None)])),
    (
        "d1 in [date('2020-02-29'), d2]",
        _pairs("d1", "d2", [(dt.date(2020, 2, 29), None), (dt.date(2020, 3, 1), None)]),
    ),
    # ranges, all four brackets, at the ends
    ("i1 in [1..3]", _rows("i1", 0, 1, 2, 3, 4)),
    ("i1 in (1..3]", _rows("i1", 1, 3)),
    ("i1 in [1..3)", _rows("i1", 1, 3)),
    ("i1 not in (1..3)", _rows("i1", 1, 2, 3)),
    ("s1 in ['a'..'b')", _rows("s1", "a", "az", "b", "B")),
    (
        "d1 in [date('2020-01-01')..date('2020-12-31')]",
        _rows("d1", dt.date(2020, 1, 1), dt.date(2021, 1, 1)),
    ),
    # date arithmetic across month ends and leap days
    (
        "months_between(d1, d2)",
        _pairs(
            "d1",
            "d2",
            [
                (dt.date(2020, 1, 31), dt.date(2020, 2, 29)),
                (dt.date(2020, 2, 29), dt.date(2021, 2, 28)),
                (dt.date(2021, 3, 31), dt.date(2020, 1, 1)),
            ],
        ),
    ),
    (
        "age(d1, d2)",
        _pairs(
            "d1",
            "d2",
            [
                (dt.date(2000, 2, 29), dt.date(2021, 2, 28)),
                (dt.date(2000, 2, 29), dt.date(2021, 3, 1)),
                (dt.date(2000, 6, 15), dt.date(1990, 1, 1)),
            ],
        ),
    ),
    (
        "days_between(d1, d2) + weekday(d1)",
        _pairs("d1", "d2", [(dt.date(2024, 1, 7), dt.date(2023, 1, 1))]),
    ),
]


@pytest.mark.parametrize(("text", "records"), EDGE_CASES, ids=[t for t, _ in EDGE_CASES])
def test_backends_agree_on_edge_cases(text: str, records: list[dict[str, Any]]) -> None:
    assert_backends_agree(text, records)


# --- regular expressions: RE2 (row) and Rust's regex (vector) ------------------------------
# The checker accepts a pattern only where the two engines read it alike, and spells out
# \d \s \w as explicit classes for both. Case folding under (?i) uses each engine's Unicode
# tables: they differ only on case pairs new in Unicode 16 (2024), e.g. U+1C89/U+1C8A, which
# are left out of the texts here.

MATCH_TEXTS: list[str | None] = [
    *["", "a", "A", "abc", "ABC", "aaa!", "a\nb", "ab\n", "\n", "\r\n", " ", "\t x", "x1y2"],
    *["中文", "张三", "中a文", "李四 王五", "Straße", "STRASSE", "ẞ", "ß", "ſ", "s", "S"],
    *["K", "k", "\u212a", "σ", "Σ", "ς", "ǅ", "ǆ", "İ", "ı", "i", "é", "É", "e\u0301"],
    *["１２", "٣", "2020-01-01", "john@example.com", "\u3000", "\x0b", "\x85", "_", "-"],
    *["[", "]", "^", "$", "{1}", "a{1}", "\\", "😀", "a😀b", "\x00", None],
]
MATCH_PATTERNS = [
    # anchors, dot, alternation, repetition
    *["", "a", "^a", "a$", "^$", "^abc$", "\\Aa", "c\\z", "(?m)^b", "(?m)a$", "(?m)^$"],
    *["a.b", "(?s)a.b", ".", "^.$", "^..$", "^.{2}$", "a|b", "(a|b)+c", "(?:ab)*", "a*?"],
    *["a{2}", "a{1,}", "a{0,1}b", "a{0}", "(?U)a+", "(|a)", "a|", "^*"],
    # classes
    *["[a-c]+", "[^a-c]", "[]a]", "[^]a]", "[a-]", "[-a]", "[\\]]", "[\\[]", "[\\^]", "[\\-]"],
    *["[^\\n]", "[\\x{0}-\\x{7F}]+$", "[^\\x{0}-\\x{7F}]", "[[:alpha:]]", "[[:^alpha:]]"],
    *["[[:upper:]]", "[[:space:]]", "[[:punct:]]", "[[:word:]]", "[[:digit:][:lower:]]"],
    # Perl classes, spelled out (ASCII, as in RE2)
    *["\\d", "\\d+$", "^\\d{4}-\\d{2}-\\d{2}$", "\\D", "\\s", "\\S", "\\w+", "\\W"],
    *["[\\d_]", "[^\\d]", "[\\D]", "[\\s\\d]", "[\\S]", "[^\\W]", "[\\d-]", "^\\w+@\\w+\\.com$"],
    # case-insensitive
    *["(?i)abc", "(?i)straße", "(?i)ß", "(?i)ẞ", "(?i)k", "(?i)\\x{212A}", "(?i)σ", "(?i)s"],
    *["(?i)[^k]", "(?i)[a-z]+$", "(?i:A)b", "(?i)a(?-i)b", "(?i)[[:upper:]]", "(?i)\\w", "(?i)ǅ"],
    *["(?i)İ", "(?i)i", "(?i)é", "(?i)[^\\W]"],
    # Chinese and other non-ASCII text
    *["中", "^张", "[一-龥]+", "^[\\x{4E00}-\\x{9FFF}]{2}$", "文$", "^[一-龥]+ [一-龥]+$", "😀"],
    *["a.b", "\\x{1F600}", "e\\x{301}", "^.{3}$"],
    # escapes and literals
    *["\\.", "\\\\", "\\{1\\}", "a\\{", "\\x41", "\\x{4E2D}", "\\n", "\\t", "\\x00", "\\ "],
    *["}", "a]", "\\$", "\\^", "@(example|test)\\.com$"],
    # formerly catastrophic
    *["^(a+)+$", "(a|aa)+$", "(a*)*b", "(.*a){3}"],
]


def _text_rows(texts: list[str | None]) -> list[dict[str, Any]]:
    return [{**dict.fromkeys(FIELDS), "s1": t} for t in texts]


@pytest.mark.parametrize("pattern", MATCH_PATTERNS)
def test_backends_agree_on_matches(pattern: str) -> None:
    assert_backends_agree(f"matches(s1, {_quote(pattern)})", _text_rows(MATCH_TEXTS))


def test_perl_classes_mean_what_they_mean_in_re2() -> None:
    import re2

    chars = [chr(c) for c in range(0x3100)] + ["１", "٣", "中", "\U0001f600", "\U0010ffff"]
    frame = pl.DataFrame({"c": chars})
    for letter in "dDsSwW":
        own = re2.compile(f"\\{letter}")
        expected = [own.search(c) is not None for c in chars]
        for pattern in (f"\\{letter}", f"[\\{letter}]", f"[^\\{letter}]"):
            spelled = _canonical_regex(pattern)
            assert "\\" + letter not in spelled
            want = expected if "^" not in pattern else [not x for x in expected]
            row = [re2.compile(spelled).search(c) is not None for c in chars]
            vector = frame.select(pl.col("c").str.contains(spelled))["c"].to_list()
            assert row == want, pattern
            assert vector == want, pattern


_REGEX_TOKENS = [
    *["a", "b", "A", "k", "ß", "中", "文", " ", "\n", "_", "-", "1", "."],
    *["^", "$", "|", "(", ")", "(?:", "(?i)", "(?m)", "(?s)", "(?U)", "(?i:", "(?-i)"],
    *["*", "+", "?", "*?", "+?", "{2}", "{1,3}", "{0,}", "[", "]", "[^", "a-z", "-"],
    *["\\d", "\\D", "\\s", "\\S", "\\w", "\\W", "\\.", "\\A", "\\z", "\\x{4E2D}", "\\n"],
    *["[[:alpha:]]", "[[:^digit:]]", "[一-龥]", "\\\\", "\\-", "\\]", "\\["],
    # refused or broken on purpose: they must be refused, never crash or disagree
    *["\\b", "\\p{Han}", "&&", "~~", "--", "{", "}", "{1, 2}", "[[", "(?=", "\\1", "\\Z"],
    *["(?x)", "\\Q", "\\<", "{,3}", "**", "\\x{D800}", "\\"],
]
_MATCH_ALPHABET = "aAbBkK1 \n_-.中文ßſσΣς\u212a{}[]\\😀é"


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    tokens=st.lists(st.sampled_from(_REGEX_TOKENS), max_size=8),
    texts=st.lists(st.none() | st.text(_MATCH_ALPHABET, max_size=8), min_size=1, max_size=12),
)
def test_backends_agree_on_random_patterns(tokens: list[str], texts: list[str | None]) -> None:
    text = f"matches(s1, {_quote(''.join(tokens))})"
    try:
        compile_expression(text, SCHEMA)
    except ExpressionTypeError as exc:
        assert "matches()" in exc.message
        return
    assert_backends_agree(text, _text_rows(texts))
