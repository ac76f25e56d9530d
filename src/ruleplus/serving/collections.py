"""Collections for a partner: the day's queue, promises to pay and outcomes (audited).

Shared by the HTTP routes (``/v1/collections``) and any other caller. Every query filters on
the partner's id: one partner never sees or changes another's accounts. Each recorded event is
one transaction with its audit entry (as :mod:`ruleplus.serving.admin` does); the audit payload
names the account, kind, action and amount, never the free-text note (which may hold anything
a collector typed), only its length.

The queue's strategy is the partner's live deployment of the product ``collections`` (its
champion) when there is one, else the packaged example. Accounts with an open promise to pay
(due today or later, not yet followed by a payment or a ``broken`` outcome) are held back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from ruleplus.decision import CompiledStrategy
from ruleplus.errors import DataError
from ruleplus.lending.collections import (
    collections_performance,
    collections_queue,
    example_collections_strategy,
    queue_summary,
)
from ruleplus.store import Database
from ruleplus.store.audit import append
from ruleplus.store.repos import DeploymentRepo, PartnerRepo
from ruleplus.store.tables import CollectionEvent

__all__ = [
    "EVENT_KINDS",
    "PRODUCT",
    "account_events",
    "daily_queue",
    "held_accounts",
    "performance",
    "queue_strategy",
    "record_event",
    "record_promise",
]

#: Product name whose deployment is a partner's collections strategy.
PRODUCT = "collections"
#: Kinds of recorded events (``promise`` through :func:`record_promise`).
EVENT_KINDS = ("action", "promise", "payment", "outcome")
_CENT = Decimal("0.01")
StrategyLoader = Callable[[str, str], CompiledStrategy]


def _account(account_id: Any) -> str:
    if not isinstance(account_id, str) or not 1 <= len(account_id) <= 120:
        raise DataError("account_id must be text of 1 to 120 characters", field="account_id")
    return account_id


def _amount(value: Any, field: str, required: bool) -> Decimal | None:
    if value is None:
        if required:
            raise DataError(f"{field} is required", field=field)
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise DataError(f"{field} {value!r} is not an amount", field=field) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(_CENT):
        raise DataError(f"{field} must be a positive amount in cents, got {value!r}", field=field)
    return amount


def queue_strategy(db: Database, partner_id: str, load: StrategyLoader | None) -> CompiledStrategy:
    """The partner's collections strategy: its live ``collections`` deployment's champion
    (compiled by ``load(strategy_id, version)``), else the packaged example."""
    if load is not None:
        with db.session() as session:
            live = DeploymentRepo(session).live(partner_id, PRODUCT, "*")
            ref = (live.strategy_id, live.champion) if live is not None else None
        if ref is not None:
            return load(*ref)
    return example_collections_strategy()


def held_accounts(db: Database, partner_id: str, today: dt.date) -> set[str]:
    """Accounts of the partner with an open promise to pay on ``today``."""
    with db.session() as session:
        rows = session.execute(
            select(
                CollectionEvent.account_id,
                CollectionEvent.kind,
                CollectionEvent.note,
                CollectionEvent.due_date,
                CollectionEvent.id,
            )
            .where(CollectionEvent.partner_id == partner_id)
            .where(CollectionEvent.kind.in_(("promise", "payment", "outcome")))
            .order_by(CollectionEvent.id)
        ).all()
    open_until: dict[str, dt.date] = {}
    for account, kind, note, due, _ in rows:
        if kind == "promise" and due is not None:
            open_until[account] = due
        elif kind == "payment" or (kind == "outcome" and note.startswith("broken")):
            open_until.pop(account, None)
    return {a for a, due in open_until.items() if due >= today}


def daily_queue(
    db: Database,
    partner_id: str,
    accounts: Iterable[Mapping[str, Any]],
    today: dt.date | None = None,
    load: StrategyLoader | None = None,
) -> dict[str, Any]:
    """The partner's queue for ``today``: its delinquent accounts (as sent) ranked by
    expected recovery, without those holding an open promise.

    Returns
    -------
    dict
        ``date``, ``strategy`` (id and version), ``held`` (count), ``queue``, ``summary``.
    """
    day = today or dt.date.today()
    with db.session() as session:
        PartnerRepo(session).get(partner_id)
    strategy = queue_strategy(db, partner_id, load)
    held = held_accounts(db, partner_id, day)
    rows = list(accounts)
    queue = collections_queue(rows, strategy, held=held)
    sent = {str(r.get("account_id")) for r in rows}
    return {
        "date": day.isoformat(),
        "strategy": {"id": strategy.id, "version": strategy.version},
        "held": len(held & sent),
        "queue": [q.to_dict() for q in queue],
        "summary": queue_summary(queue),
    }


def _event_info(row: CollectionEvent) -> dict[str, Any]:
    return {
        "event_id": row.id,
        "account_id": row.account_id,
        "kind": row.kind,
        "action": row.action,
        "amount": None if row.amount is None else str(Decimal(row.amount).quantize(_CENT)),
        "due_date": None if row.due_date is None else row.due_date.isoformat(),
        "note": row.note,
        "actor": row.actor,
        "at": row.at.isoformat() if row.at else None,
    }


def _record(db: Database, partner_id: str, actor: str, **values: Any) -> dict[str, Any]:
    with db.session() as session:
        PartnerRepo(session).get(partner_id)
        row = CollectionEvent(partner_id=partner_id, actor=actor, **values)
        session.add(row)
        session.flush()
        payload = {
            "account_id": row.account_id,
            "kind": row.kind,
            "action": row.action,
            "amount": None if row.amount is None else str(row.amount),
            "due_date": None if row.due_date is None else row.due_date.isoformat(),
            "note_chars": len(row.note or ""),
        }
        append(
            session,
            db.audit_key,
            actor,
            f"collections-{row.kind}",
            "account",
            f"{partner_id}/{row.account_id}",
            payload,
        )
        return _event_info(row)


def record_promise(
    db: Database,
    partner_id: str,
    account_id: str,
    amount: Any,
    due_date: dt.date,
    actor: str,
    note: str = "",
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Record a promise to pay ``amount`` by ``due_date`` (today or later); audited."""
    day = today or dt.date.today()
    if due_date < day:
        raise DataError(f"due_date {due_date} is in the past", field="due_date")
    if len(note) > 200:
        raise DataError("note is longer than 200 characters", field="note")
    return _record(
        db,
        partner_id,
        actor,
        account_id=_account(account_id),
        kind="promise",
        amount=_amount(amount, "amount", required=True),
        due_date=due_date,
        note=note,
    )


