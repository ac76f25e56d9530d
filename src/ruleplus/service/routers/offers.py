"""Partner endpoints for offers: a stored decision's schedule, and quotes without a decision.

Money and rates are JSON strings of decimal text (``"916.80"``, ``"0.1800"``), never binary
floats; periods and months are integers.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from ruleplus.errors import InputValidationError, NotFoundError
from ruleplus.lending.offers import quote_application
from ruleplus.service.auth import current_partner, state_of
from ruleplus.store.repos import DecisionRepo
from ruleplus.store.tables import Partner

__all__ = ["QuoteRequest", "router"]

router = APIRouter(prefix="/v1", tags=["offers"])


class QuoteRequest(BaseModel):
    """A quote: the application, and optionally the amount and term wanted."""

    model_config = ConfigDict(extra="forbid")

    product: str = Field(min_length=1, max_length=80, description="the product quoted")
    application: dict[str, Any] = Field(description="the application, in your field names")
    amount: str | int | None = Field(
        default=None, description="the amount wanted (decimal text); default: the strategy's"
    )
    months: int | None = Field(default=None, description="the term wanted; default: the strategy's")


@router.get("/decisions/{decision_id}/schedule", summary="The offer and schedule of a decision")
def decision_schedule(
    decision_id: str, request: Request, partner: Annotated[Partner, Depends(current_partner)]
) -> dict[str, Any]:
    """The offer stored with one of your decisions (404 when it made none)."""
    with state_of(request).database.session() as session:
        row = DecisionRepo(session).get(partner.id, decision_id)
        offer = row.offer
    if offer is None:
        raise NotFoundError("this decision has no offer", decision_id=decision_id)
    return {"decision_id": decision_id, "offer": offer}


@router.post("/offers/quote", summary="Quote an offer through the deployed strategy")
async def quote(
    request: Request,
    partner: Annotated[Partner, Depends(current_partner)],
    body: Annotated[QuoteRequest, Body()],
    channel: Annotated[str, Header(alias="X-Channel", max_length=80)] = "*",
) -> dict[str, Any]:
    """The offer the product's live champion strategy makes for ``application``, for the
    amount and term asked (at most the limit), without making or storing a decision and
    without counting velocity signals."""
    state = state_of(request)

    def work() -> dict[str, Any]:
        live = state.decisions.live(partner.id, body.product, channel)
        mapping = live.mapping
        application, problems = (
            mapping.apply(body.application) if mapping else (dict(body.application), [])
        )
        strategy = live.arms[0][1]  # the champion, with the deployment's parameters
        problems = problems + strategy.validate_record(application)
        if problems:
            raise InputValidationError(problems, strategy=strategy.id, version=strategy.version)
        return quote_application(
            strategy,
            application,
            default_cap=state.decisions.rate_cap,
            amount=body.amount,
            months=body.months,
        )

    return await asyncio.get_running_loop().run_in_executor(state.pool, work)
