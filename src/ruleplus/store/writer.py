"""Group commit: decisions are written in small batches by one thread, and a request is answered
only after its batch is committed.

One transaction per few milliseconds instead of one per request is what lets a two-core machine
persist every decision at service rates; because the answer waits for the commit, a crash never
loses an acknowledged decision. Each decision's audit entry is chained in the same transaction.

A row can also be queued as the work that makes it (:meth:`DecisionWriter.submit_made`), run on
the writer's thread while its batch gathers: for rows that are cheap to make and need no I/O,
this saves the hand-off between a thread that makes the row and the writer, which at moderate
load (a wake-up each, and the interpreter lock passed twice) costs more CPU than making it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg import pq
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from ruleplus.store import Database
from ruleplus.store.audit import (
    DIGESTED,
    HEAD_ID,
    PG_LOCKED_HEAD,
    ChainHead,
    head_values,
    record_digest,
)
from ruleplus.store.tables import AuditEntry, DecisionRecord, VelocityEvent, utcnow

__all__ = ["DecisionWriter", "WriteResult"]

log = logging.getLogger("ruleplus.writer")


@dataclass(frozen=True)
class WriteResult:
    """``stored`` is False when another decision already holds the idempotency key."""

    stored: bool


_Item = tuple[
    dict[str, Any], list[dict[str, Any]], "Future[WriteResult] | Future[WriteResult | None]"
]
"""A queued decision: its row, its velocity-event rows, the future its request waits on."""

RowMaker = Callable[[], tuple[dict[str, Any], list[dict[str, Any]]] | None]
"""Makes a decision's row and its velocity-event rows on the writer's thread; None when there
is nothing to write (the maker answered, or handed the work on, itself)."""


@dataclass(frozen=True)
class _ToMake:
    make: RowMaker
    future: Future[WriteResult | None]


class DecisionWriter:
    """Batches decision rows into transactions.

    Parameters
    ----------
    database : Database
        Where decisions go.
    max_batch : int, default=500
        Most rows per transaction.
    max_wait_s : float, default=0.006
        How long the first row of a batch may wait for company, while rows keep coming.
    gap_s : float, default=0.003
        A batch closes when no row came for this long: alone, a decision waits at most this;
        under load, batches grow towards ``max_wait_s`` and each transaction's fixed cost
        (the chain lock, the head, the commit) is shared by more decisions.
    """

    def __init__(
        self,
        database: Database,
        max_batch: int = 500,
        max_wait_s: float = 0.006,
        gap_s: float = 0.003,
    ) -> None:
        self.database = database
        self.max_batch = max_batch
        self.gap_s = gap_s
        self.max_wait_s = max_wait_s
        self._queue: queue.SimpleQueue[_Item | _ToMake | None] = queue.SimpleQueue()  # C: no lock
        self._held: Connection | None = None
        self._raw: psycopg.Connection[Any] | None = None
        self._thread: threading.Thread | None = None
        dialect = database.engine.dialect.name
        self._postgres = dialect == "postgresql"
        table: Any = DecisionRecord.__table__
        audit: Any = AuditEntry.__table__
        events: Any = VelocityEvent.__table__
        self._insert_events: Any = events.insert()
        if self._postgres:
            # the whole batch as one JSON parameter that PostgreSQL unpacks itself: one short
            # statement per table, and none of the per-row, per-column binding work in Python
            # that executemany or a multi-row VALUES costs (half of the writer's CPU)
            insert = _from_json(
                table, "ON CONFLICT (partner_id, idempotency_key) DO NOTHING RETURNING id"
            )
            # ... and statements folded together: each round trip costs the writer (and the
            # database) about as much CPU as the rows it carries
            self._insert_and_lock = (
                f"WITH inserted AS ({insert}) SELECT ARRAY(SELECT id FROM inserted), h.* "
                f"FROM (SELECT 1) AS one LEFT JOIN LATERAL ({PG_LOCKED_HEAD}) AS h ON true"
            )
            self._insert_and_lock_prepared = _Prepared(
                "ruleplus_insert_and_lock", self._insert_and_lock
            )
            # entries get ascending seq in the order given, as the chain needs
            self._insert_audit: Any = _from_json(audit, "", skip=("seq",))
            self._append = (
                "WITH entries AS ("
                + self._insert_audit.replace("%(rows)s", "%(entries)s")
                + "), events AS ("
                + _from_json(events, "", skip=("id",)).replace("%(rows)s", "%(events)s")
                + ") UPDATE audit_head SET count = %(count)s, last_hash = %(last_hash)s, "
                "mac = %(mac)s WHERE id = %(id)s"
            )
            self._append_prepared = _Prepared("ruleplus_append", self._append)
        else:
            # Core executemany (SQLite's C loop); the ORM's bulk path cost far more per row
            self._insert_decisions = sqlite.insert(table).on_conflict_do_nothing(
                index_elements=["partner_id", "idempotency_key"]
            )
            self._stored_ids = select(table.c.id).where(
                table.c.id.in_(bindparam("ids", expanding=True))
            )
            # executed in order in one transaction, the entries get ascending seq
            self._insert_audit = audit.insert()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="ruleplus-writer", daemon=True)
            self._thread.start()

    def submit(
        self, row: dict[str, Any], events: list[dict[str, Any]] | None = None
    ) -> Future[WriteResult]:
        """Queue one decision row; the future resolves after its transaction commits.

        ``events`` are the decision's ``velocity_events`` rows: inserted in the same transaction
        when the decision is, dropped with it when another decision holds its idempotency key.
        """
        future: Future[WriteResult] = Future()
        self._queue.put((row, events or [], future))
        return future

    def submit_made(self, make: RowMaker) -> Future[WriteResult | None]:
        """Queue the work that makes one decision row; it runs on the writer's thread, and the
        row joins the batch being gathered.

        ``make`` must be quick and do no I/O: every row queued behind it waits while it runs.
        The future resolves after the row's transaction commits, with None at once when
        ``make`` returned None, or with the exception ``make`` raised.
        """
        future: Future[WriteResult | None] = Future()
        self._queue.put(_ToMake(make, future))
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
                self._drop_connection()
                return
            batch: list[_Item] = []
            _take(item, batch)
            if not batch:  # nothing to write came of it: wait for the next one
                continue
            deadline = time.perf_counter() + self.max_wait_s
            stop = False
            while len(batch) < self.max_batch:
                remaining = min(deadline - time.perf_counter(), self.gap_s)
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
                _take(nxt, batch)
            self._write(batch)
            if stop:
                self._drop_connection()
                return

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The writer's own connection, kept across batches: a checkout per group commit
        costs a pool round trip and a pre-ping query, as much as the batch's own statements."""
        if self._held is None or self._held.closed or self._held.invalidated:
            self._held = self.database.engine.connect()
        yield self._held

    def _drop_connection(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.close()
            self._raw = None
        if self._held is not None:
            with contextlib.suppress(Exception):
                self._held.rollback()
                self._held.close()
            self._held = None

    def _write(self, batch: list[_Item], retried: bool = False) -> None:
        rows = [row for row, _, _ in batch]
        try:
            now = utcnow()
            for row in rows:  # in the row, not a database default: the audit digest covers it
                row.setdefault("created_at", now)
            # what each entry vouches for, worked out before the chain is locked: the lock
            # serialises every writer of every process until its commit
            payloads = {
                row["id"]: {
                    "outcome": row["outcome"],
                    "strategy": row["strategy_id"],
                    "version": row["strategy_version"],
                    "arm": row["arm"],
                    "record": record_digest(row),
                }
                for row in rows
            }
            if not self._postgres:
                with self._connection() as connection:
                    inserted = self._write_sqlite(connection, batch, payloads)
            else:
                try:
                    inserted = self._write_in_two_trips(batch, payloads)
                except _HeadMissingError:  # a new log: its head is inserted, not moved
                    with self._connection() as connection:
                        inserted = self._write_postgres(connection, batch, payloads)
        except Exception as exc:  # the requests learn it; the writer keeps running
            self._drop_connection()
            lost = getattr(exc, "connection_invalidated", False) or isinstance(
                exc, psycopg.OperationalError
            )
            if lost and not retried:
                # the kept connection died (a database restart): once more on a new one
                self._write(batch, retried=True)
                return
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
            _resolve(batch[0][2], exception=_as_sqlalchemy(exc))
            return
        for row, _, future in batch:
            _resolve(future, WriteResult(row["id"] in inserted))

    def _write_in_two_trips(
        self, batch: list[_Item], payloads: dict[str, dict[str, Any]]
    ) -> set[str]:
        """Two round trips a batch, whatever its size, on the writer's own driver connection:
        ``BEGIN`` and one statement that inserts the decisions and reads the chain's head
        row-locked; then one statement for the audit entries, velocity events and the head's
        move, and ``COMMIT``.

        Each trip is one query string of several statements (libpq's simple query protocol),
        its values JSON documents quoted by libpq's ``PQescapeLiteral``: the extended protocol
        allows one statement a message, and the driver's pipeline mode, which gathers them,
        costs about as much CPU in Python as the rest of the decision (a cursor, adapters and
        result handling per statement). The two statements are prepared once per connection
        (their plans kept, generic); a batch's values are the quoted arguments of ``EXECUTE``,
        never part of a statement's text."""
        conn = self._driver()
        pgconn = conn.pgconn
        quote = pq.Escaping(pgconn).escape_literal
        rows = quote(_dumps_bytes([row for row, _, _ in batch]))
        first = _run(
            pgconn,
            b"BEGIN; "
            + self._insert_and_lock_prepared.execute(rows=rows, head_id=str(int(HEAD_ID)).encode()),
            pq.ExecStatus.TUPLES_OK,
        )
        ids = first.get_value(0, 0) or b"{}"
        inserted = set(ids[1:-1].decode().split(",")) if len(ids) > 2 else set()
        head = head_values([_text(first.get_value(0, i)) for i in (1, 2, 3)])
        if head is None:
            _run(pgconn, b"ROLLBACK", pq.ExecStatus.COMMAND_OK)
            raise _HeadMissingError

        with ChainHead(None, self.database.audit_key, read=lambda: head) as chain:
            entries, events = _chained(chain, batch, inserted, payloads)
            moved = chain.moved()
            if moved is None:
                _run(pgconn, b"COMMIT", pq.ExecStatus.COMMAND_OK)
            else:  # committed while the chain is locked
                query = self._append_prepared.execute(
                    entries=quote(_dumps_bytes(entries)),
                    events=quote(_dumps_bytes(events)),
                    count=str(int(moved["count"])).encode(),
                    last_hash=quote(str(moved["last_hash"]).encode()),
                    mac=quote(str(moved["mac"]).encode()),
                    id=str(int(moved["id"])).encode(),
                )
                _run(pgconn, query + b"; COMMIT", pq.ExecStatus.COMMAND_OK)
        return inserted

    def _driver(self) -> psycopg.Connection[Any]:
        """The writer's own PostgreSQL connection, outside the pool (it is in autocommit
        mode, which no pooled connection may be left in)."""
        if self._raw is None or self._raw.closed or self._raw.pgconn.status != pq.ConnStatus.OK:
            if self._raw is not None:
                with contextlib.suppress(Exception):
                    self._raw.close()
            url = self.database.engine.url.set(drivername="postgresql")
            raw = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
            setup = [
                b"SET plan_cache_mode = force_generic_plan",  # planned once, not per batch
                self._insert_and_lock_prepared.prepare,
                self._append_prepared.prepare,
            ]
            _run(raw.pgconn, b"; ".join(setup), pq.ExecStatus.COMMAND_OK)
            self._raw = raw
        return self._raw

    def _write_postgres(
        self, connection: Connection, batch: list[_Item], payloads: dict[str, dict[str, Any]]
    ) -> set[str]:
        """The first batch of a new log (whose head is inserted by it), in four round trips:
        BEGIN; the decisions inserted and the chain's head read row-locked, in one
        statement; the audit entries and events; COMMIT."""
        inserted: set[str] = set()
        rows = _dumps([row for row, _, _ in batch])

        def insert_and_lock() -> dict[str, Any] | None:
            found = connection.exec_driver_sql(
                self._insert_and_lock, {"rows": rows, "head_id": HEAD_ID}
            ).one()
            inserted.update(found[0])
            return head_values(found[1:])

        with ChainHead(connection, self.database.audit_key, read=insert_and_lock) as head:
            entries, events = _chained(head, batch, inserted, payloads)
            if entries and head.stored:
                moved = head.moved()
                assert moved is not None
                connection.exec_driver_sql(
                    self._append, {"entries": _dumps(entries), "events": _dumps(events), **moved}
                )
            elif entries:  # the log's first entries: the head is inserted, not updated
                connection.exec_driver_sql(self._insert_audit, {"rows": _dumps(entries)})
                if events:
                    connection.execute(self._insert_events, events)
            head.commit()  # the signed head moves in the same transaction
        return inserted

    def _write_sqlite(
        self, connection: Connection, batch: list[_Item], payloads: dict[str, dict[str, Any]]
    ) -> set[str]:
        rows = [row for row, _, _ in batch]
        connection.execute(self._insert_decisions, rows)
        # a fresh random id is in the table now only if this insert put it there; the others
        # lost to a decision already holding their idempotency key
        inserted = set(connection.execute(self._stored_ids, {"ids": list(payloads)}).scalars())
        with ChainHead(connection, self.database.audit_key) as head:
            entries, events = _chained(head, batch, inserted, payloads)
            if entries:
                connection.execute(self._insert_audit, entries)
            if events:
                connection.execute(self._insert_events, events)
            head.commit()  # the signed head moves in the same transaction
        return inserted


def _take(item: _Item | _ToMake, batch: list[_Item]) -> None:
    """Add a queued row to ``batch``, making it first when it was queued as work."""
    if not isinstance(item, _ToMake):
        batch.append(item)
        return
    try:
        made = item.make()
    except BaseException as exc:  # the request learns it; the writer keeps running
        _resolve(item.future, exception=exc)
        return
    if made is None:
        _resolve(item.future, None)
    else:
        batch.append((made[0], made[1], item.future))


def _chained(
    head: ChainHead,
    batch: list[_Item],
    inserted: set[str],
    payloads: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The audit entries (chained, in the batch's order) and the velocity-event rows of the
    decisions this batch inserted."""
    entries = [
        head.values(f"partner:{row['partner_id']}", "decide", "decision", row["id"], payload)
        for row, _, _ in batch
        if row["id"] in inserted
        for payload in (payloads[row["id"]],)
    ]
    events = [e for row, evs, _ in batch if row["id"] in inserted for e in evs]
    return entries, events


def _as_sqlalchemy(exc: Exception) -> Exception:
    """A driver error of the pipelined path as the SQLAlchemy error the other paths raise
    (``DataError`` for a value the database refuses, ...), without its parameters: a request
    learns what went wrong, never another decision's data."""
    if isinstance(exc, psycopg.Error):
        return DBAPIError.instance(
            None, None, exc, psycopg.Error, hide_parameters=True, connection_invalidated=False
        )
    return exc


class _HeadMissingError(Exception):
    """The audit log has no head yet: the batch goes the way that inserts it."""


def _resolve(
    future: Future[WriteResult] | Future[WriteResult | None],
    result: WriteResult | None = None,
    exception: BaseException | None = None,
) -> None:
    """Resolve a request's future; one its request gave up on (cancelled) is left alone, so
    that it can never stop the writer thread."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except InvalidStateError:
        log.debug("a decision's request stopped waiting before its commit")


def _from_json(table: Any, suffix: str, skip: tuple[str, ...] = ()) -> str:
    """``INSERT INTO t (cols) SELECT cols FROM json_populate_recordset(NULL::t, %(rows)s)`` (in
    the order given) ``suffix``, as the driver takes it (``exec_driver_sql``). Each row must
    carry every column: a missing key is NULL, not the column's default."""
    cols = ", ".join(f'"{c.name}"' for c in table.columns if c.name not in skip)
    return (
        f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM json_populate_recordset('
        f'NULL::"{table.name}", %(rows)s) WITH ORDINALITY AS r ORDER BY r.ordinality {suffix}'
    )


_SLOT = re.compile(r"%\((\w+)\)s")


class _Prepared:
    """A statement prepared once on a connection (``PREPARE``), then executed by name with
    quoted literals as its arguments: a plan kept across batches, and values that are never
    part of the statement's text.

    Parameters
    ----------
    name : str
        The prepared statement's name.
    query : str
        The statement, with ``%(name)s`` slots (a slot used twice is one argument).
    """

    def __init__(self, name: str, query: str) -> None:
        self.names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in self.names:
                self.names.append(match.group(1))
            return f"${self.names.index(match.group(1)) + 1}"

        numbered = _SLOT.sub(number, query)
        self.prepare = f"PREPARE {name} AS {numbered}".encode()
        self._execute = f"EXECUTE {name}(".encode()

    def execute(self, **literals: bytes) -> bytes:
        """``EXECUTE name(...)`` with ``literals`` (already quoted) as the arguments."""
        return self._execute + b", ".join(literals[n] for n in self.names) + b")"


def _run(pgconn: Any, query: bytes, expected: pq.ExecStatus) -> Any:
    """Execute ``query`` (one or more statements), returning the last statement's result; on
    an error, the transaction is rolled back and the driver's exception for it raised."""
    result = pgconn.exec_(query)
    if result.status == expected:
        return result
    if pgconn.status != pq.ConnStatus.OK:
        raise psycopg.OperationalError("the connection to the database was lost")
    error = psycopg.errors.error_from_result(result, encoding="utf-8")
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        pgconn.exec_(b"ROLLBACK")
    raise error


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def _dumps_bytes(rows: list[dict[str, Any]]) -> bytes:
    # orjson: a decision's few kilobytes of trace in a tenth of the standard library's time;
    # datetimes as RFC 3339 text with offset (PostgreSQL reads them back to the microsecond)
    return orjson.dumps(rows, default=str)


def _dumps(rows: list[dict[str, Any]]) -> str:
    return _dumps_bytes(rows).decode()


_DIGESTED = DIGESTED
"""The columns a decision's audit entry vouches for: one list, ``ruleplus.store.audit.DIGESTED``
(with ``record_digest``, re-exported here)."""
