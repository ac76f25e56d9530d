"""Tests for ruleplus.expr parsing: grammar, literals, decision-table cells and syntax errors."""

from __future__ import annotations

import ast
import datetime as dt
import re
import threading
from typing import Any

import polars as pl
import pytest

from ruleplus.errors import ExpressionSyntaxError, RuleplusError
from ruleplus.expr import (
    SUBJECT,
    Binary,
    Call,
    Compare,
    Field,
    IfElse,
    In,
    IsNull,
    Kind,
    ListExpr,
    Literal,
    Logical,
    Node,
    Not,
    Range,
    RowEmitter,
    Ty,
    Unary,
    VectorEmitter,
    build_function,
    check,
    parse,
    parse_unary_tests,
    polars_dtype,
)


def sexpr(node: Node) -> str:
    """A compact, fully bracketed rendering of a tree, for precedence assertions."""
    if isinstance(node, Literal):
        return repr(node.value)
    if isinstance(node, Field):
        return node.name
    if isinstance(node, Unary):
        return f"({'neg' if node.op == '-' else 'pos'} {sexpr(node.operand)})"
    if isinstance(node, Binary | Compare):
        return f"({node.op} {sexpr(node.left)} {sexpr(node.right)})"
    if isinstance(node, Logical):
        return f"({node.op} {' '.join(sexpr(o) for o in node.operands)})"
    if isinstance(node, Not):
        return f"(not {sexpr(node.operand)})"
    if isinstance(node, IsNull):
        return f"({'is-not-null' if node.negated else 'is-null'} {sexpr(node.operand)})"
    if isinstance(node, ListExpr):
        return "[" + ", ".join(sexpr(i) for i in node.items) + "]"
    if isinstance(node, Range):
        left, right = "[" if node.low_closed else "(", "]" if node.high_closed else ")"
        return f"{left}{sexpr(node.low)}..{sexpr(node.high)}{right}"
    if isinstance(node, In):
        return f"({'not-in' if node.negated else 'in'} {sexpr(node.value)} {sexpr(node.container)})"
    if isinstance(node, IfElse):
        return f"(if {sexpr(node.cond)} {sexpr(node.then)} {sexpr(node.other)})"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(sexpr(a) for a in node.args)})"
    raise AssertionError(f"unexpected node {node!r}")


# --- precedence and associativity ---------------------------------------------------------

PRECEDENCE = [
    # arithmetic
    ("1 + 2 * 3", "(+ 1 (* 2 3))"),
    ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
    ("1 - 2 - 3", "(- (- 1 2) 3)"),
    ("1 - (2 - 3)", "(- 1 (- 2 3))"),
    ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
    ("7 // 2 * 3", "(* (// 7 2) 3)"),
    ("7 % 3 + 1", "(+ (% 7 3) 1)"),
    ("1 + 7 % 3", "(+ 1 (% 7 3))"),
    ("a * b / c // d % e", "(% (// (/ (* a b) c) d) e)"),
    # power: right-associative, binds tighter than unary minus on its left
    ("2 ** 3 ** 2", "(** 2 (** 3 2))"),
    ("2 ^ 3 ^ 2", "(** 2 (** 3 2))"),
    ("2 ** 3 * 4", "(* (** 2 3) 4)"),
    ("-2 ** 2", "(neg (** 2 2))"),
    ("-x ** 2", "(neg (** x 2))"),
    ("2 ** -1", "(** 2 -1)"),
    ("2 ** -x", "(** 2 (neg x))"),
    # unary minus and plus
    ("-x * 2", "(* (neg x) 2)"),
    ("- -x", "(neg (neg x))"),
    ("+x", "(pos x)"),
    ("1 - -2", "(- 1 -2)"),
    ("-5", "-5"),
    ("-(5)", "-5"),
    ("-2.5", "-2.5"),
    # comparison below arithmetic
    ("x + 1 > y * 2", "(> (+ x 1) (* y 2))"),
    ("a = 1", "(== a 1)"),
    ("a == 1", "(== a 1)"),
    ("a != 1", "(!= a 1)"),
    ("a < 1", "(< a 1)"),
    ("a <= 1", "(<= a 1)"),
    ("a > 1", "(> a 1)"),
    ("a >= 1", "(>= a 1)"),
    # logic: not > and > or, flattened chains
    ("a or b and c", "(or a (and b c))"),
    ("a and b or c and d", "(or (and a b) (and c d))"),
    ("a or b or c", "(or a b c)"),
    ("a and b and c", "(and a b c)"),
    ("(a or b) and c", "(and (or a b) c)"),
    ("a or (b or c)", "(or a (or b c))"),
    ("not a and b", "(and (not a) b)"),
    ("not (a and b)", "(not (and a b))"),
    ("not not a", "(not (not a))"),
    ("not a = 1", "(not (== a 1))"),
    ("a = 1 or b != 2", "(or (== a 1) (!= b 2))"),
    ("x < 1 and y >= 2", "(and (< x 1) (>= y 2))"),
    # membership and null tests sit with the comparisons
    ("x in [1, 2] and y not in [3]", "(and (in x [1, 2]) (not-in y [3]))"),
    ("x + 1 in [1..2]", "(in (+ x 1) [1..2])"),
    ("not x in [1]", "(not (in x [1]))"),
    ("x is null or y is not null", "(or (is-null x) (is-not-null y))"),
    ("x + 1 is null", "(is-null (+ x 1))"),
    ("not x is null", "(not (is-null x))"),
    # if/then/else is loosest; the else branch extends to the end
    ("if a then 1 else 2 + 3", "(if a 1 (+ 2 3))"),
    ("if a or b then x else y", "(if (or a b) x y)"),
    ("if a then b else c or d", "(if a b (or c d))"),
    ("if a then if b then 1 else 2 else 3", "(if a (if b 1 2) 3)"),
    ("if a then 1 else if b then 2 else 3", "(if a 1 (if b 2 3))"),
    ("(if a then 1 else 2) + 3", "(+ (if a 1 2) 3)"),
    ("f(if a then 1 else 2)", "f((if a 1 2))"),
    # calls and lists are atoms
    ("min(1, 2) * 3", "(* min(1, 2) 3)"),
    ("max(a + 1, b) ** 2", "(** max((+ a 1), b) 2)"),
    ("[1, 2 + 3]", "[1, (+ 2 3)]"),
    ("f()", "f()"),
    # white space of every kind between tokens
    ("1\t+\n2 *\r\n3", "(+ 1 (* 2 3))"),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE, ids=[t for t, _ in PRECEDENCE])
