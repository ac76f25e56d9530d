"""One hierarchy for every error ruleplus raises.

Every error carries its context (strategy id and version, node, field path, expression,
file and line) and a message that says what to do::

    RuleplusError
    ├── ConfigError                 a setting is missing or malformed (names the key)
    ├── ExpressionError             an expression cannot be compiled (names the expression)
    │   ├── ExpressionSyntaxError   it does not parse (with line and column)
    │   ├── UnsafeExpressionError   it uses something outside the allow-list
    │   └── ExpressionTypeError     unknown field, wrong operand or argument type
    ├── StrategyError               a strategy document is invalid (file, line, node, field)
    │   ├── StrategyLoadError       the document does not match the strategy schema
    │   └── StrategyCompileError    cycles, unreachable nodes, bad references, bad expressions
    ├── InputValidationError        one record failed the input schema (lists every bad field)
    ├── EvaluationError             a node failed while evaluating one record
    ├── DataError                   a data file cannot be read or written
    ├── NotFittedError              an estimator was used before ``fit``
    ├── NotFoundError               no such object for this partner (HTTP 404)
    ├── ConflictError               invalid status change, reused idempotency key (HTTP 409)
    ├── AuthenticationError         missing, unknown or revoked API key (HTTP 401)
    ├── RateLimitedError            too many requests (HTTP 429)
    └── ServiceUnavailableError     a capability is not installed here (HTTP 503)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "DataError",
    "EvaluationError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "FieldProblem",
    "InputValidationError",
    "NotFittedError",
    "NotFoundError",
    "RateLimitedError",
    "RuleplusError",
    "ServiceUnavailableError",
    "StrategyCompileError",
    "StrategyError",
    "StrategyLoadError",
    "UnsafeExpressionError",
]


class RuleplusError(Exception):
    """Base class of every error raised by ruleplus.

    Parameters
    ----------
    message : str
        What went wrong and what to do about it.
    **context : Any
        Where it went wrong (``strategy``, ``version``, ``node``, ``field``, ``file``, ``line``…).
        ``None`` values are dropped.
    """

    def __init__(self, message: str, **context: Any) -> None:
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.context:
            return self.message
        where = ", ".join(f"{k}={v}" for k, v in self.context.items())
        return f"{self.message} [{where}]"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly description (``type``, ``message`` and the context)."""
        return {"type": type(self).__name__, "message": self.message, **self.context}


class ConfigError(RuleplusError):
    """A setting is missing or malformed; the context names the key."""


class ExpressionError(RuleplusError):
    """An expression cannot be compiled."""


class ExpressionSyntaxError(ExpressionError):
    """An expression does not parse."""


class UnsafeExpressionError(ExpressionError):
    """An expression uses something outside the allow-list (or is too large or deep)."""


class ExpressionTypeError(ExpressionError):
    """An expression refers to an unknown field or combines values of the wrong types."""


class StrategyError(RuleplusError):
    """A strategy document is invalid."""


class StrategyLoadError(StrategyError):
    """A strategy document does not match the strategy schema."""


class StrategyCompileError(StrategyError):
    """A strategy is well-formed but cannot be compiled (cycle, bad reference, bad expression)."""


@dataclass(frozen=True)
class FieldProblem:
    """One bad field of an input record.

    Parameters
    ----------
    field : str
        The field path, e.g. ``applicant.income``.
    problem : str
        What is wrong and what was expected.
    """

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class InputValidationError(RuleplusError):
    """An input record does not match the strategy's input schema.

    Parameters
    ----------
    problems : list of FieldProblem
        Every bad field, not just the first.
    **context : Any
        Strategy id and version.
    """

    def __init__(self, problems: list[FieldProblem], **context: Any) -> None:
        self.problems = list(problems)
        listing = "; ".join(str(p) for p in self.problems)
        super().__init__(f"invalid input: {listing}", **context)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["fields"] = [{"field": p.field, "problem": p.problem} for p in self.problems]
        return out


class EvaluationError(RuleplusError):
    """A node failed while evaluating one record."""


class DataError(RuleplusError):
    """A data file cannot be read or written."""


class NotFittedError(RuleplusError, ValueError, AttributeError):
    """An estimator was used before ``fit``; call ``fit`` first."""


class NotFoundError(RuleplusError):
    """The requested object does not exist (or belongs to another partner)."""


class ConflictError(RuleplusError):
    """The request conflicts with the current state (an invalid status change, a reused key)."""


class AuthenticationError(RuleplusError):
    """A missing, unknown or revoked API key."""


class ServiceUnavailableError(RuleplusError):
    """A capability is not available in this deployment (e.g. face models not installed)."""


class RateLimitedError(RuleplusError):
    """Too many requests for this partner; retry after the given number of seconds."""
