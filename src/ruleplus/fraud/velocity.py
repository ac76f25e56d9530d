"""Velocity counters: how many applications shared this phone / device / ID number recently.

Each counter is keyed by a keyed digest of a field's value (never the value itself), counts the
events in a sliding window including the current one, and records the current event. Three
stores with one contract: Redis sorted sets (``RULEPLUS_REDIS_URL``), the database, and an
in-memory stand-in for tests.

Two ways to use a store:

- :meth:`VelocityStore.hit` records and counts in one atomic call (scripts, tests);
- the decision service counts first (:meth:`~VelocityStore.count`) and records the event only
  once its decision is committed, so that a retried, refused or failed request leaves no event
  behind. The database store's events are inserted *in the decision's own transaction*
  (:attr:`~VelocityStore.transactional`); Redis and memory record after the commit
  (:meth:`~VelocityStore.record`), with the decision's id as the event id, so recording twice
  counts once.

Counter names passed to a store are already scoped (``p:<partner>:<name>`` or ``g:<name>``, see
:func:`scoped_counter`): one partner's applications never count towards another's.

Windows (``"24h"``) are read by :func:`ruleplus.decision.parse_window`, re-exported here.
"""

from __future__ import annotations

import bisect
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from ruleplus.decision import parse_window
from ruleplus.store import Database
from ruleplus.store.tables import VelocityEvent

__all__ = [
    "CounterSpec",
    "DatabaseVelocity",
    "MemoryVelocity",
    "RedisVelocity",
    "VelocityStore",
    "parse_window",
    "scoped_counter",
]


@dataclass(frozen=True)
class CounterSpec:
    """A counter: output field ``name`` counts events sharing ``key`` within ``window_s``."""

    name: str
    key: str
    window_s: int


def scoped_counter(scope: str, partner_id: str, name: str) -> str:
    """The store's counter name: ``p:<partner>:<name>`` (``partner`` scope) or ``g:<name>``.

    ``global`` is the lender's own cross-channel view, shared by every partner whose strategy
    opts into it; ``partner`` (the default) counts only that partner's applications.
    """
    if scope == "global":
        return f"g:{name}"
    if scope != "partner":
        raise ValueError(f"scope must be 'partner' or 'global', not {scope!r}")
    return f"p:{partner_id}:{name}"


class VelocityStore(Protocol):
    """Record events and count them in their windows."""

    transactional: bool
    """True when events are rows the decision writer inserts with the decision itself."""

    def hit(self, events: list[tuple[str, str, int]], now_ms: int | None = None) -> list[int]:
        """For each ``(counter, digest, window_s)``: record now, return the count in the window."""
        ...

    def count(self, events: list[tuple[str, str, int]], now_ms: int) -> list[int]:
        """For each ``(counter, digest, window_s)``: recorded events in ``(now - window, now]``."""
        ...

    def record(self, events: list[tuple[str, str, int]], now_ms: int, event_id: str) -> None:
        """Record one event per counter at ``now_ms``; the same ``event_id`` counts once."""
        ...


class MemoryVelocity:
    """In-process store (tests, single-process demos)."""

    transactional = False

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], list[int]] = {}
        self._ids: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def count(self, events: list[tuple[str, str, int]], now_ms: int) -> list[int]:
        """Recorded events per counter in its window (nothing is recorded)."""
        with self._lock:
            out = []
            for counter, digest, window_s in events:
                queue = self._events.get((counter, digest), [])
                floor = now_ms - window_s * 1000
                out.append(bisect.bisect_right(queue, now_ms) - bisect.bisect_right(queue, floor))
            return out

    def record(self, events: list[tuple[str, str, int]], now_ms: int, event_id: str) -> None:
        """Record ``event_id`` once per counter."""
        with self._lock:
            for counter, digest, window_s in events:
                ids = self._ids.setdefault((counter, digest), set())
                if event_id in ids:
                    continue
                ids.add(event_id)
                queue = self._events.setdefault((counter, digest), [])
                bisect.insort(queue, now_ms)
                del queue[: bisect.bisect_right(queue, now_ms - window_s * 1000)]

    def hit(self, events: list[tuple[str, str, int]], now_ms: int | None = None) -> list[int]:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        out = []
        with self._lock:
            for counter, digest, window_s in events:
                queue = self._events.setdefault((counter, digest), [])
                bisect.insort(queue, now)  # kept sorted: clocks (and callers) may go back
                floor = now - window_s * 1000
                del queue[: bisect.bisect_right(queue, floor)]
                out.append(len(queue))
        return out


