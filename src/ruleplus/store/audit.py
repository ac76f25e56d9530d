"""The audit log: append-only entries chained by SHA-256 so that any edit is detectable.

``hash = sha256(prev_hash + canonical(entry))`` where the canonical form is sorted-key compact
JSON of the entry's fields (time as UTC ISO-8601). Appends are serialised by a process lock and,
on PostgreSQL, by a transaction-scoped advisory lock, so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from ruleplus.store.models import AuditEntry, utcnow

__all__ = ["GENESIS", "AuditBreak", "ChainHead", "append", "canonical", "digest", "verify_chain"]

GENESIS = "0" * 64
_LOCK = threading.Lock()
_ADVISORY_KEY = 0x52554C45  # "RULE"


def canonical(value: Any) -> str:
    """Compact, sorted-key JSON (the form that is hashed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def _time_text(at: dt.datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _entry_hash(
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    payload: dict[str, Any],
) -> str:
    body = canonical(
        {
            "at": _time_text(at),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class ChainHead:
    """Serialises appends and remembers the last hash within one transaction.

    ``session`` is an ORM session, or a Core connection for writers that insert the entries
    themselves (see :meth:`values`).
    """

    def __init__(self, session: Session | Connection) -> None:
        self.session = session
        self.last: str | None = None

    def __enter__(self) -> ChainHead:
        _LOCK.acquire()
        try:
            bind = self.session if isinstance(self.session, Connection) else self.session.get_bind()
            if bind.dialect.name == "postgresql":
                self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
            found = self.session.execute(
                select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
            ).scalar()
            self.last = found or GENESIS
        except BaseException:
            _LOCK.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        _LOCK.release()

    def add(
        self, actor: str, action: str, entity: str, entity_id: str, payload: dict[str, Any]
    ) -> AuditEntry:
        """Add one entry to the (ORM) session, chained to the previous one."""
        assert isinstance(self.session, Session), "add() needs an ORM session; use values()"
        entry = AuditEntry(**self.values(actor, action, entity, entity_id, payload))
        self.session.add(entry)
        return entry

    def values(
        self, actor: str, action: str, entity: str, entity_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The columns of the next entry, chained to the previous one (the head moves on).

        The caller inserts the entries in this order, in this transaction, and must see them
        get ascending ``seq`` values (e.g. ``insert(...).returning(seq,
        sort_by_parameter_order=True)``).
        """
        assert self.last is not None, "use ChainHead as a context manager"
        at = utcnow()
        entry_hash = _entry_hash(self.last, at, actor, action, entity, entity_id, payload)
        row = {
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "payload": payload,
            "prev_hash": self.last,
            "hash": entry_hash,
        }
        self.last = entry_hash
        return row


def append(
    session: Session, actor: str, action: str, entity: str, entity_id: str, payload: dict[str, Any]
) -> AuditEntry:
    """Append one entry and commit ``session``'s transaction with it.

    The commit happens while the chain is locked, so no other writer can chain to the same
    predecessor (the process lock, and on PostgreSQL an advisory lock held until commit).
    """
    with ChainHead(session) as head:
        entry = head.add(actor, action, entity, entity_id, payload)
        session.commit()
    return entry


@dataclass(frozen=True)
class AuditBreak:
    """The first broken link of the chain."""

    seq: int
    problem: str


def _entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.seq > last)
                .order_by(AuditEntry.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(session: Session) -> tuple[int, AuditBreak | None]:
    """Recompute every hash; return ``(entries checked, first break or None)``."""
    prev = GENESIS
    count = 0
    for entry in _entries(session):
        count += 1
        if entry.prev_hash != prev:
            return count, AuditBreak(
                entry.seq,
                "prev_hash does not match the previous entry (a row was removed or reordered)",
            )
        expected = _entry_hash(
            prev, entry.at, entry.actor, entry.action, entry.entity, entry.entity_id, entry.payload
        )
        if expected != entry.hash:
            return count, AuditBreak(
                entry.seq, "content does not match its hash (the row was altered)"
            )
        prev = entry.hash
    return count, None
