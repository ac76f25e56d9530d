"""ID-number and bank-card functions: the same answers on both back ends."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ruleplus.errors import ExpressionTypeError
from ruleplus.expr import Kind, Ty, compile_expression

SCHEMA = {"id": Ty(Kind.STRING), "card": Ty(Kind.STRING), "on": Ty(Kind.DATE)}
ROWS = [
    {"id": "11010519491231002X", "card": "4111 1111 1111 1111", "on": dt.date(2026, 1, 1)},
    {"id": "110105194912310021", "card": "4111111111111112", "on": dt.date(2026, 1, 1)},
    {"id": "440524188001010014", "card": "6212262201023557228", "on": dt.date(1990, 6, 1)},
    {"id": "not a number", "card": "abc", "on": None},
    {"id": None, "card": None, "on": dt.date(2026, 1, 1)},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id_valid(id)", [True, False, True, False, None]),
        ("id_age(id, on)", [76, None, 110, None, None]),
        ("id_gender(id)", ["female", None, "male", None, None]),
        ("id_province(id)", ["北京", None, "广东", None, None]),
        ("luhn_valid(card)", [True, False, True, False, None]),
        ("if id_valid(id) then id_age(id, on) < 18 else true", [False, True, False, True, True]),
    ],
)
def test_row_and_vector_agree(text: str, expected: list[object]) -> None:
    expression = compile_expression(text, SCHEMA)
    assert [expression(r) for r in ROWS] == expected
    frame = pl.DataFrame(ROWS, schema={"id": pl.String, "card": pl.String, "on": pl.Date})
    assert frame.select(expression.to_polars().alias("x"))["x"].to_list() == expected


def test_arguments_are_type_checked() -> None:
    with pytest.raises(ExpressionTypeError, match="string"):
        compile_expression("id_valid(on)", SCHEMA)
    with pytest.raises(ExpressionTypeError, match="date"):
        compile_expression("id_age(id, id)", SCHEMA)