def test_precedence_and_associativity(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a < b < c",
        "1 < 2 == true",
        "a == b == c",
        "a = b = c",
        "x in [1] in [true]",
        "x is null is null",
        "1 + if a then 1 else 2",
        "a and or b",
        "a or",
        "not",
    ],
)
def test_non_associative_and_misplaced_operators_are_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


# --- literals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        ("3.14", 3.14),
        ("0.5", 0.5),
        ("1e5", 100000.0),
        ("1E-3", 0.001),
        ("2.5e+2", 250.0),
        ("1e-400", 0.0),
        ("-5", -5),
        ("- 5", -5),
        ("-0.25", -0.25),
        ("9223372036854775807", 2**63 - 1),  # int64 max; larger integers are refused
        ("1" + "0" * 30 + ".5", 1e30),
    ],
)
def test_number_literals(text: str, value: float) -> None:
    node = parse(text)
    assert isinstance(node, Literal)
    assert node.value == value
    assert type(node.value) is type(value), "integers stay int, anything with . or e is float"


@pytest.mark.parametrize(
    "text",
    # "١٢" and "৪00" use Arabic-Indic and Bengali digits ("৪" is a four that looks like an 8)
    ["1.", ".5", "1_000", "0x10", "1e", "1e+", "1.2.3", "1,5", "1 000", "١٢", "৪00", "1٢", "１"],
)
def test_malformed_numbers_are_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"abc"', "abc"),
        ("'abc'", "abc"),
        ('""', ""),
        ("''", ""),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"a\nb"', "a\nb"),
        (r'"a\tb"', "a\tb"),
        (r'"a\rb"', "a\rb"),
        (r'"back\\slash"', "back\\slash"),
        (r'"nul\0"', "nul\0"),
        (r'"\u00e9t\u00C9"', "étÉ"),
        ('"é€👍"', "é€👍"),
        ('"1 + 2"', "1 + 2"),
        ('"x and y or not z"', "x and y or not z"),
        ("'__import__(\"os\")'", '__import__("os")'),
    ],
)
def test_string_literals(text: str, value: str) -> None:
    node = parse(text)
    assert isinstance(node, Literal)
    assert node.value == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (r'"\x41"', "unknown escape"),
        (r'"\q"', "unknown escape"),
        (r'"\u12"', "bad \\u escape"),
        (r'"\u12zz"', "bad \\u escape"),
        ('"abc', "unexpected character"),
        ("'abc\"", "unexpected character"),
        ('"a\nb"', "unexpected character"),
    ],
)
def test_bad_string_literals(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    assert fragment in info.value.message
    assert info.value.context["line"] == 1
    assert info.value.context["column"] == 1


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("null", None)])
def test_keyword_literals(text: str, value: bool | None) -> None:
    node = parse(text)
    assert isinstance(node, Literal)
    assert node.value is value


