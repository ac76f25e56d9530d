"""The ZEN language against zen-engine itself: same value, or both an error.

Each expression is evaluated by ``zen.evaluate_expression`` (zen-engine 2.1.3, the reference)
and by :mod:`ruleplus.expr.zen`; a fixed list covers the language feature by feature and
hypothesis generates random trees of operators, literals, fields and calls.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import zen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleplus.errors import RuleplusError
from ruleplus.expr.zen import compile_zen, compile_zen_unary

CONTEXT: dict[str, Any] = {
    "a": 1,
    "b": 2.5,
    "c": -4,
    "s": "hello",
    "n": None,
    "t": True,
    "f": False,
    "arr": [1, 2, 3],
    "strs": ["x", "y"],
    "objs": [{"p": 1, "q": "x"}, {"p": 5, "q": "y"}],
    "o": {"k": {"z": 3}, "w": "v"},
}
REFERENCE = 7


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    if isinstance(got, int | float) and isinstance(want, int | float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15)
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k]) for k in want)
    return bool(got == want)


def _zen(source: str, unary: bool) -> tuple[str, Any]:
    try:
        if unary:
            return "ok", zen.evaluate_unary_expression(source, {**CONTEXT, "$": REFERENCE})
        return "ok", zen.evaluate_expression(source, CONTEXT)
    except Exception:  # zen raises plain exceptions for every kind of failure
        return "error", None


def _ours(source: str, unary: bool) -> tuple[str, Any]:
    try:
        expr = compile_zen_unary(source) if unary else compile_zen(source)
        return "ok", expr.evaluate(CONTEXT, reference=REFERENCE)
    except RuleplusError:
        return "error", None


def assert_agrees(source: str, unary: bool = False) -> None:
    want, got = _zen(source, unary), _ours(source, unary)
    assert want[0] == got[0], f"{source!r}: zen {want}, ruleplus {got}"
    if want[0] == "ok":
        assert _same(got[1], want[1]), f"{source!r}: zen {want[1]!r}, ruleplus {got[1]!r}"


STANDARD = [
    # arithmetic in decimals, division by zero is null, types are strict
    "1 + 2", "a + b", "0.1 + 0.2", "0.1 * 3", "10 / 3", "3 / 2", "1 / 0", "10 % 3", "-7 % 3",
    "2 ^ 10", "2 ^ 3 ^ 2", "-2 ^ 2", "1.0075 ^ -12", "(1 + 2) * 3", "1 + 2 * 3", "-a", "+a",
    "null + 1", '"a" + 1', '"a" + "b"', "a * 1.5", "b - a", "1_000 + 1", "1e3", "2.5e-3",
    # comparison and logic
    "1 == 1.0", '"a" < "b"', "a > 0 and b > 2", 'a > 5 or s == "hello"', "true and null",
    "null and true", "not null", "!true", "not true == false", "t ? 1 : 2",
    'a == 1 ? "one" : a == 2 ? "two" : "other"', "[1] == [1]", "n == null", "a != null",
    "true == 1", '"abc" == "abc"', "n ?? 2", "a ?? 2",
    # ranges, intervals, membership
    "1 in [1..5)", "5 in [1..5)", "5 in (1..5]", "a in [0..1]", 's in ["hello", "x"]',
    's not in ["hello"]', '"k" in o', "2 in arr", "9 not in arr", "map([1..3], # * 2)",
    # arrays, objects, member access, slices
    "[1, 2, 3]", "arr[0]", "arr[5]", "arr[1:2]", "arr[:1]", "arr[1:]", "s[1]", "o.k.z",
    # an index is a 64-bit unsigned integer to zen (truncated): negative or over 2^64 - 1 errs
    "arr[18446744073709551615]", "arr[18446744073709551616]", "s[18446744073709551616]",
    "arr[1e20]", "arr[-0.5]", "arr[0.999]", "o[100000000000000000000]",
    "o.k.missing.x", 'o["k"]', "$root.a", "{x: a, y: [1, 2]}", "n.x", "[1, 2][n]",
    # templates
    "`x${1 + 1} ${s}`", "`${t} and ${n}`",
    # closures
    "map(arr, # * 2)", "filter(arr, # > 1)", "some(arr, # > 1)", "all(arr, # > 0)",
    "none(arr, # > 5)", "one(arr, # == 2)", "count(arr, # > 1)", "flatMap([[1], [2]], #)",
    "map(objs, #.p)", 'filter(objs, #.q == "y")', "sum(map(objs, #.p))",
    "map(objs as x, x.p + 1)", "count(objs, #.p > 2)", "some(strs, # == \"y\")",
    # the function library
    "len(\"abc\")", "len(arr)", "len(null)", "max([1, 2])", "min([3, 1, 2])", "max([])",
    "sum([1, 2])", "sum([])", "avg([1, 2])", "avg([])", "median([3, 1, 2, 4])", "mode([1, 2, 2])",
    "round(2.5)", "round(-2.5)", "round(1.2345, 2)", "round(1.005, 2)", "floor(-1.5)",
    "ceil(1.1)", "trunc(1.789, 1)", "abs(-2)", "abs(null)", 'contains("abc", "b")',
    "contains(arr, 2)", "upper(s)", "upper(null)", 'lower("AbC")', 'trim("  x ")',
    'startsWith(s, "he")', 'endsWith(s, "lo")', 'split("a,b,c", ",")', "flatten([[1, 2], [3]])",
    "string(1.5)", "string(true)", 'number("1.5")', "number(true)", "type(1)", "type(arr)",
    "type(n)", 'isNumeric("1")', 'isNumeric("x")', "keys({a: 1})", "values(o)",
    'bool("true")', "bool(0)", 'matches("abc123", "[0-9]+")',
    # numeric dates
    'date("2023-01-01")', 'date("2023-01-01 10:00:00")', 'date("2023-03-01T10:20:30Z")',
    'year(date("2023-05-01"))', 'dayOfWeek(date("2023-05-01"))',
    'monthOfYear(date("2023-05-01"))', 'dayOfMonth(date("2023-05-17"))', 'time("12:30")',
    'date("2023-01-01") + duration("2d")', 'startOf(date("2023-05-17 10:00:00"), "day")',
    # zen's 96-bit decimals, in their text form
    "string(10 / 3)", "string(80 / 9)", "string(1 / 7)", "string(1.50 + 0)", "string(round(1, 1))",
    "string(trunc(1, 1))", "string(1.0075 ^ -12)", "string(-(0))", "string(0 * -1)",
    "79228162514264337593543950335 + 1", "79228162514264337593543950335 / 0.5", "0 ^ 0",
    "0 ^ -1", "(-8) ^ (1 / 3)", "10 ^ 29", "round(a, -(0))", "contains([a, [1, 2]], [1, 2])",
]  # fmt: skip
DATES = [
    'd("2023-01-15")',
    'd("2023-01-15").add(1, "d")',
    'd("2023-01-31").add(1, "M")',
    'd("2023-01-15").sub(2, "w")',
    'd("2023-01-15").format("%Y-%m-%d")',
    'd("2023-01-15").year()',
    'd("2023-01-15") < d("2023-02-01")',
    'd("2023-01-15") > d("2023-02-01")',
    'd("2023-01-15").diff(d("2023-01-10"), "d")',
    'd("2023-01-15").diff(d("2022-11-20"), "M")',
    'd("2023-01-15").diff(d("2023-01-10"))',
    'd("2023-01-15 10:00").startOf("month")',
    'd("2023-05-15 10:00").startOf("w")',
    'd("2023-05-15 10:00").endOf("d")',
    'd("2023-05-15 10:00").endOf("M")',
    'd("2023-01-15").isBefore(d("2023-02-01"))',
    'd("2023-01-15").isSame(d("2023-01-15 13:00"), "day")',
    'd("2023-01-15").add("1d 2h")',
    'd("2023-01-15").weekday()',
    "d(1700000000)",
    'd("2023-01-15").timestamp()',
    'type(d("2023-01-15"))',
    'string(d("2023-01-15"))',
    'd("2023-01-15") == d("2023-01-15")',
    'd("2023-01-15").month()',
    'd("2023-01-15").quarter()',
    'd("2023-01-15").dayOfYear()',
    'd("2023-01-15").week()',
    'd("2024-01-15").isLeapYear()',
    'd("garbage").isValid()',
    'd("2023-01-15").set("year", 2020)',
    'max([d("2023-01-15"), d("2024-01-01")])',
    'd("2023-01-15T10:00:00+02:00")',
    'd("2023-01-15").tz("Europe/Berlin")',
    'd("2023-01-15").tz("Europe/Berlin").hour()',
    '`${d("2023-01-15")}`',
    'd("2023-01-15") in [d("2023-01-15")]',
    'd("2023-06-15").endOf("q")',
    'd("2023-06-15").startOf("y")',
]


UNARY = [
    "> 5", "< 5", "7", "8", "[1..10]", "(7..10]", "5, 7", '"x", "y"', ">= 1 and <= 10",
    "> 10 or < 8", "$ > 5", "$ * 2 == 14", "a == 1", "arr", "null", 'contains(s, "ell")',
    "not in [1, 2]", "in [7, 8]", "== 7", "!= 7", "$ in [1..10]",
]  # fmt: skip


@pytest.mark.parametrize("source", STANDARD)
def test_standard_expression_agrees_with_zen(source: str) -> None:
    assert_agrees(source)


@pytest.mark.parametrize("source", DATES)
def test_date_objects_agree_with_zen(source: str) -> None:
    assert_agrees(source)


@pytest.mark.parametrize("source", UNARY)
def test_unary_cell_agrees_with_zen(source: str) -> None:
    assert_agrees(source, unary=True)


_LEAVES = st.sampled_from(
    ["a", "b", "c", "n", "t", "f", "s", "1", "0", "2.5", "-3", "0.1", '"x"', "null", "true",
     "arr", "strs", "objs", "o", "o.k", "o.k.z", "arr[1]", "$root.a", "[1, 2]", "{x: 1}",
     "`${a}`", "objs[0].p", "0.3333333333333333333333333333", "100000000000000000000"]
)  # fmt: skip
_BINARY = st.sampled_from(
    ["+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=", ">", ">=", "and", "or", "??", "in",
     "not in"]
)  # fmt: skip
_FUNCTIONS = st.sampled_from(
    ["abs", "floor", "ceil", "round", "string", "type", "len", "upper", "lower", "trim",
     "number", "bool", "sum", "max", "min", "avg", "keys", "values", "flatten", "isNumeric"]
)  # fmt: skip
_CLOSURES = st.sampled_from(["map", "filter", "some", "all", "none", "count", "one", "flatMap"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(children, children)
    return st.one_of(
        st.tuples(children, _BINARY, children).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        st.tuples(children, children, children).map(lambda p: f"({p[0]} ? {p[1]} : {p[2]})"),
        children.map(lambda c: f"-({c})"),
        children.map(lambda c: f"!({c})"),
        st.tuples(_FUNCTIONS, children).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(_CLOSURES, children, children).map(lambda p: f"{p[0]}({p[1]}, {p[2]})"),
        st.tuples(
            st.sampled_from(["map", "filter", "some", "count"]),
            st.sampled_from(["arr", "objs", "strs", "[1..3]"]),
            st.sampled_from(["# > 1", "#.p", "# + 1", '# == "x"', "#"]),
        ).map(lambda p: f"{p[0]}({p[1]}, {p[2]})"),
        pair.map(lambda p: f"[{p[0]}, {p[1]}]"),
        pair.map(lambda p: f"`${{{p[0]}}}-${{{p[1]}}}`"),
        pair.map(lambda p: f"{p[0]}[{p[1]}]"),
        st.tuples(
            children, st.sampled_from(["[0..2]", "(1..3)", "]1..3[", "[1, 2, 3]", '["x"]'])
        ).map(lambda p: f"({p[0]} in {p[1]})"),
        pair.map(lambda p: f"contains({p[0]}, {p[1]})"),
        pair.map(lambda p: f"round({p[0]}, {p[1]})"),
    )


EXPRESSIONS = st.recursive(_LEAVES, _combine, max_leaves=6)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(EXPRESSIONS)
def test_random_expressions_agree_with_zen(source: str) -> None:
    assert_agrees(source)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["<", "<=", ">", ">=", "", "!="]),
    st.integers(-3, 12),
    st.sampled_from(["", ", 3", " and < 10", " or == 2"]),
)
def test_random_cells_agree_with_zen(op: str, value: int, tail: str) -> None:
    assert_agrees(f"{op} {value}{tail}".strip(), unary=True)
