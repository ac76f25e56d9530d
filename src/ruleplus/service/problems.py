"""Errors as RFC 9457 ``application/problem+json``; every ruleplus error maps to one status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError as SQLAlchemyDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ruleplus.errors import (
    AuthenticationError,
    ConflictError,
    DataError,
    EvaluationError,
    ExpressionError,
    InputValidationError,
    NotFoundError,
    RateLimitedError,
    RuleplusError,
    ServiceUnavailableError,
    StrategyError,
)

__all__ = ["error_response", "install_problem_handlers", "problem"]

PROBLEM = "application/problem+json"

_STATUS: list[tuple[type[RuleplusError], int, str]] = [
    (AuthenticationError, 401, "unauthorized"),
    (NotFoundError, 404, "not-found"),
    (ConflictError, 409, "conflict"),
    (RateLimitedError, 429, "rate-limited"),
    (InputValidationError, 422, "invalid-input"),
    (StrategyError, 422, "invalid-strategy"),
    (ExpressionError, 422, "invalid-expression"),
    (DataError, 422, "invalid-data"),
    (EvaluationError, 500, "evaluation-failed"),
    (ServiceUnavailableError, 503, "unavailable"),
]


def problem(
    status: int, kind: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://ruleplus.dev/problems/{kind}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _ruleplus_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleplusError)
    return error_response(exc)


def error_response(exc: RuleplusError) -> JSONResponse:
    """The problem+json answer for a ruleplus error (its status comes from its class)."""
    status, kind = next(
        ((s, k) for cls, s, k in _STATUS if isinstance(exc, cls)), (400, "bad-request")
    )
    code = getattr(exc, "code", None)
    if isinstance(code, str) and isinstance(getattr(exc, "http_status", None), int):
        status, kind = exc.http_status, code.replace("_", "-")  # type: ignore[attr-defined]
    extra = {
        k: v
        for k, v in exc.context.items()
        if k
        in (
            "strategy",
            "version",
            "node",
            "field",
            "line",
            "decision",
            "product",
            "channel",
            "status",
            "action",
            "retry_after",
        )
    }
    if isinstance(code, str):
        extra["code"] = code
    if "status" in extra:  # the object's status, not the HTTP status
        extra["current_status"] = extra.pop("status")
    if isinstance(exc, InputValidationError):
        extra["errors"] = [{"field": p.field, "problem": p.problem} for p in exc.problems]
    title = {
        401: "Unauthorized",
        404: "Not found",
        409: "Conflict",
        422: "Unprocessable content",
        429: "Too many requests",
        503: "Unavailable",
        500: "Evaluation failed",
    }.get(status, "Bad request")
    return problem(status, kind, title, exc.message, **extra)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
            "problem": e.get("msg", ""),
        }
        for e in exc.errors()
    ]
    return problem(
        422,
        "invalid-request",
        "Unprocessable content",
        "the request does not match the API",
        errors=errors,
    )


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.detail, dict) and "code" in exc.detail:  # identity errors carry a code
        code = str(exc.detail["code"])
        return problem(
            exc.status_code,
            code.replace("_", "-"),
            code.replace("_", " ").capitalize(),
            str(exc.detail.get("message", "")),
            code=code,
        )
    kinds = {
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
    }
    return problem(exc.status_code, kinds.get(exc.status_code, "http-error"), str(exc.detail))


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    return problem(
        500,
        "internal-error",
        "Internal server error",
        "an unexpected error occurred; it was logged",
    )


def _unstorable(_: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL refuses a value that does not fit its column (too long, out of range, a NUL
    # character in text): the request's data is at fault, not the server. No SQL is echoed.
    return problem(
        422,
        "invalid-data",
        "Unprocessable content",
        "a value cannot be stored: too long, out of range, or containing a NUL character",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RuleplusError, _ruleplus_error)
    app.add_exception_handler(SQLAlchemyDataError, _unstorable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
