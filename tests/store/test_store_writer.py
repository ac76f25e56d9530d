"""The group-commit writer on PostgreSQL: the two-trip path, a new log's first batch, a lost
connection, a refused row, values that look like SQL or like the statements' own slots (a
fresh database for this module, dropped after)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy import func, select

from ruleplus.store import Database
from ruleplus.store.audit import derive_key, read_head, verify_log
from ruleplus.store.tables import AuditEntry, DecisionRecord, Partner, VelocityEvent
from ruleplus.store.writer import DecisionWriter

KEY = derive_key(b"writer-test-secret")


@pytest.fixture(scope="module")
def database(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url, audit_key=KEY)
    db.migrate()  # no ensure_keyed(): the log has no head until the first batch
    with db.session() as session:
        session.add(Partner(id="p1", name="partner one"))
        session.commit()
    yield db
    db.dispose()


def _row(key: str | None = None, product: str = "loan") -> dict[str, Any]:
    return {
        "id": "d_" + uuid.uuid4().hex,
        "partner_id": "p1",
        "product": product,
        "channel": "*",
        "idempotency_key": key,
        "request_digest": "0" * 64,
        "request": {"income": 5000, "name": "王小明"},
        "application": {"income": 5000},
        "outcome": "approve",
        "outputs": {"decision": "approve", "limit": "12000.00"},
        "reasons": [{"code": "OK"}],
        "trace": [{"node": "score", "inputs": {"income": 5000}}],
        "shadow": [],
        "strategy_id": "s",
        "strategy_version": "1",
        "arm": "champion",
        "latency_ms": 0.5,
        "application_id": None,
        "parameters": None,
        "offer": None,
    }


def _count(database: Database, model: Any) -> int:
    with database.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _verified(database: Database) -> None:
    with database.session() as session:
        report = verify_log(session, KEY)
    assert report.ok, report.to_dict()
    assert report.entries == _count(database, AuditEntry)


def _write(writer: DecisionWriter, items: list[tuple[dict[str, Any], list[Any]]]) -> list[Any]:
    """Queue ``items`` while the writer is stopped, so that they share one batch."""
    writer.stop()
    futures = [writer.submit(row, events) for row, events in items]
    writer.start()
    return [f.exception(30) or f.result(30) for f in futures]


def test_a_new_log_then_two_trip_batches_keep_one_verified_chain(database: Database) -> None:
    with database.session() as session:
        assert read_head(session) is None
    writer = DecisionWriter(database)
    writer.start()
    try:
        event = {"counter": "p:p1:phone_7d", "digest": "d" * 64, "at_ms": 1}
        first = _write(writer, [(_row(), [event]), (_row(), [])])
        assert [r.stored for r in first] == [True, True]
        with database.session() as session:
            head = read_head(session)
        assert head is not None and head["count"] == 2  # the head was inserted by that batch
        # later batches take the two-trip path: decisions, entries and events all land
        later = _write(writer, [(_row(f"k{i}"), [event]) for i in range(5)])
        assert all(r.stored for r in later)
        # the same idempotency key again: not stored, no entry, no event
        again = _write(writer, [(_row("k0"), [event]), (_row("k-new"), [])])
        assert [r.stored for r in again] == [False, True]
    finally:
        writer.stop()
    assert _count(database, DecisionRecord) == 2 + 5 + 1
    assert _count(database, VelocityEvent) == 1 + 5
    with database.session() as session:
        head = read_head(session)
    assert head is not None and head["count"] == 8
    _verified(database)


def test_a_lost_connection_is_replaced_and_the_batch_written(database: Database) -> None:
    writer = DecisionWriter(database)
    writer.start()
    try:
        assert _write(writer, [(_row(), [])])[0].stored
        raw = writer._raw
        assert raw is not None, "the two-trip path holds a driver connection of its own"
        with psycopg.connect(
            database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (raw.info.backend_pid,))
        assert _write(writer, [(_row(), []), (_row(), [])])[0].stored
        assert writer._raw is not raw
    finally:
        writer.stop()
    _verified(database)


def test_a_refused_row_fails_alone_as_a_sqlalchemy_data_error(database: Database) -> None:
    before = _count(database, DecisionRecord)
    writer = DecisionWriter(database)
    writer.start()
    try:
        good, bad = _write(writer, [(_row(), []), (_row(product="x" * 500), [])])
    finally:
        writer.stop()
    assert good.stored is True
    # as the SQLAlchemy paths raise it (the service answers 422), without the row's values
    assert isinstance(bad, sqlalchemy.exc.DataError)
    assert "too long" in str(bad) and "王小明" not in str(bad)
    assert _count(database, DecisionRecord) == before + 1
    _verified(database)


def test_values_are_stored_as_given_whatever_they_look_like(database: Database) -> None:
    """The two-trip path splices quoted literals into its statements: quotes, backslashes,
    SQL and text shaped like the statements' own slots are stored exactly as sent."""
    nasty = [
        "it's '; DROP TABLE decisions; --",
        "back\\slash \\' E'\\x00'",
        "%(entries)s %(rows)s %(count)s $1 $$ dollar $$",
        "王小明 \u2028 \t tab",
    ]
    rows = []
    for i, text in enumerate(nasty):
        row = _row(f"nasty-{i}-{text}")
        row["request"] = {"name": text, "note": {"inner": [text, 1.5, None, True]}}
        rows.append(row)
    writer = DecisionWriter(database)
    writer.start()
    try:
        event = {"counter": "p:p1:%(events)s", "digest": "e" * 64, "at_ms": 2}
        assert all(r.stored for r in _write(writer, [(row, [event]) for row in rows]))
    finally:
        writer.stop()
    with database.session() as session:
        for row in rows:
            stored = session.get(DecisionRecord, row["id"])
            assert stored is not None
            assert stored.request == row["request"]
            assert stored.idempotency_key == row["idempotency_key"]
        counters = session.execute(
            select(VelocityEvent.counter).where(VelocityEvent.at_ms == 2)
        ).scalars()
        assert list(counters) == ["p:p1:%(events)s"] * len(rows)
    _verified(database)