class RedisVelocity:
    """Redis sorted sets: one key per (counter, digest), scored by time; one round trip per call."""

    transactional = False

    def __init__(self, url: str, prefix: str = "ruleplus:v:") -> None:
        import redis

        self.client: redis.Redis = redis.Redis.from_url(url)
        self.prefix = prefix

    def count(self, events: list[tuple[str, str, int]], now_ms: int) -> list[int]:
        """Recorded events per counter in its window, one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for counter, digest, window_s in events:
            pipe.zcount(f"{self.prefix}{counter}:{digest}", f"({now_ms - window_s * 1000}", now_ms)
        return [int(n) for n in pipe.execute()]

    def record(self, events: list[tuple[str, str, int]], now_ms: int, event_id: str) -> None:
        """``ZADD`` with the event id as member: recording the same event again changes nothing."""
        pipe = self.client.pipeline(transaction=True)
        for counter, digest, window_s in events:
            key = f"{self.prefix}{counter}:{digest}"
            pipe.zadd(key, {event_id: now_ms})
            pipe.zremrangebyscore(key, "-inf", now_ms - window_s * 1000)
            pipe.pexpire(key, window_s * 1000 + 1000)
        pipe.execute()

    def hit(self, events: list[tuple[str, str, int]], now_ms: int | None = None) -> list[int]:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        pipe = self.client.pipeline(transaction=True)
        for counter, digest, window_s in events:
            key = f"{self.prefix}{counter}:{digest}"
            pipe.zadd(key, {f"{now}:{uuid.uuid4().hex[:8]}": now})
            pipe.zremrangebyscore(key, "-inf", now - window_s * 1000)
            pipe.zcard(key)
            pipe.pexpire(key, window_s * 1000 + 1000)
        results = pipe.execute()
        return [int(results[i * 4 + 2]) for i in range(len(events))]


def _window_count(
    session: Session, counter: str, digest: str, floor_ms: int, upto_ms: int | None = None
) -> int:
    """Events of (counter, digest) after ``floor_ms`` (and at or before ``upto_ms``)."""
    query = (
        select(func.count())
        .select_from(VelocityEvent)
        .where(
            VelocityEvent.counter == counter,
            VelocityEvent.digest == digest,
            VelocityEvent.at_ms > floor_ms,
        )
    )
    if upto_ms is not None:
        query = query.where(VelocityEvent.at_ms <= upto_ms)
    return int(session.execute(query).scalar() or 0)


_KEY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


class DatabaseVelocity:
    """The database as the store (the embedded default; fine for moderate volumes).

    In the service the events are inserted by the decision writer in the decision's own
    transaction (:meth:`rows`), so an event exists exactly when its decision does.
    """

    transactional = True

    def __init__(self, database: Database) -> None:
        self.database = database

    def count(self, events: list[tuple[str, str, int]], now_ms: int) -> list[int]:
        """Committed events per counter in its window (one query per counter)."""
        with self.database.session() as session:
            return [
                _window_count(session, counter, digest, now_ms - window_s * 1000, now_ms)
                for counter, digest, window_s in events
            ]

    def record(self, events: list[tuple[str, str, int]], now_ms: int, event_id: str) -> None:
        """Nothing to do: the decision writer inserted :meth:`rows` with the decision."""

    @staticmethod
    def rows(events: list[tuple[str, str, int]], now_ms: int) -> list[dict[str, str | int]]:
        """The ``velocity_events`` rows of one decision's events."""
        return [{"counter": c, "digest": d, "at_ms": now_ms} for c, d, _ in events]

    def hit(self, events: list[tuple[str, str, int]], now_ms: int | None = None) -> list[int]:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        out = []
        with self.database.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Concurrent hits on one key must see each other (a burst from one device is
                # the very thing to catch): serialise them per key until commit, in key order.
                # SQLite needs nothing: its single writer already serialises the transactions.
                for key in sorted({f"{counter}:{digest}" for counter, digest, _ in events}):
                    session.execute(_KEY_LOCK, {"key": "ruleplus:velocity:" + key})
            for counter, digest, window_s in events:
                session.execute(
                    insert(VelocityEvent).values(counter=counter, digest=digest, at_ms=now)
                )
                out.append(_window_count(session, counter, digest, now - window_s * 1000))
            session.commit()
        return out

    def prune(self, older_than_s: int) -> int:
        """Delete events older than the longest window (housekeeping)."""
        floor = int(time.time() * 1000) - older_than_s * 1000
        with self.database.session() as session:
            result = session.execute(delete(VelocityEvent).where(VelocityEvent.at_ms < floor))
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)
