"""Hostile expressions are refused at compile time, quickly, with the right error class.

Expressions come from strategy documents that analysts edit and partners may submit: nothing
in them may reach Python's ``eval``/``exec``, attribute access or imports, and no input may
hang the parser, exhaust the stack or crash the process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import string
import sys
import time
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleplus.errors import (
    ExpressionError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    RuleplusError,
    UnsafeExpressionError,
)
from ruleplus.expr import FUNCTIONS, Kind, Ty, compile_expression, parse, parse_unary_tests
from ruleplus.expr._parser import MAX_DEPTH, MAX_LENGTH, MAX_NODES

SCHEMA = {
    "a": Ty(Kind.INTEGER),
    "x": Ty(Kind.NUMBER),
    "s": Ty(Kind.STRING),
    "flag": Ty(Kind.BOOLEAN),
    "day": Ty(Kind.DATE),
    "applicant.income": Ty(Kind.NUMBER),
}
RECORD = {
    "a": 3,
    "x": 2.5,
    "s": "abc",
    "flag": True,
    "day": dt.date(2020, 1, 31),
    "applicant.income": 1000.0,
}
FAST = 2.0
"""Seconds any single hostile input may take (compile and evaluate); they take milliseconds."""

# build the LALR tables once, so no test (or hypothesis deadline) pays for them
compile_expression("a + 1", SCHEMA)


def refused(text: str, schema: dict[str, Ty] | None = None) -> ExpressionError:
    """Compile ``text``; return the error it raises (failing if none), checking it is fast."""
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, SCHEMA if schema is None else schema)
    assert time.perf_counter() - start < FAST, f"refusing {text[:40]!r} took too long"
    return info.value


# --- Python escapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error", "fragment"),
    [
        ("__import__('os')", UnsafeExpressionError, "not allowed"),
        ("__import__('os').system('true')", ExpressionSyntaxError, "unexpected"),
        ("_pow(2, 3)", UnsafeExpressionError, "not allowed"),
        ("_and3(true)", UnsafeExpressionError, "not allowed"),
        ("().__class__", ExpressionSyntaxError, "unexpected"),
        ("().__class__.__bases__[0].__subclasses__()", ExpressionSyntaxError, "unexpected"),
        ("x.__class__", UnsafeExpressionError, "'__'"),
        ("a.__class__.__mro__", UnsafeExpressionError, "'__'"),
        ("__builtins__", UnsafeExpressionError, "'__'"),
        ("__class__ + 1", UnsafeExpressionError, "'__'"),
        ("s.__len__", UnsafeExpressionError, "'__'"),
        ("open('f')", UnsafeExpressionError, "unknown function 'open'"),
        ('exec("1")', UnsafeExpressionError, "unknown function 'exec'"),
        ('eval("1")', UnsafeExpressionError, "unknown function 'eval'"),
        ("compile('1', 'f', 'eval')", UnsafeExpressionError, "unknown function 'compile'"),
        ("getattr(a, 'b')", UnsafeExpressionError, "unknown function 'getattr'"),
        ("setattr(a, 'b', 1)", UnsafeExpressionError, "unknown function 'setattr'"),
        ("globals()", UnsafeExpressionError, "unknown function 'globals'"),
        ("vars()", UnsafeExpressionError, "unknown function 'vars'"),
        ("breakpoint()", UnsafeExpressionError, "unknown function 'breakpoint'"),
        ("input()", UnsafeExpressionError, "unknown function 'input'"),
        ("print(s)", UnsafeExpressionError, "unknown function 'print'"),
        ("type(a)", UnsafeExpressionError, "unknown function 'type'"),
        ("record.get('a')", ExpressionSyntaxError, "unexpected"),
        ("s.upper()", ExpressionSyntaxError, "unexpected"),
        ("'abc'.upper()", ExpressionSyntaxError, "unexpected"),
        ("a[0]", ExpressionSyntaxError, "unexpected '['"),
        ("s[::-1]", ExpressionSyntaxError, "unexpected"),
        ("import os", ExpressionSyntaxError, "unexpected"),
        ("from os import system", ExpressionSyntaxError, "unexpected"),
        ("del a", ExpressionSyntaxError, "unexpected"),
        ("lambda: 1", ExpressionSyntaxError, "unexpected character ':'"),
        ("lambda x: x", ExpressionSyntaxError, "unexpected"),
        ("[x for x in s]", ExpressionSyntaxError, "unexpected 'for'"),
        ("{x for x in s}", ExpressionSyntaxError, "unexpected character '{'"),
        ("(x for x in s)", ExpressionSyntaxError, "unexpected"),
        ("x if flag else a", ExpressionSyntaxError, "unexpected"),
        ("a; a", ExpressionSyntaxError, "unexpected character ';'"),
        ("a := 1", ExpressionSyntaxError, "unexpected character ':'"),
        ("a += 1", ExpressionSyntaxError, "unexpected"),
        ("a = 1; import os", ExpressionSyntaxError, "unexpected character ';'"),
        ("a == 1 # and so on", ExpressionSyntaxError, "unexpected character '#'"),
        ("f'{a}'", ExpressionSyntaxError, "unexpected"),
        ("b'x'", ExpressionSyntaxError, "unexpected"),
        ("'''x'''", ExpressionSyntaxError, "unexpected"),
        ("`a", ExpressionSyntaxError, "unexpected character '`'"),
        ("`__class__`", UnsafeExpressionError, "'__'"),
        ("a @ a", ExpressionSyntaxError, "unexpected character '@'"),
        ("a\\\n+ 1", ExpressionSyntaxError, "unexpected character"),
        ("a\x00", ExpressionSyntaxError, "unexpected character"),
        ("ａ + 1", ExpressionSyntaxError, "unexpected character"),  # full-width a
        ("οpen('f')", ExpressionSyntaxError, "unexpected character"),  # Greek omicron
        ("a\u202e + 1", ExpressionSyntaxError, "unexpected character"),  # right-to-left mark
        ("a > ৪00", ExpressionSyntaxError, "unexpected character"),  # Bengali 4, looks like 8
    ],
)
def test_python_escapes_are_refused(text: str, error: type[ExpressionError], fragment: str) -> None:
    exc = refused(text)
    assert type(exc) is error, f"{text!r} raised {type(exc).__name__}: {exc}"
    assert fragment in exc.message
    assert exc.context.get("expression"), "the error names the expression"


def test_unknown_function_lists_the_allowed_ones() -> None:
    exc = refused("opn('f')")
    assert "did you mean open" not in exc.message
    for name in ("abs", "coalesce", "round"):
        assert name in exc.message
    assert "did you mean" in refused("coalesse(a, 1)").message


def test_allow_list_holds_only_library_functions() -> None:
    dangerous = {
        "eval",
        "exec",
        "open",
        "compile",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "__import__",
        "input",
        "breakpoint",
        "type",
        "object",
    }
    assert not dangerous & set(FUNCTIONS)
    assert all(name.isidentifier() and not name.startswith("_") for name in FUNCTIONS)


def test_single_equals_is_a_comparison_not_an_assignment() -> None:
    e = compile_expression("a = 1", SCHEMA)
    assert e.ty.kind is Kind.BOOLEAN
    record = {"a": 2}
    assert e(record) is False
    assert record == {"a": 2}, "the record is not modified"
    assert e({"a": 1}) is True
    assert pl.DataFrame({"a": [1, 2]}).select(e.to_polars())["a"].to_list() == [True, False]


def test_dotted_assignment_is_a_comparison_too() -> None:
    e = compile_expression("applicant.income = 1000", SCHEMA)
    assert e({"applicant.income": 1000.0}) is True


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('s == \'__import__("os").system("rm -rf /")\'', False),
        ("upper('__import__(\"os\")')", '__IMPORT__("OS")'),
        ("'); import os; ('", "); import os; ("),
        ("'\\'; exec(\"1\") #'", '\'; exec("1") #'),
        ('"{record}" + s', "{record}abc"),
        ("len('\\u0000' + '\\n')", 2),
        ("contains('eval(a)', 'eval')", True),
    ],
)
def test_code_inside_strings_is_just_text(text: str, value: Any) -> None:
    modules = set(sys.modules)
    e = compile_expression(text, SCHEMA)
    assert e(RECORD) == value
    frame = pl.DataFrame([RECORD])
    assert frame.select(e.to_polars().alias("r"))["r"].to_list() == [value]
    assert set(sys.modules) == modules, "nothing was imported"


def test_field_names_that_look_like_generated_names_are_plain_data() -> None:
    # the row back end generates locals (v0, _t0), helpers (_pow, _k0) and reads `record`
    names = ["_pow", "v0", "v1", "record", "_t0", "_k0", "None", "min", "_and3"]
    schema = {name: Ty(Kind.INTEGER) for name in names}
    text = " + ".join(f"{name} * {10**i}" for i, name in enumerate(names))
    record = {name: i + 1 for i, name in enumerate(names)}
    expected = sum((i + 1) * 10**i for i in range(len(names)))
    e = compile_expression(text, schema)
    assert e(record) == expected
    assert pl.DataFrame([record]).select(e.to_polars()).item() == expected


# --- resource limits ----------------------------------------------------------------------


def test_huge_constant_exponent_is_refused() -> None:
    exc = refused("2 ** 100000")
    assert isinstance(exc, UnsafeExpressionError)
    assert "exponent" in exc.message
    assert isinstance(refused("a ** -5000"), UnsafeExpressionError)


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9**9",
        "9^9^9^9",
        "2 ** 1024",
        "x ** (a * 100000)",
        "(10 ** 300) * (10 ** 300)",
        "exp(exp(exp(100)))",
    ],
)
def test_tower_of_powers_finishes_fast_and_is_null(text: str) -> None:
    start = time.perf_counter()
    e = compile_expression(text, SCHEMA)  # compiles: float power, overflow is null
    assert e.ty.kind is Kind.NUMBER
    assert e.ty.nullable
    assert e({"a": 1000, "x": 10.0}) is None
    frame = pl.DataFrame({"a": [1000], "x": [10.0]})
    assert frame.select(e.to_polars().alias("r"))["r"].to_list() == [None]
    assert time.perf_counter() - start < FAST


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("9" * 41, "too long"),
        ("1" * 10_000, "too long"),
        ("1e400", "out of range"),
        ("1" + "0" * 30 + ".0e400", "out of range"),
        ("9223372036854775808", "out of range"),
        ("99999999999999999999 * 0", "out of range"),
        ("a + 18446744073709551616", "out of range"),
    ],
)
def test_huge_number_literals_are_refused(text: str, fragment: str) -> None:
    exc = refused(text)
    assert isinstance(exc, UnsafeExpressionError)
    assert fragment in exc.message


def test_largest_int64_literal_is_accepted() -> None:
    e = compile_expression("9223372036854775807 + 0 * a", SCHEMA)
    assert e({"a": 1}) == 2**63 - 1


def test_tiny_float_literal_is_fine() -> None:
    assert compile_expression("1e-400", SCHEMA)({}) == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "a" * 100_000,
        "1 + " * 25_000 + "1",
        "'" + "x" * 99_998 + "'",
        " " * (MAX_LENGTH + 1) + "1",
    ],
    ids=["name", "sum", "string", "spaces"],
)
def test_long_input_is_refused_before_parsing(text: str) -> None:
    exc = refused(text)
    assert isinstance(exc, UnsafeExpressionError)
    assert "too long" in exc.message
    assert len(exc.context["expression"]) <= 120, "the error quotes a short prefix only"
    with pytest.raises(UnsafeExpressionError):
        parse_unary_tests(text)


DEEP = [
    ("(" * 10_000 + "1" + ")" * 10_000, "too long"),
    ("-(" * 5_000 + "x" + ")" * 5_000, "too long"),
    ("-(" * 3_000 + "x" + ")" * 3_000, "nested too deeply"),
    ("+".join(["1"] * 5_000), "nested too deeply"),
    ("not " * 5_000 + "flag", "too long"),
    ("not " * 2_400 + "flag", "nested too deeply"),
    ("+" * 9_000 + "1", "nested too deeply"),
    ("[" * 4_000 + "]" * 4_000, "nested too deeply"),
    ("abs(" * 1_500 + "1" + ")" * 1_500, "nested too deeply"),
    ("if flag then " * 400 + "1" + " else 2" * 400, "nested too deeply"),
    ("a in [" + ", ".join(["1"] * 3_000) + "]", "too large"),
    ("coalesce(" + ", ".join(["a"] * 2_500) + ")", "too large"),
]


@pytest.mark.parametrize(("text", "fragment"), DEEP, ids=[f[:12] + str(len(f)) for f, _ in DEEP])
def test_deep_or_large_input_is_refused_without_recursion(text: str, fragment: str) -> None:
    exc = refused(text)
    assert isinstance(exc, UnsafeExpressionError), f"{type(exc).__name__}: {exc}"
    assert fragment in exc.message
    assert "derived fields" in exc.message or "at most" in exc.message, "says what to do"


def test_limits_are_generous_enough_for_real_rules() -> None:
    assert MAX_DEPTH >= 32
    assert MAX_NODES >= 1_000
    nested = "(" * (MAX_DEPTH // 2) + "a" + ")" * (MAX_DEPTH // 2)
    assert compile_expression(nested, SCHEMA)({"a": 5}) == 5
    chain = " + ".join(["a"] * (MAX_DEPTH - 2))
    assert compile_expression(chain, SCHEMA)({"a": 1}) == MAX_DEPTH - 2
    many = "a in [" + ", ".join(str(i) for i in range(MAX_NODES // 2)) + "]"
    assert compile_expression(many, SCHEMA)({"a": 7}) is True


def test_long_run_of_minus_signs_folds_into_a_literal() -> None:
    # "- - - 1" folds into the literal at each step: deep text, flat tree, no recursion
    assert compile_expression("-" * 9_001 + "1", SCHEMA)({}) == -1
    assert compile_expression("-" * 9_000 + "1", SCHEMA)({}) == 1


def test_redundant_parentheses_add_no_depth() -> None:
    # "(expr)" builds no node: 4,000 pairs (the most that fit in MAX_LENGTH) are just "a"
    text = "(" * 4_000 + "a" + ")" * 4_000
    start = time.perf_counter()
    assert compile_expression(text, SCHEMA)({"a": 5}) == 5
    assert time.perf_counter() - start < FAST


def test_limits_hold_after_a_refusal() -> None:
    refused("-(" * 3_000 + "x" + ")" * 3_000)
    assert compile_expression("(a + 1) * 2", SCHEMA)({"a": 1}) == 4


# --- fuzzing ------------------------------------------------------------------------------

FUZZ_SCHEMA = {
    "a": Ty(Kind.INTEGER),
    "b": Ty(Kind.INTEGER, nullable=False),
    "x": Ty(Kind.NUMBER),
    "s": Ty(Kind.STRING),
    "t": Ty(Kind.STRING, nullable=False),
    "flag": Ty(Kind.BOOLEAN),
    "day": Ty(Kind.DATE),
    "app.income": Ty(Kind.NUMBER),
}
FUZZ_POLARS = {
    "a": pl.Int64,
    "b": pl.Int64,
    "x": pl.Float64,
    "s": pl.String,
    "t": pl.String,
    "flag": pl.Boolean,
    "day": pl.Date,
    "app.income": pl.Float64,
}
FUZZ_ROWS = [
    {
        "a": 3,
        "b": 0,
        "x": -2.5,
        "s": "abc",
        "t": "",
        "flag": True,
        "day": dt.date(2020, 2, 29),
        "app.income": 1e6,
    },
    {
        "a": None,
        "b": -7,
        "x": None,
        "s": None,
        "t": "2020-01-01",
        "flag": None,
        "day": None,
        "app.income": None,
    },
    {
        "a": 0,
        "b": 1,
        "x": 0.0,
        "s": "",
        "t": " A ",
        "flag": False,
        "day": dt.date(1900, 1, 1),
        "app.income": -0.0,
    },
]
FUZZ_FRAME = pl.DataFrame(FUZZ_ROWS, schema=FUZZ_POLARS)

TOKENS = [
    # keywords and literals
    "if",
    "then",
    "else",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "true",
    "false",
    # operators and punctuation of the grammar
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "^",
    "==",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "(",
    ")",
    "[",
    "]",
    ",",
    "..",
    ".",
    # numbers and strings
    "0",
    "1",
    "2",
    "7",
    "1.5",
    "1e3",
    "1e308",
    "9" * 19,
    "0.1",
    "'x'",
    '"abc"',
    "''",
    "'2020-01-01'",
    "'\\n'",
    "'\\u00e9'",
    # fields and functions
    "a",
    "b",
    "x",
    "s",
    "t",
    "flag",
    "day",
    "app.income",
    "app",
    "income",
    "unknown",
    *FUNCTIONS,
    # hostile odds and ends
    "__class__",
    "_pow",
    "lambda",
    ":",
    ";",
    "\\",
    "'",
    '"',
    "#",
    "@",
    "{",
    "}",
    "for",
    "=>",
]


def _check_never_crashes(text: str) -> None:
    """parse / parse_unary_tests / compile may only raise RuleplusError subclasses; a compiled
    expression never raises at run time, in either back end."""
    for parser in (parse, parse_unary_tests):
        with contextlib.suppress(RuleplusError):
            parser(text)
    try:
        e = compile_expression(text, FUZZ_SCHEMA)
    except RuleplusError:
        return
    for record in FUZZ_ROWS:
        e(record)
    FUZZ_FRAME.select(e.to_polars().alias("r"))


FUZZ_SETTINGS = settings(
    max_examples=400,
    derandomize=True,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ_SETTINGS
@given(st.text(max_size=60))
def test_fuzz_random_text(text: str) -> None:
    _check_never_crashes(text)


@FUZZ_SETTINGS
@given(st.text(alphabet=string.printable, max_size=80))
def test_fuzz_random_printable_text(text: str) -> None:
    _check_never_crashes(text)


@FUZZ_SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.sampled_from([" ", ""]))
def test_fuzz_token_soup(tokens: list[str], separator: str) -> None:
    _check_never_crashes(separator.join(tokens))


_LEAVES = st.sampled_from(
    [
        "a",
        "b",
        "x",
        "s",
        "t",
        "flag",
        "day",
        "app.income",
        "null",
        "true",
        "false",
        "0",
        "1",
        "-1",
        "2.5",
        "0.0",
        "1e308",
        "9223372036854775807",
        "'x'",
        "''",
        "'2020-01-01'",
        "date('2020-02-29')",
        "[]",
        "[1, 2]",
    ]
)
_BINARY = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or"]


def _grammatical(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["-", "not ", "+"]), children).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(children, st.sampled_from(["is null", "is not null"])).map(
            lambda t: f"({t[0]} {t[1]})"
        ),
        st.tuples(children, st.sampled_from(["in", "not in"]), st.lists(children, max_size=3)).map(
            lambda t: f"({t[0]} {t[1]} [{', '.join(t[2])}])"
        ),
        st.tuples(
            children, st.sampled_from(["[", "("]), children, children, st.sampled_from(["]", ")"])
        ).map(lambda t: f"({t[0]} in {t[1]}{t[2]}..{t[3]}{t[4]})"),
        st.tuples(children, children, children).map(
            lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"
        ),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


GRAMMATICAL = st.recursive(_LEAVES, _grammatical, max_leaves=10)


@settings(
    max_examples=600,
    derandomize=True,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(GRAMMATICAL)
def test_fuzz_grammatical_but_untyped(text: str) -> None:
    # syntactically valid, types ignored: many compile, and those must run without raising
    _check_never_crashes(text)


@settings(max_examples=60, derandomize=True, deadline=timedelta(seconds=2))
@given(
    st.sampled_from(["(", "-(", "not ", "[", "abs(", "+", "if flag then "]), st.integers(1, 3_000)
)
def test_fuzz_deep_prefixes(prefix: str, depth: int) -> None:
    closer = {"(": ")", "-(": ")", "[": "]", "abs(": ")", "if flag then ": " else 1"}
    text = prefix * depth + "1" + closer.get(prefix, "") * depth
    _check_never_crashes(text)


def test_errors_are_expression_errors_with_context() -> None:
    for text in ("1 +", "open('f')", "a + s", "2 ** 100000", "((" * 3_000):
        exc = refused(text)
        assert isinstance(exc, ExpressionSyntaxError | UnsafeExpressionError | ExpressionTypeError)
        details = exc.to_dict()
        assert details["type"] == type(exc).__name__
        assert details["message"]


# --- regular expressions ------------------------------------------------------------------
# ``matches`` runs on RE2 in the row back end and on Rust's ``regex`` in the vector back end:
# automata, linear in the text. Python's backtracking ``re`` (the row back end before) needs
# from tens of seconds to centuries for each of these; the timeout is only a watchdog.


def _pattern(pattern: str) -> str:
    """``pattern`` as a string literal of the expression language."""
    return "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"


REDOS = [
    ("^(a+)+$", "a" * 30 + "!", False),
    ("^(a+)+$", "a" * 5000 + "!", False),
    ("^(a+)+$", "a" * 5000, True),
    ("(a|aa)+$", "a" * 40 + "!", False),
    ("(a|aa)+$", "a" * 4999 + "!", False),
    ("(a|aa)+$", "!" + "a" * 4999, True),
    ("(.*a){20}", ("b" * 250 + "a") * 19, False),
    ("(.*a){20}", ("b" * 250 + "a") * 20, True),
    ("(a*)*b", "a" * 30, False),
    ("(a*)*b", "a" * 5000, False),
    ("(a*)*b", "a" * 5000 + "b", True),
    ("(x+x+)+y", "x" * 5000, False),
    ("^(\\w+\\s?)*$", "word " * 1000 + "!", False),
    ("^([a-zA-Z0-9]+[._-]?)+@example\\.com$", "a" * 60 + "@example.org", False),
    ("(?i)^(a|A)+$", "aA" * 2500 + "!", False),
    ("^(中+)+$", "中" * 5000 + "!", False),
    ("^(中+)+$", "中" * 5000, True),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("pattern", "text", "expected"), REDOS, ids=[f"{p}-{len(t)}" for p, t, _ in REDOS]
)
def test_catastrophic_backtracking_patterns_run_in_linear_time(
    pattern: str, text: str, expected: bool
) -> None:
    e = compile_expression(f"matches(s, {_pattern(pattern)})", SCHEMA)
    assert e({"s": text}) is expected
    frame = pl.DataFrame({"s": [text, None, text]})
    assert frame.select(e.to_polars().alias("r"))["r"].to_list() == [expected, None, expected]


@pytest.mark.timeout(10)
def test_catastrophic_pattern_in_a_strategy_rule_is_fast_on_both_paths() -> None:
    from ruleplus.decision import compile_strategy

    strategy = compile_strategy(
        {
            "id": "redos",
            "inputs": {"name": {"type": "string"}},
            "reasons": {"A": {"en": "Name is only a's"}},
            "nodes": [
                {
                    "id": "only_as",
                    "type": "rule",
                    "when": "matches(name, '^(a+)+$')",
                    "then": {"decision": "decline"},
                    "reason": "A",
                }
            ],
        }
    )
    hostile = "a" * 5000 + "!"
    for _ in range(100):
        assert strategy.evaluate({"name": hostile}).decision is None
    assert strategy.evaluate({"name": "aaa"}).decision == "decline"
    frame = pl.DataFrame({"name": [hostile] * 100 + ["aaa", None]})
    assert strategy.evaluate_frame(frame)["decision"].to_list() == [None] * 100 + ["decline", None]


REFUSED_PATTERNS = [
    # only backtracking engines have these
    ("(?=a)", "lookaround"),
    ("a(?!b)", "lookaround"),
    ("(?<=a)b", "lookaround"),
    ("(?<!a)b", "lookaround"),
    ("(a)\\1", "back-references"),
    ("(?P<x>a)(?P=x)", "back-references"),
    ("(?(1)a|b)", "conditional"),
    ("(?#note)a", "comments"),
    ("(?>a+)", "does not compile"),
    ("a*+", "does not compile"),
    ("\\Qa.b\\E", "escape \\Q"),
    ("\\Z", "use \\z or $"),
    # both engines accept these, but read them differently
    ("\\bword\\b", "word boundary"),
    ("\\Bx", "word boundary"),
    ("\\<x", "word boundary"),
    ("x\\>", "word boundary"),
    ("\\p{Han}", "Unicode classes"),
    ("\\pL", "Unicode classes"),
    ("\\PN", "Unicode classes"),
    ("[a&&b]", "set operation"),
    ("[a~~b]", "set operation"),
    ("[a--b]", "set operation"),
    ("[[a]b]", "nested class"),
    ("[a[]", "nested class"),
    ("a{1, 2}", "'{' must start a repetition"),
    ("a{01}", "'{' must start a repetition"),
    ("a{,3}", "'{' must start a repetition"),
    ("{", "'{' must start a repetition"),
    ("[a-\\d]", "end of a range"),
    ("[\\w-z]", "end of a range"),
    # one engine only
    ("(?x)a b", "flag 'x'"),
    ("(?u)a", "flag 'u'"),
    ("(?R)a", "flag 'R'"),
    ("\\u0041", "escape \\u"),
    ("\\C", "escape \\C"),
    ("x{2}{3}", "does not compile"),
    ("a**", "does not compile"),
    ("a{1001}", "does not compile"),
    ("\\x{D800}", "does not compile in the vector back end"),
    ("(?i-i)a", "does not compile in the vector back end"),
    ("(?)", "does not compile in the vector back end"),
    ("[z-a]", "does not compile"),
    ("(", "does not compile"),
    ("\\", "does not compile"),
    # resource limits
    ("a" * 501, "too long"),
    (".{1000}" * 2, "too large once compiled"),
    ("(.{1000}){1000}", "does not compile"),
]


@pytest.mark.parametrize(
    ("pattern", "fragment"), REFUSED_PATTERNS, ids=[p[:30] for p, _ in REFUSED_PATTERNS]
)
def test_patterns_the_back_ends_would_read_differently_are_refused(
    pattern: str, fragment: str
) -> None:
    exc = refused(f"matches(s, {_pattern(pattern)})")
    assert isinstance(exc, ExpressionTypeError), f"{type(exc).__name__}: {exc}"
    assert "matches()" in exc.message
    assert fragment in exc.message


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("^\\d{3}-\\d{4}$", "555-1234", True),
        ("\\d", "１２３", False),  # full-width digits: \d is ASCII, as in RE2
        ("\\s", "a\u3000b", False),  # so is \s
        ("[\\s\\x{3000}]", "a\u3000b", True),
        ("^\\w+$", "snake_case_9", True),
        ("\\Aab", "abc", True),
        ("bc\\z", "abc", True),
        ("c$", "abc\n", False),  # $ is the very end (Python's re also matched before a '\n')
        ("(?m)c$", "abc\n", True),
        ("[\\d-]+", "138-0000", True),
        ("(?P<year>[0-9]{4})-(?<month>[0-9]{2})", "2020-01", True),
    ],
)
def test_accepted_patterns_work(pattern: str, text: str, expected: bool) -> None:
    e = compile_expression(f"matches(s, {_pattern(pattern)})", SCHEMA)
    assert e({"s": text}) is expected
    assert pl.DataFrame({"s": [text]}).select(e.to_polars()).item() is expected


def test_text_that_is_not_utf8_does_not_raise() -> None:
    # a lone surrogate cannot reach polars, but a record may carry one
    e = compile_expression("matches(s, '^[a-z]+$')", SCHEMA)
    assert e({"s": "abc\ud800"}) is False
    assert e({"s": "abc"}) is True
