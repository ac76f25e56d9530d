"""Group commit: decisions are written in small batches by one thread, and a request is answered
only after its batch is committed.

One transaction per few milliseconds instead of one per request is what lets a two-core machine
persist every decision at service rates; because the answer waits for the commit, a crash never
loses an acknowledged decision. Each decision's audit entry is chained in the same transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from ruleplus.store import Database
from ruleplus.store.audit import ChainHead, digest
from ruleplus.store.models import AuditEntry, DecisionRecord

__all__ = ["DecisionWriter", "WriteResult"]

log = logging.getLogger("ruleplus.writer")


@dataclass(frozen=True)
class WriteResult:
    """``stored`` is False when another decision already holds the idempotency key."""

    stored: bool


class DecisionWriter:
    """Batches decision rows into transactions.

    Parameters
    ----------
    database : Database
        Where decisions go.
    max_batch : int, default=500
        Most rows per transaction.
    max_wait_s : float, default=0.002
        How long the first row of a batch may wait for company.
    """

    def __init__(self, database: Database, max_batch: int = 500, max_wait_s: float = 0.002) -> None:
        self.database = database
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[tuple[dict[str, Any], Future[WriteResult]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        dialect = database.engine.dialect.name
        # Core statements on the tables, executed as executemany (psycopg pipelines them; one
        # statement text, parsed once). The ORM's bulk path, or RETURNING (which turns a batch
        # into one huge multi-row VALUES statement), cost a large share of a decision's CPU.
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table: Any = DecisionRecord.__table__
        self._insert_decisions = insert(table).on_conflict_do_nothing(
            index_elements=["partner_id", "idempotency_key"]
        )
        self._stored_ids = select(table.c.id).where(
            table.c.id.in_(bindparam("ids", expanding=True))
        )
        # executed in order in one transaction, the entries get ascending seq, as the chain needs
        self._insert_audit = AuditEntry.__table__.insert()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="ruleplus-writer", daemon=True)
            self._thread.start()

    def submit(self, row: dict[str, Any]) -> Future[WriteResult]:
        """Queue one decision row; the future resolves after its transaction commits."""
        future: Future[WriteResult] = Future()
        self._queue.put((row, future))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            deadline = time.perf_counter() + self.max_wait_s
            stop = False
            while len(batch) < self.max_batch:
                remaining = deadline - time.perf_counter()
                try:
                    nxt = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[dict[str, Any], Future[WriteResult]]]) -> None:
        rows = [row for row, _ in batch]
        try:
            with self.database.engine.connect() as connection:
                connection.execute(self._insert_decisions, rows)
                # a fresh random id is in the table now only if this insert put it there; the
                # others lost to a decision already holding their idempotency key
                inserted = set(
                    connection.execute(self._stored_ids, {"ids": [r["id"] for r in rows]}).scalars()
                )
                with ChainHead(connection) as head:
                    entries = [
                        head.values(
                            f"partner:{row['partner_id']}",
                            "decide",
                            "decision",
                            row["id"],
                            {
                                "outcome": row["outcome"],
                                "strategy": row["strategy_id"],
                                "version": row["strategy_version"],
                                "arm": row["arm"],
                                "record": record_digest(row),
                            },
                        )
                        for row in rows
                        if row["id"] in inserted
                    ]
                    if entries:
                        connection.execute(self._insert_audit, entries)
                    connection.commit()
        except Exception as exc:  # the requests learn it; the writer keeps running
            if len(batch) > 1:  # one bad row must not fail its neighbours: write them one by one
                log.warning(
                    "decision batch of %d failed (%s); writing its rows one by one",
                    len(batch),
                    type(exc).__name__,
                )
                for item in batch:
                    self._write([item])
                return
            log.error("decision write failed: %s", type(exc).__name__)
            batch[0][1].set_exception(exc)
            return
        for row, future in batch:
            future.set_result(WriteResult(row["id"] in inserted))


_DIGESTED = (
    "id",
    "partner_id",
    "product",
    "channel",
    "idempotency_key",
    "request_digest",
    "application",
    "outcome",
    "outputs",
    "reasons",
    "strategy_id",
    "strategy_version",
    "arm",
)


def record_digest(row: Any) -> str:
    """Digest of a decision's content (what the audit entry vouches for)."""
    get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k))
    return digest({k: get(k) for k in _DIGESTED})