def test_rows_made_on_the_writer_thread_share_a_batch_with_queued_ones(
    database: Database,
) -> None:
    """``submit_made``: the maker runs on the writer's thread and its row joins the batch
    being gathered; a maker that makes nothing resolves None, one that raises gets its own
    exception, and neither stops the writer or fails its neighbours."""
    before = _count(database, DecisionRecord)
    made_on: list[str] = []
    made = _row("made-1")
    event = {"counter": "p:p1:made", "digest": "m" * 64, "at_ms": 3}

    def maker() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        made_on.append(threading.current_thread().name)
        return made, [event]

    def nothing() -> None:
        return None

    def broken() -> None:
        raise RuntimeError("boom")

    writer = DecisionWriter(database)
    writer.stop()  # queue them while it is stopped, so that they share one batch
    queued = writer.submit(_row())
    futures = [writer.submit_made(maker), writer.submit_made(nothing), writer.submit_made(broken)]
    last = writer.submit(_row())
    writer.start()
    try:
        assert queued.result(30).stored and last.result(30).stored
        result = futures[0].result(30)
        assert result is not None and result.stored
        assert futures[1].result(30) is None
        assert isinstance(futures[2].exception(30), RuntimeError)
        assert made_on == ["ruleplus-writer"]
        again = writer.submit_made(lambda: (_row("made-1"), []))  # a key already stored
        stored_again = again.result(30)
        assert stored_again is not None and stored_again.stored is False
    finally:
        writer.stop()
    assert _count(database, DecisionRecord) == before + 3
    with database.session() as session:
        assert session.get(DecisionRecord, made["id"]) is not None
        counters = session.execute(select(VelocityEvent.counter)).scalars().all()
    assert "p:p1:made" in counters
    _verified(database)