def record_event(
    db: Database,
    partner_id: str,
    account_id: str,
    kind: str,
    actor: str,
    action: str | None = None,
    amount: Any = None,
    note: str = "",
) -> dict[str, Any]:
    """Record an action taken, a payment or an outcome (note ``broken…`` ends a promise);
    audited. Payments need an amount."""
    if kind not in ("action", "payment", "outcome"):
        raise DataError("kind must be one of action, payment, outcome", field="kind")
    if action is not None and not 1 <= len(action) <= 40:
        raise DataError("action must be 1 to 40 characters", field="action")
    if kind == "action" and action is None:
        raise DataError("an action event names its action", field="action")
    if len(note) > 200:
        raise DataError("note is longer than 200 characters", field="note")
    return _record(
        db,
        partner_id,
        actor,
        account_id=_account(account_id),
        kind=kind,
        action=action,
        amount=_amount(amount, "amount", required=kind == "payment"),
        note=note,
    )


def account_events(db: Database, partner_id: str, account_id: str) -> list[dict[str, Any]]:
    """The partner's events for one account, oldest first."""
    with db.session() as session:
        rows = session.execute(
            select(CollectionEvent)
            .where(CollectionEvent.partner_id == partner_id)
            .where(CollectionEvent.account_id == _account(account_id))
            .order_by(CollectionEvent.id)
        ).scalars()
        return [_event_info(r) for r in rows]


def performance(db: Database, partner_id: str) -> dict[str, Any]:
    """What the partner's recorded actions led to (see
    :func:`ruleplus.lending.collections.collections_performance`)."""
    with db.session() as session:
        rows = session.execute(
            select(
                CollectionEvent.account_id,
                CollectionEvent.kind,
                CollectionEvent.action,
                CollectionEvent.amount,
            )
            .where(CollectionEvent.partner_id == partner_id)
            .order_by(CollectionEvent.id)
        ).all()
    events = [{"account_id": a, "kind": k, "action": x, "amount": m} for a, k, x, m in rows]
    return {"events": len(events), "by_action": collections_performance(events)}
