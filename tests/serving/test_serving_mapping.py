"""Partner field mappings: paths, constants, enums, units, computed fields, problems."""

from __future__ import annotations

import pytest

from ruleplus.errors import ExpressionError, StrategyLoadError
from ruleplus.serving.mapping import FieldMapping

DOC = {
    "fields": {
        "applicantId": {"from": "applicant.id"},
        "creditScore": {"from": "bureau.scores.0"},
        "monthlyIncome": {"from": "income.cents", "scale": 0.01},
        "temperatureF": {"from": "weather.c", "scale": 1.8, "offset": 32},
        "channel": {"value": "app"},
        "residentialStatus": {
            "from": "housing",
            "map": {"R": "rent", "O": "own"},
            "default": "family",
        },
        "annualIncome": {"expr": "monthlyIncome * 12"},
    }
}


def test_maps_paths_units_enums_constants_and_expressions() -> None:
    payload = {
        "applicant": {"id": "X1"},
        "bureau": {"scores": [701, 650]},
        "income": {"cents": 520000},
        "weather": {"c": 20},
        "housing": "O",
    }
    out, problems = FieldMapping(DOC).apply(payload)
    assert problems == []
    assert out == {
        "applicantId": "X1",
        "creditScore": 701,
        "monthlyIncome": 5200.0,
        "temperatureF": 68.0,
        "channel": "app",
        "residentialStatus": "own",
        "annualIncome": 62400.0,
    }


def test_missing_values_and_defaults() -> None:
    out, problems = FieldMapping(DOC).apply({"housing": "Z"})
    assert problems == []  # "Z" is not mapped but there is a default
    assert out["residentialStatus"] == "family"
    assert "creditScore" not in out
    assert out["annualIncome"] is None  # computed from a missing field: null


def test_problems_name_the_source_field() -> None:
    doc = {
        "fields": {"status": {"from": "s", "map": {"A": "a"}}, "income": {"from": "i", "scale": 2}}
    }
    _, problems = FieldMapping(doc).apply({"s": "B", "i": "lots"})
    assert [(p.field, p.problem) for p in problems] == [
        ("s", "value is not one of A"),
        ("i", "expected a number to convert"),
    ]


def test_passthrough_keeps_other_fields() -> None:
    out, _ = FieldMapping({"fields": {"a": {"from": "x"}}, "passthrough": True}).apply(
        {"x": 1, "y": 2}
    )
    assert out == {"x": 1, "y": 2, "a": 1}


@pytest.mark.parametrize(
    "bad",
    [
        {"fields": {"a": {"from": "x", "value": 1}}},
        {"fields": {"a": {}}},
        {"fields": {"a": {"from": "x", "bogus": 1}}},
        {"nope": {}},
    ],
)
def test_invalid_documents_are_refused(bad: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(StrategyLoadError, match="invalid field mapping"):
        FieldMapping(bad)


def test_computed_fields_are_checked_expressions() -> None:
    with pytest.raises(ExpressionError):
        FieldMapping({"fields": {"a": {"expr": "__import__('os')"}}})
    with pytest.raises(ExpressionError):
        FieldMapping({"fields": {"a": {"expr": "later + 1"}, "later": {"value": 1}}})