@pytest.mark.parametrize(
    "name",
    [
        "order",
        "notes",
        "iffy",
        "nullable",
        "true_",
        "falsey",
        "island",
        "android",
        "thenable",
        "elsewhere",
        "income",
        "notional",
        "_private_ok",
        "x1",
    ],
)
def test_names_that_start_with_a_keyword_are_fields(name: str) -> None:
    node = parse(f"{name} + 1")
    assert isinstance(node, Binary)
    assert isinstance(node.left, Field)
    assert node.left.name == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("applicant.income", "applicant.income"),
        ("a.b.c", "a.b.c"),
        ("a . b", "a.b"),
        ("bureau.score_v2", "bureau.score_v2"),
    ],
)
def test_dotted_field_names(text: str, name: str) -> None:
    node = parse(text)
    assert isinstance(node, Field)
    assert node.name == name


@pytest.mark.parametrize("text", ["a..b", "a.1", "a.", ".a", "a.(b)"])
def test_malformed_dotted_names_are_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


# --- lists, ranges, membership ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "[]"),
        ("[1]", "[1]"),
        ("[1, 2, 3]", "[1, 2, 3]"),
        ("['a', \"b\"]", "['a', 'b']"),
        ("[x, y + 1, f(z)]", "[x, (+ y 1), f(z)]"),
        ("[[1], []]", "[[1], []]"),
        ("[true, null]", "[True, None]"),
    ],
)
def test_lists(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize("text", ["[1,]", "[,1]", "[1 2]", "[1", "1]"])
def test_malformed_lists(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    ("brackets", "low_closed", "high_closed"),
    [("[]", True, True), ("[)", True, False), ("(]", False, True), ("()", False, False)],
)
def test_ranges_of_all_four_bracket_kinds(
    brackets: str, low_closed: bool, high_closed: bool
) -> None:
    node = parse(f"x in {brackets[0]}1..5{brackets[1]}")
    assert isinstance(node, In)
    assert not node.negated
    rng = node.container
    assert isinstance(rng, Range)
    assert (rng.low_closed, rng.high_closed) == (low_closed, high_closed)
    assert sexpr(rng.low) == "1"
    assert sexpr(rng.high) == "5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x in [a + 1..b * 2)", "(in x [(+ a 1)..(* b 2)))"),
        ("x not in (0..1]", "(not-in x (0..1])"),
        ("x in [1.5..2.5]", "(in x [1.5..2.5])"),
        ("x in [-5..-1]", "(in x [-5..-1])"),
        ("s in ['a'..'m')", "(in s ['a'..'m'))"),
        (
            "d in [date('2020-01-01')..date('2020-12-31')]",
            "(in d [date('2020-01-01')..date('2020-12-31')])",
        ),
        ("x in [1 .. 2]", "(in x [1..2])"),
    ],
)
def test_range_ends_are_expressions(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    "text", ["[1..2]", "(1..2)", "x in [1..]", "x in [..2]", "x in [1..2..3]", "x = [1..2]"]
)
def test_ranges_only_follow_in(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x in [1, 2]", "(in x [1, 2])"),
        ("x not in [1, 2]", "(not-in x [1, 2])"),
        ("x in y", "(in x y)"),
        ("x in (1)", "(in x 1)"),  # parses; the checker asks for a list or a range
        ("x is null", "(is-null x)"),
        ("x is not null", "(is-not-null x)"),
        ("f(x) is not null", "(is-not-null f(x))"),
    ],
)
def test_membership_and_null_tests(text: str, expected: str) -> None:
    assert sexpr(parse(text)) == expected


