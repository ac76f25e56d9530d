"""Partner collections endpoints: the day's queue, promises to pay, outcomes, an account's events.

Authenticated by the partner's API key (the gate) and scoped to that partner; the business
logic is :mod:`ruleplus.serving.collections`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ruleplus.service.auth import current_partner, state_of
from ruleplus.serving import collections
from ruleplus.store.tables import Partner

__all__ = ["router"]

router = APIRouter(prefix="/v1/collections", tags=["collections"])
CurrentPartner = Annotated[Partner, Depends(current_partner)]


class QueueRequest(BaseModel):
    accounts: list[dict[str, Any]] = Field(
        max_length=20_000,
        description="today's accounts: account_id, bucket (M1 … M6+) or status code, balance, "
        "and what the strategy reads (score…)",
        examples=[[{"account_id": "L-1", "bucket": "M2", "balance": 1250.0, "score": 640}]],
    )
    date: dt.date | None = Field(None, description="the queue's day (default today)")


class Promise(BaseModel):
    account_id: str = Field(min_length=1, max_length=120)
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2, allow_inf_nan=False)
    due_date: dt.date
    note: str = Field("", max_length=200)


class Event(BaseModel):
    account_id: str = Field(min_length=1, max_length=120)
    kind: Literal["action", "payment", "outcome"]
    action: str | None = Field(None, min_length=1, max_length=40)
    amount: Decimal | None = Field(None, gt=0, max_digits=16, decimal_places=2, allow_inf_nan=False)
    note: str = Field("", max_length=200, description="an outcome 'broken…' ends a promise")


def _actor(partner: Partner) -> str:
    return f"partner:{partner.id}"


@router.post("/queue", summary="Today's collections queue")
def queue(body: QueueRequest, request: Request, partner: CurrentPartner) -> dict[str, Any]:
    """Your delinquent accounts ranked by expected recovery (pay_probability x balance -
    action_cost), each with its action, from your ``collections`` deployment (else the example
    strategy); accounts with an open promise to pay are held back."""
    state = state_of(request)
    return collections.daily_queue(
        state.database, partner.id, body.accounts, body.date, state.decisions.strategy
    )


@router.post("/promises", summary="Record a promise to pay", status_code=201)
def promise(body: Promise, request: Request, partner: CurrentPartner) -> dict[str, Any]:
    """Stored with its audit entry; the account leaves the queue until the due date."""
    return collections.record_promise(
        state_of(request).database,
        partner.id,
        body.account_id,
        body.amount,
        body.due_date,
        _actor(partner),
        body.note,
    )


@router.post("/events", summary="Record an action, a payment or an outcome", status_code=201)
def event(body: Event, request: Request, partner: CurrentPartner) -> dict[str, Any]:
    """Stored with its audit entry."""
    return collections.record_event(
        state_of(request).database,
        partner.id,
        body.account_id,
        body.kind,
        _actor(partner),
        action=body.action,
        amount=body.amount,
        note=body.note,
    )


@router.get("/accounts/{account_id}/events", summary="One of your accounts' events")
def events(account_id: str, request: Request, partner: CurrentPartner) -> list[dict[str, Any]]:
    """Oldest first; another partner's account has none."""
    return collections.account_events(state_of(request).database, partner.id, account_id)


@router.get("/performance", summary="What your recorded actions led to")
def performance(request: Request, partner: CurrentPartner) -> dict[str, Any]:
    """Per action: actions taken, promises and payments after them, amount paid, pay rate."""
    return collections.performance(state_of(request).database, partner.id)
