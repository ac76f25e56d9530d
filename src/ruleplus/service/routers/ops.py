"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ruleplus.service.auth import state_of

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the writer runs")
def readyz(request: Request) -> Any:
    state = state_of(request)
    checks = {"database": "ok", "writer": "ok"}
    try:
        with state.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        checks["database"] = type(exc).__name__
    if state.writer._thread is None or not state.writer._thread.is_alive():
        checks["writer"] = "stopped"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not-ready", **checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(state_of(request).metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