@pytest.mark.parametrize(
    "text", ["x is", "x is not", "x is 1", "x not", "x not null", "x in", "x not in"]
)
def test_incomplete_membership_and_null_tests(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("if a then 1", "expected 'else'"),
        ("if a 1 else 2", "unexpected '1'"),
        # a keyword where a value is expected is read as a name, so the error comes one token
        # later, but it still says what was expected
        ("if a then else 2", "expected 'else'"),
        ("if then 1 else 2", "'then'"),
    ],
)
def test_incomplete_if(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    assert fragment in info.value.message


def test_positions_point_into_multi_line_text() -> None:
    node = parse("1 +\n  income")
    assert isinstance(node, Binary)
    assert node.right.pos == (2, 3)
    assert node.left.pos == (1, 1)


# --- decision-table cells (unary tests) ---------------------------------------------------


def evaluate_cell(text: str, kind: Kind, values: list[Any]) -> list[Any]:
    """Evaluate a cell on both back ends; assert they agree and return the values."""
    ty = Ty(kind)
    tree = check(parse_unary_tests(text), {SUBJECT: ty}, text)
    namespace: dict[str, Any] = {}
    emitter = RowEmitter(lambda name: ast.Name(id="value", ctx=ast.Load()), namespace)
    row = build_function("cell", ["value"], [ast.Return(value=emitter.emit(tree))], namespace)
    by_row = [row(v) for v in values]
    frame = pl.DataFrame({"v": values}, schema={"v": polars_dtype(ty)})
    out = frame.select(VectorEmitter(lambda name: pl.col("v")).emit(tree).alias("r"))["r"]
    by_vector = out.to_list() * (len(values) if len(out) == 1 else 1)
    assert by_row == by_vector, f"{text}: row {by_row} != vector {by_vector}"
    return by_row


INT, NUM, STR, BOOL, DATE = Kind.INTEGER, Kind.NUMBER, Kind.STRING, Kind.BOOLEAN, Kind.DATE
_D = dt.date

CELLS: list[tuple[str, Kind, list[Any], list[bool | None]]] = [
    (">= 3", INT, [2, 3, 4, None], [False, True, True, None]),
    ("> 3", INT, [3, 4], [False, True]),
    ("<= 3", INT, [3, 4], [True, False]),
    ("< 3", INT, [2, 3], [True, False]),
    ("!= 2", INT, [2, 3, None], [False, True, None]),
    ("= 2", INT, [2, 3], [True, False]),
    ("== 2", INT, [2, 3], [True, False]),
    ("2", INT, [2, 3, None], [True, False, None]),
    ("-3", INT, [-3, 3], [True, False]),
    ("< 0.5", NUM, [0.25, 0.5, None], [True, False, None]),
    ("[740..779]", INT, [739, 740, 779, 780, None], [False, True, True, False, None]),
    ("[740..779)", INT, [740, 779], [True, False]),
    ("(740..779]", INT, [740, 779], [False, True]),
    ("(740..779)", INT, [740, 741, 778, 779], [False, True, True, False]),
    ("[0.1..0.2]", NUM, [0.1, 0.15, 0.2, 0.25], [True, True, True, False]),
    (
        '"own", "mortgage"',
        STR,
        ["own", "mortgage", "rent", "", None],
        [True, True, False, False, None],
    ),
    ("'own'", STR, ["own", "Own"], [True, False]),
    ("[1, 2]", INT, [1, 3, None], [True, False, None]),
    ("not(1, 2)", INT, [1, 2, 3, None], [False, False, True, None]),
    ('not("a")', STR, ["a", "b"], [False, True]),
    ("not([1..5])", INT, [0, 1, 5, 6], [True, False, False, True]),
    ("null", INT, [None, 0], [True, False]),
    ("not(null)", INT, [None, 0], [False, True]),
    ('"a", null', STR, ["a", "b", None], [True, False, True]),
    ("< 5, > 10", INT, [4, 5, 10, 11, None], [True, False, False, True, None]),
    ("1, [5..6], > 100", INT, [1, 2, 5, 101], [True, False, True, True]),
    ("true", BOOL, [True, False, None], [True, False, None]),
    (">= date('2020-01-01')", DATE, [_D(2019, 12, 31), _D(2020, 1, 1)], [False, True]),
    (
        "[date('2020-01-01')..date('2020-12-31')]",
        DATE,
        [_D(2020, 6, 1), _D(2021, 1, 1)],
        [True, False],
    ),
]


@pytest.mark.parametrize(("text", "kind", "values", "expected"), CELLS, ids=[c[0] for c in CELLS])
def test_unary_tests(text: str, kind: Kind, values: list[Any], expected: list[Any]) -> None:
    assert evaluate_cell(text, kind, values) == expected


def test_unary_tests_use_the_subject_placeholder() -> None:
    node = parse_unary_tests("[740..779]")
    assert isinstance(node, In)
    assert isinstance(node.value, Field)
    assert node.value.name == SUBJECT
    assert isinstance(node.container, Range)
    node = parse_unary_tests(">= 3")
    assert isinstance(node, Compare)
    assert (node.op, sexpr(node.left), sexpr(node.right)) == (">=", SUBJECT, "3")
    node = parse_unary_tests("null")
    assert isinstance(node, IsNull)
    assert not node.negated


def test_unary_tests_may_compare_with_other_fields() -> None:
    node = parse_unary_tests("> limit * 2")
    assert sexpr(node) == f"(> {SUBJECT} (* limit 2))"


@pytest.mark.parametrize(
    "text", ["", "   ", "<", "< 1 and > 0", "not 1", "1 +", ">= ", "not(", "[1..", "1,", ",1"]
)
def test_bad_unary_tests(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_unary_tests(text)


def test_placeholder_is_not_expression_syntax() -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(f"{SUBJECT} > 1")


# --- syntax errors ------------------------------------------------------------------------

SYNTAX_ERRORS = [
    # text, line, column, fragment of the message
    ("1 +", 1, 3, "unexpected end of expression"),
    ("(1", 1, 2, "expected ')'"),
    ("if a then 1", 1, 11, "expected 'else'"),
    ("a\n+\n@", 3, 1, "unexpected character '@'"),
    ("x ! = 1", 1, 3, "unexpected character '!'"),
    ("a < b < c", 1, 7, "unexpected '<'"),
    ("1 2", 1, 3, "unexpected '2'"),
    ("f(1,)", 1, 5, "unexpected ')'"),
    ("x in [1..]", 1, 10, "unexpected ']'"),
    ("a and\n  b or\n  c ==", 3, 5, "unexpected end of expression"),
    ("income > 1000 and\n   dti >> 0.4", 2, 9, "unexpected '>'"),
    ("lambda: 1", 1, 7, "unexpected character ':'"),
    ("x; y", 1, 2, "unexpected character ';'"),
    ('1 +\n "\\q"', 2, 2, "unknown escape"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"), SYNTAX_ERRORS, ids=[e[0] for e in SYNTAX_ERRORS]
)
def test_syntax_errors_carry_position_and_a_helpful_message(
    text: str, line: int, column: int, fragment: str
) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    error = info.value
    assert fragment in error.message
    assert (error.context["line"], error.context["column"]) == (line, column)
    assert error.context["expression"] == text
    details = error.to_dict()
    assert details["type"] == "ExpressionSyntaxError"
    assert (details["line"], details["column"]) == (line, column)
    assert f"line={line}" in str(error)


def test_syntax_error_shows_the_offending_line_with_a_caret() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse("score >= 600 and\n  income >> 1000")
    lines = info.value.message.splitlines()
    assert lines[0].startswith("unexpected '>'")
    assert "income >> 1000" in lines[1]
    caret = lines[2]
    assert caret.strip() == "^"
    assert lines[1][caret.index("^")] == ">"


def test_syntax_error_lists_what_was_expected() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse("income >")
    message = info.value.message
    for thing in ("a number", "a string", "a field or function name", "'('", "'['"):
        assert thing in message


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_expression(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="empty"):
        parse(text)


@pytest.mark.parametrize("value", [None, 123, b"x > 1", ["x"]])
def test_non_text_is_refused(value: Any) -> None:
    with pytest.raises(ExpressionSyntaxError, match="must be text"):
        parse(value)
    with pytest.raises(ExpressionSyntaxError, match="must be text"):
        parse_unary_tests(value)


def test_every_parse_error_is_a_ruleplus_error() -> None:
    assert issubclass(ExpressionSyntaxError, RuleplusError)


def test_parsing_is_thread_safe() -> None:
    cases = [(t, e) for t, e in PRECEDENCE[:20]]
    failures: list[str] = []

    def work(offset: int) -> None:
        for i in range(150):
            text, expected = cases[(i + offset) % len(cases)]
            got = sexpr(parse(text))
            if got != expected:
                failures.append(f"{text}: {got}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_a_failed_parse_does_not_poison_the_next() -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse("(" * 60 + "1")
    assert sexpr(parse("1 + 2")) == "(+ 1 2)"


def test_keywords_are_exactly_the_grammars_words() -> None:
    from importlib import resources

    from ruleplus.expr import KEYWORDS

    grammar = resources.files("ruleplus.expr").joinpath("grammar.lark").read_text("utf-8")
    rules = "\n".join(line.split("//")[0] for line in grammar.splitlines())
    words = set(re.findall(r'"([a-z]+)"', rules))
    assert words == set(KEYWORDS)
    for word in KEYWORDS:  # a keyword never reads as a field; quoted, it does
        try:
            tree = parse(f"x == {word}")
        except ExpressionSyntaxError:
            tree = None
        assert not (isinstance(tree, Compare) and isinstance(tree.right, Field))
        quoted = parse(f"x == `{word}`")
        assert isinstance(quoted, Compare) and isinstance(quoted.right, Field)
        assert quoted.right.name == word
