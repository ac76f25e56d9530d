"""The FastAPI application: routers, problem+json errors, body-size limit, access logs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from ruleplus.service.problems import install_problem_handlers, problem
from ruleplus.service.routers import admin, decisions, ops
from ruleplus.service.state import ServiceConfig, ServiceState

__all__ = ["create_app"]

log = logging.getLogger("ruleplus.access")
Scope = MutableMapping[str, Any]


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by header and while streaming.

    Management uploads (strategy documents) may be larger: at least ``ADMIN_LIMIT`` bytes.
    """

    ADMIN_LIMIT = 8 << 20

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.partner_limit = limit

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.partner_limit
        if str(scope.get("path", "")).startswith("/v1/admin/"):
            limit = max(limit, self.ADMIN_LIMIT)
        too_large = problem(
            413, "too-large", "Content too large", f"the body is over {limit} bytes"
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await too_large(scope, receive, send)
                return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLargeError:
            await too_large(scope, receive, send)


class _TooLargeError(Exception):
    pass


def create_app(config: ServiceConfig | None = None, state: ServiceState | None = None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    config : ServiceConfig, optional
        Settings (default: from the environment).
    state : ServiceState, optional
        A pre-built state (tests); otherwise built at startup.
    """
    config = config or (state.config if state else ServiceConfig.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = state or ServiceState.build(config)
        app.state.ruleplus = built
        try:
            yield
        finally:
            built.close()

    app = FastAPI(
        title="ruleplus",
        version="0.1.0",
        lifespan=lifespan,
        description="Consumer-finance risk decisions: partners send applications, get decisions.",
    )
    install_problem_handlers(app)
    app.include_router(decisions.router)
    app.include_router(admin.router)
    app.include_router(ops.router)

    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        ruleplus_state = getattr(request.app.state, "ruleplus", None)
        if ruleplus_state is not None:
            ruleplus_state.metrics.responses.labels(path, str(response.status_code)).inc()
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                    "partner": getattr(request.state, "partner_id", None),
                    "decision": getattr(request.state, "decision_id", None),
                },
            )
        return response

    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    return app
