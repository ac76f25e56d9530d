"""The FastAPI application: the gate (authentication, limits), routers, problem+json errors,
access logs."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ruleplus.service.console import mount_console
from ruleplus.service.gate import Gate, Refusal
from ruleplus.service.identity import mount_identity
from ruleplus.service.problems import install_problem_handlers
from ruleplus.service.routers import admin, collections, decisions, lab, offers, ops
from ruleplus.service.state import ServiceConfig, ServiceState, gate_limits

__all__ = ["create_app"]

log = logging.getLogger("ruleplus.access")
Scope = MutableMapping[str, Any]


class AccessLog:
    """Count responses by route and status, and log each request (allow-listed fields only).

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``)
    costs a task group and a memory stream per request, a large share of a decision's time.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            record(
                getattr(scope["app"].state, "ruleplus", None),
                scope.get("method"),
                getattr(scope.get("route"), "path", "unmatched"),
                status,
                started,
                scope.get("state") or {},
            )


def record(
    state: Any, method: Any, path: str, status: int, started: float, request_state: Any
) -> None:
    """Count a response and log it (allow-listed fields only)."""
    if state is not None:
        state.metrics.responded(path, status)
    if log.isEnabledFor(logging.INFO):
        log.info(
            "request",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 3),
                "partner": request_state.get("partner_id"),
                "decision": request_state.get("decision_id"),
            },
        )


def _quiet_gc() -> None:
    """Keep the cyclic garbage collector from stalling the service.

    With the default thresholds, the objects of requests in flight survive young collections,
    are promoted, and trigger a full collection about every second that walks every object of
    the process (frameworks, compiled strategies, ...): ~100 ms during which no request moves,
    the whole of the p99 at service rates. Freezing what exists after start-up takes it out
    of every later collection, and a larger first threshold promotes far fewer short-lived
    request objects. Reference counting still frees almost everything at once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


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
        mount_identity(app, built, enabled=built.config.identity)
        thresholds = gc.get_threshold()
        _quiet_gc()
        drift = asyncio.create_task(lab.drift_loop(built))  # the PSI gauges, off the hot path
        # compile what is deployed before partners ask for it (in the pool: off the loop)
        warming = asyncio.get_running_loop().run_in_executor(built.pool, built.decisions.warm)
        try:
            yield
        finally:
            drift.cancel()
            await asyncio.wait([warming])
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            close = getattr(built.limiter, "close", None)
            if close is not None:
                await close()
            built.close()

    app = _Service(
        title="ruleplus",
        version="0.1.0",
        lifespan=lifespan,
        description="Consumer-finance risk decisions: partners send applications, get decisions.",
    )
    install_problem_handlers(app)
    app.include_router(decisions.router)
    app.include_router(offers.router)
    app.include_router(admin.router)
    app.include_router(lab.router)
    app.include_router(collections.router)
    app.include_router(ops.router)
    mount_console(app)  # /console (the web app) and /console/api (its session-cookie API)

    # outermost the access log (it also counts what the gate refuses), then the gate
    app.gate = Gate(app.inner, gate_limits(config), fast=decisions.decide_in_gate)
    app.front = AccessLog(app.gate)
    return app


class _Service(FastAPI):
    """FastAPI behind the access log and the gate, which wrap the whole app rather than sit in
    its middleware stack: a decision that the gate answers itself never passes through
    Starlette's and FastAPI's own layers (error, telemetry and body-limit middleware, about a
    tenth of a decision's CPU). Unexpected errors on that path are answered by the gate."""

    front: Any = None
    gate: Gate | None = None

    def screen(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], request_state: Any
    ) -> Refusal | None:
        """The gate's refusal of a request from its headers alone, counted and logged as the
        access log would (see :meth:`Gate.screen`); the HTTP protocol asks before it starts
        the request."""
        state = getattr(self.state, "ruleplus", None)
        if self.gate is None or state is None:
            return None
        started = time.perf_counter()
        refusal = self.gate.screen(state, path, headers, request_state)
        if refusal is not None:
            record(state, method, "unmatched", refusal.status, started, request_state)
        return refusal

    async def inner(self, scope: Scope, receive: Any, send: Any) -> None:
        """The app itself: FastAPI's middleware stack and routes."""
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.front is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await self.front(scope, receive, send)
