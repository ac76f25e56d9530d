"""Strategy lab endpoints (``X-Admin-Key``): champion/challenger analysis, outcome joining,
and the background job behind the drift gauges.

The drift job reads stored decisions in a worker thread every few minutes and sets the
``ruleplus_input_psi`` gauges; the decision path never waits for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ruleplus.errors import DataError
from ruleplus.lab import compare_deployment, stored_drift
from ruleplus.service.auth import require_admin, state_of
from ruleplus.service.state import ServiceState
from ruleplus.serving.outcomes import attach_outcomes, parse_outcome

__all__ = ["DRIFT_FIRST_S", "DRIFT_INTERVAL_S", "drift_loop", "refresh_drift", "router"]

log = logging.getLogger("ruleplus.lab")
router = APIRouter(prefix="/v1/admin/lab", tags=["lab"])
Admin = Annotated[str, Depends(require_admin)]

#: Seconds after start-up before the first drift computation, and between two.
DRIFT_FIRST_S = 30.0
DRIFT_INTERVAL_S = 300.0
MAX_OUTCOMES = 10_000


class OutcomeIn(BaseModel):
    decision_id: str | None = Field(None, max_length=40)
    application_id: str | None = Field(None, max_length=200)
    partner_id: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=80, description="e.g. bad_90dpd_12m")
    value: float | bool = Field(description="1 = bad, 0 = good")
    observed_at: dt.datetime | None = None


class OutcomesIn(BaseModel):
    name: str | None = Field(None, max_length=80, description="default name of the outcomes")
    partner_id: str | None = Field(None, max_length=40, description="default partner")
    outcomes: list[OutcomeIn] = Field(max_length=MAX_OUTCOMES)


def _when(text: str | None, name: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"{name} must be an ISO date or date-time", field=name) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@router.get("/compare", summary="Champion against challengers on a deployment's decisions")
def compare(
    request: Request,
    actor: Admin,
    deployment_id: Annotated[int, Query(ge=1, le=2**63 - 1, description="the deployment")],
    outcome: Annotated[str | None, Query(max_length=80)] = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    return compare_deployment(
        state_of(request).database,
        deployment_id,
        outcome=outcome,
        since=_when(since, "since"),
        until=_when(until, "until"),
    )


@router.post("/outcomes", summary="Attach outcomes to past decisions (idempotent, audited)")
def outcomes(body: OutcomesIn, request: Request, actor: Admin) -> dict[str, Any]:
    records = [
        parse_outcome(
            item.model_dump(exclude_none=True), k, name=body.name, partner_id=body.partner_id
        )
        for k, item in enumerate(body.outcomes, start=1)
    ]
    return attach_outcomes(state_of(request).database, records, actor)


def refresh_drift(state: ServiceState, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Compute the drift of every strategy's stored inputs and set the gauges (blocking)."""
    points = stored_drift(state.database, now=now)
    state.metrics.set_drift(points)
    return points


async def drift_loop(state: ServiceState, first: float | None = None) -> None:
    """Refresh the drift gauges in a worker thread, forever (cancelled at shutdown)."""
    await asyncio.sleep(DRIFT_FIRST_S if first is None else first)
    while True:
        try:
            await asyncio.to_thread(refresh_drift, state)
        except ImportError as exc:  # the index is the model factory's (the ml extra)
            log.info("drift gauges are off: %s (install ruleplus[ml])", exc)
            return
        except Exception:  # a failed refresh keeps the last gauges; the next one retries
            log.warning("drift refresh failed", exc_info=True)
        await asyncio.sleep(DRIFT_INTERVAL_S)
