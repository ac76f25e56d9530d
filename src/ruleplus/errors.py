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
    │   ├── StrategyCompileError    cycles, unreachable nodes, bad references, bad expressions
    │   ├── ArtifactError           a sub-strategy or model reference is refused or unreadable
    │   └── ParameterError          a parameter override is unknown, mistyped or out of range
    ├── InputValidationError        one record failed the input schema (lists every bad field)
    ├── EvaluationError             a node failed while evaluating one record
    ├── DataError                   a data file cannot be read or written
    ├── NotFittedError              an estimator was used before ``fit``
    ├── NotFoundError               no such object for this partner (HTTP 404)
    ├── ConflictError               invalid status change, reused idempotency key (HTTP 409)
    ├── AuthenticationError         missing, unknown or revoked API key (HTTP 401)
    ├── RateLimitedError            too many requests (HTTP 429)
    ├── ServiceUnavailableError     a capability is not installed here (HTTP 503)
    └── IdentityError               an image, face, template or challenge was refused; its
                                    ``code`` (see ERROR_CODES) gives the HTTP status

Each class carries its HTTP status, problem type and title (``http_status``, ``problem_type``,
``title``); the service's one handler reads them, so a new error needs no new mapping. Messages
never contain secrets, image bytes or face templates, only sizes, counts and codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ERROR_CODES",
    "ArtifactError",
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "DataError",
    "EvaluationError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "FieldProblem",
    "IdentityError",
    "InputValidationError",
    "NotFittedError",
    "NotFoundError",
    "ParameterError",
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

    http_status = 400
    problem_type = "bad-request"
    title = "Bad request"

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

    http_status = 422
    problem_type = "invalid-expression"
    title = "Unprocessable content"


class ExpressionSyntaxError(ExpressionError):
    """An expression does not parse."""


class UnsafeExpressionError(ExpressionError):
    """An expression uses something outside the allow-list (or is too large or deep)."""


class ExpressionTypeError(ExpressionError):
    """An expression refers to an unknown field or combines values of the wrong types."""


class StrategyError(RuleplusError):
    """A strategy document is invalid."""

    http_status = 422
    problem_type = "invalid-strategy"
    title = "Unprocessable content"


class StrategyLoadError(StrategyError):
    """A strategy document does not match the strategy schema."""


class StrategyCompileError(StrategyError):
    """A strategy is well-formed but cannot be compiled (cycle, bad reference, bad expression)."""


class ArtifactError(StrategyError):
    """A reference cannot be resolved: refused, missing, unreadable or corrupt.

    Nodes re-raise it as a :class:`StrategyCompileError` naming the node, the field and the
    line; the message reads as a sentence about the reference.
    """


class ParameterError(StrategyError):
    """A parameter override does not fit the strategy's declaration; the context names the
    parameter (``field``) and the strategy."""

    problem_type = "invalid-parameter"


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

    def to_dict(self) -> dict[str, str]:
        """The JSON form every interface uses: ``{"field": ..., "problem": ...}``."""
        return {"field": self.field, "problem": self.problem}


class InputValidationError(RuleplusError):
    """An input record does not match the strategy's input schema.

    Parameters
    ----------
    problems : list of FieldProblem
        Every bad field, not just the first.
    **context : Any
        Strategy id and version.
    """

    http_status = 422
    problem_type = "invalid-input"
    title = "Unprocessable content"

    def __init__(self, problems: list[FieldProblem], **context: Any) -> None:
        self.problems = list(problems)
        listing = "; ".join(str(p) for p in self.problems)
        super().__init__(f"invalid input: {listing}", **context)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["fields"] = [p.to_dict() for p in self.problems]
        return out


class EvaluationError(RuleplusError):
    """A node failed while evaluating one record."""

    http_status = 500
    problem_type = "evaluation-failed"
    title = "Evaluation failed"


class DataError(RuleplusError):
    """A data file cannot be read or written."""

    http_status = 422
    problem_type = "invalid-data"
    title = "Unprocessable content"


class NotFittedError(RuleplusError, ValueError, AttributeError):
    """An estimator was used before ``fit``; call ``fit`` first.

    The estimators of :mod:`ruleplus.modeling` raise a subclass that is also scikit-learn's
    ``NotFittedError`` (importing scikit-learn here would add seconds to ``import ruleplus``).
    """


class NotFoundError(RuleplusError):
    """The requested object does not exist (or belongs to another partner)."""

    http_status = 404
    problem_type = "not-found"
    title = "Not found"


class ConflictError(RuleplusError):
    """The request conflicts with the current state (an invalid status change, a reused key)."""

    http_status = 409
    problem_type = "conflict"
    title = "Conflict"


class AuthenticationError(RuleplusError):
    """A missing, unknown or revoked API key."""

    http_status = 401
    problem_type = "unauthorized"
    title = "Unauthorized"


class ServiceUnavailableError(RuleplusError):
    """A capability is not available in this deployment (e.g. face models not installed)."""

    http_status = 503
    problem_type = "unavailable"
    title = "Unavailable"


class RateLimitedError(RuleplusError):
    """Too many requests for this partner; retry after the given number of seconds."""

    http_status = 429
    problem_type = "rate-limited"
    title = "Too many requests"


#: Every code an :class:`IdentityError` can carry, with the HTTP status it maps to.
ERROR_CODES: dict[str, int] = {
    "image_invalid": 400,  # not an image, or a format we do not decode
    "image_truncated": 400,  # the file ends before the image does
    "image_too_large": 413,  # too many bytes, too many pixels, or a decompression bomb
    "image_too_small": 400,  # fewer pixels than a face needs
    "no_face": 422,  # no face was found
    "multiple_faces": 422,  # more than one face where one is expected
    "low_quality": 422,  # a quality check failed and the caller asked to enforce quality
    "model_missing": 503,  # a model file is not installed
    "model_invalid": 500,  # a model file does not match its checksum or shape
    "template_invalid": 400,  # a template has the wrong size or cannot be decrypted
    "not_found": 404,  # no such template or subject
    "challenge_invalid": 400,  # signature, format or tenant of a challenge is wrong
    "challenge_expired": 410,  # the challenge is past its expiry
    "challenge_replayed": 409,  # the challenge was already used
    "frames_invalid": 400,  # wrong number or kind of frames for a challenge
    "download_failed": 502,  # a model download failed
    "checksum_mismatch": 502,  # a downloaded or copied file has the wrong sha256
}


class IdentityError(RuleplusError):
    """An identity operation was refused; ``code`` says why.

    Parameters
    ----------
    code : str
        One of :data:`ERROR_CODES`.
    message : str
        What went wrong and what to do; never contains image data or templates.
    **context : Any
        Sizes, counts, file names, tenant…
    """

    def __init__(self, code: str, message: str, **context: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown identity error code {code!r}")
        self.code = code
        self.http_status = ERROR_CODES[code]  # the status and problem type come from the code
        self.problem_type = code.replace("_", "-")
        self.title = code.replace("_", " ").capitalize()
        super().__init__(message, code=code, **context)
