"""Attach performance outcomes to past decisions (shared by the HTTP API and the CLI).

An outcome (``bad_90dpd_12m = 1``) names its decision by ``decision_id``, or by the partner's
``application_id`` (with ``partner_id``: application ids are the partner's own, so the lookup
is always scoped to one partner; the latest decision of that application gets it). Attaching is
idempotent: the same value again changes nothing and writes nothing; another value is a
correction, audited with the old and the new value; new outcomes are audited as one entry per
call. Everything happens in one transaction with its audit entries, as in
:mod:`ruleplus.serving.admin`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ruleplus.errors import DataError
from ruleplus.store import Database
from ruleplus.store.audit import ChainHead
from ruleplus.store.tables import DecisionRecord, Outcome

__all__ = ["OutcomeRecord", "attach_outcomes", "parse_outcome"]

_CHUNK = 500
_SHOWN = 20  # unmatched keys listed in the answer (the count is always complete)

OutcomeRecord = dict[str, Any]


def _value(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float) and math.isfinite(raw):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in {"true", "false"}:
            return 1.0 if text == "true" else 0.0
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise DataError(f"{where}: 'value' must be a finite number (1 = bad, 0 = good)", field="value")


def _when(raw: Any, where: str) -> dt.datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime(raw.year, raw.month, raw.day)
    else:
        try:
            value = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise DataError(
                f"{where}: 'observed_at' must be an ISO date or date-time", field="observed_at"
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def parse_outcome(
    raw: Mapping[str, Any], number: int, *, name: str | None = None, partner_id: str | None = None
) -> OutcomeRecord:
    """Check one outcome record (``number`` counts from 1 in error messages).

    ``name`` and ``partner_id`` are defaults for records that do not carry their own.
    """
    where = f"outcome {number}"
    decision_id = raw.get("decision_id") or None
    application_id = raw.get("application_id") or None
    partner = raw.get("partner_id") or partner_id
    outcome = raw.get("name") or name
    if not outcome or not isinstance(outcome, str) or len(outcome) > 80:
        raise DataError(
            f"{where}: 'name' (the outcome, e.g. bad_90dpd_12m) is required", field="name"
        )
    if decision_id is None and application_id is None:
        raise DataError(f"{where}: give 'decision_id' or 'application_id'", field="decision_id")
    if decision_id is None and not partner:
        raise DataError(
            f"{where}: an 'application_id' needs the 'partner_id' it belongs to",
            field="partner_id",
        )
    return {
        "decision_id": None if decision_id is None else str(decision_id),
        "application_id": None if application_id is None else str(application_id),
        "partner_id": None if partner is None else str(partner),
        "name": outcome,
        "value": _value(raw.get("value"), where),
        "observed_at": _when(raw.get("observed_at"), where),
    }


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _owners(session: Session, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Decision id -> (partner id, application id) of the decisions that exist."""
    out: dict[str, tuple[str, str | None]] = {}
    for chunk in _chunks(ids):
        query = select(
            DecisionRecord.id, DecisionRecord.partner_id, DecisionRecord.application_id
        ).where(DecisionRecord.id.in_(chunk))
        for did, pid, aid in session.execute(query):
            out[did] = (pid, aid)
    return out


def _latest_by_application(
    session: Session, wanted: dict[str, set[str]], owners: dict[str, tuple[str, str | None]]
) -> dict[tuple[str, str], str]:
    """(partner id, application id) -> the latest decision of that application (and each
    found decision's owner added to ``owners``)."""
    out: dict[tuple[str, str], str] = {}
    for pid, apps in wanted.items():
        for chunk in _chunks(sorted(apps)):
            query = (
                select(DecisionRecord.id, DecisionRecord.application_id)
                .where(DecisionRecord.partner_id == pid, DecisionRecord.application_id.in_(chunk))
                .order_by(DecisionRecord.created_at, DecisionRecord.id)
            )
            for did, aid in session.execute(query):
                if aid is not None:
                    out[(pid, aid)] = did  # in time order: the latest decision wins
                    owners.setdefault(did, (pid, aid))
    return out


def attach_outcomes(
    db: Database, records: Iterable[OutcomeRecord], actor: str = "admin"
) -> dict[str, Any]:
    """Record outcomes (checked by :func:`parse_outcome`) against their decisions.

    Returns
    -------
    dict
        ``received``, ``inserted``, ``corrected``, ``unchanged``, ``unmatched`` (counts) and
        ``unmatched_keys`` (the first few keys that named no decision).
    """
    items = list(records)
    with db.session() as session:
        by_id = _owners(session, sorted({r["decision_id"] for r in items if r["decision_id"]}))
        wanted: dict[str, set[str]] = {}
        for r in items:
            if not r["decision_id"]:
                wanted.setdefault(r["partner_id"], set()).add(r["application_id"])
        by_app = _latest_by_application(session, wanted, by_id)
        resolved: dict[tuple[str, str], OutcomeRecord] = {}
        unmatched: list[str] = []
        for r in items:
            did: str | None = r["decision_id"] or by_app.get((r["partner_id"], r["application_id"]))
            owner = by_id.get(did) if did else None
            # a partner named with a decision id must own it: no cross-partner writes
            if did is None or owner is None or (r["partner_id"] and owner[0] != r["partner_id"]):
                unmatched.append(r["decision_id"] or r["application_id"])
                continue
            resolved[(did, r["name"])] = {
                **r,
                "decision_id": did,
                "partner_id": owner[0],
                "application_id": owner[1],
            }
        existing: dict[tuple[str, str], Outcome] = {}
        for chunk in _chunks(sorted({did for did, _ in resolved})):
            for found in session.scalars(select(Outcome).where(Outcome.decision_id.in_(chunk))):
                existing[(found.decision_id, found.name)] = found
        inserted = unchanged = 0
        corrections: list[dict[str, Any]] = []
        for key, r in resolved.items():
            row = existing.get(key)
            if row is None:
                session.add(
                    Outcome(
                        partner_id=r["partner_id"],
                        decision_id=r["decision_id"],
                        application_id=r["application_id"],
                        name=r["name"],
                        value=r["value"],
                        observed_at=r["observed_at"],
                    )
                )
                inserted += 1
            elif row.value == r["value"]:
                unchanged += 1
            else:
                corrections.append(
                    {
                        "decision_id": row.decision_id,
                        "partner_id": row.partner_id,
                        "name": row.name,
                        "old": row.value,
                        "new": r["value"],
                    }
                )
                row.value = r["value"]
                if r["observed_at"] is not None:
                    row.observed_at = r["observed_at"]
        if inserted or corrections:
            with ChainHead(session, db.audit_key) as head:
                if inserted:
                    names = sorted({r["name"] for k, r in resolved.items() if k not in existing})
                    head.add(
                        actor,
                        "attach",
                        "outcomes",
                        ",".join(names)[:200],
                        {"inserted": inserted, "names": names},
                    )
                for c in corrections:
                    head.add(actor, "correct", "outcome", f"{c['decision_id']}/{c['name']}", c)
                head.commit()
        else:
            session.rollback()
    return {
        "received": len(items),
        "inserted": inserted,
        "corrected": len(corrections),
        "unchanged": unchanged,
        "unmatched": len(unmatched),
        "unmatched_keys": unmatched[:_SHOWN],
    }
