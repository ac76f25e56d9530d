"""Errors as RFC 9457 ``application/problem+json``; every ruleplus error maps to one status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError as SQLAlchemyDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ruleplus.errors import InputValidationError, RuleplusError

__all__ = ["any_error_response", "error_response", "install_problem_handlers", "problem"]

PROBLEM = "application/problem+json"
log = logging.getLogger("ruleplus.service")

#: Context keys a client may see (others, such as file paths, stay in the logs).
_PUBLIC_CONTEXT = (
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
    """The problem+json answer for a ruleplus error: status, type and title from its class."""
    extra = {k: v for k, v in exc.context.items() if k in _PUBLIC_CONTEXT}
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        extra["code"] = code
    if "status" in extra:  # the object's status, not the HTTP status
        extra["current_status"] = extra.pop("status")
    if isinstance(exc, InputValidationError):
        extra["errors"] = [p.to_dict() for p in exc.problems]
    return problem(exc.http_status, exc.problem_type, exc.title, exc.message, **extra)


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


def any_error_response(exc: Exception) -> JSONResponse:
    """The answer for any error raised where FastAPI's handlers do not reach (the gate, which
    wraps the app): the same status and body as those handlers give. Unexpected errors are
    logged with their traceback, as the server would have logged them."""
    if isinstance(exc, RuleplusError):
        return error_response(exc)
    if isinstance(exc, SQLAlchemyDataError):
        return _unstorable(None, exc)  # type: ignore[arg-type]
    log.error("unexpected error answering a request", exc_info=exc)
    return _unexpected(None, exc)  # type: ignore[arg-type]


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RuleplusError, _ruleplus_error)
    app.add_exception_handler(SQLAlchemyDataError, _unstorable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
