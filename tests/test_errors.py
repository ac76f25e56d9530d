"""The error hierarchy carries its context and renders it."""

from __future__ import annotations

from ruleplus.errors import (
    ExpressionError,
    FieldProblem,
    InputValidationError,
    NotFittedError,
    RuleplusError,
    StrategyCompileError,
    StrategyError,
    UnsafeExpressionError,
)


def test_hierarchy() -> None:
    assert issubclass(UnsafeExpressionError, ExpressionError)
    assert issubclass(StrategyCompileError, StrategyError)
    assert issubclass(NotFittedError, RuleplusError)
    assert issubclass(NotFittedError, ValueError)


def test_context_rendering_and_dict() -> None:
    exc = StrategyCompileError("unknown field 'x'", strategy="s", node="n1", line=4, field=None)
    assert str(exc) == "unknown field 'x' [strategy=s, node=n1, line=4]"
    assert exc.to_dict() == {
        "type": "StrategyCompileError",
        "message": "unknown field 'x'",
        "strategy": "s",
        "node": "n1",
        "line": 4,
    }


def test_input_validation_lists_every_field() -> None:
    exc = InputValidationError(
        [FieldProblem("a", "is required"), FieldProblem("b", "must be >= 0")]
    )
    assert "a: is required; b: must be >= 0" in str(exc)
    assert exc.to_dict()["fields"] == [
        {"field": "a", "problem": "is required"},
        {"field": "b", "problem": "must be >= 0"},
    ]
