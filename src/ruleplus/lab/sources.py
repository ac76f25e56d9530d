"""Historical applications from the service database: a read-only SQL query, and the stored
decisions of each strategy for the service's drift gauges."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ruleplus.errors import DataError
from ruleplus.lab.frames import expand_json_columns
from ruleplus.lab.monitor import monitor
from ruleplus.store import Database
from ruleplus.store.tables import DecisionRecord

__all__ = ["read_sql", "stored_drift"]


def _frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    if not records:
        return pl.DataFrame()
    return pl.DataFrame(records, infer_schema_length=None, strict=False)


def read_sql(
    db: Database, query: str, json_columns: tuple[str, ...] = ("application",)
) -> pl.DataFrame:
    """Run one SELECT against the service database, read-only, as a frame.

    The transaction is read-only (SQLite ``query_only``, PostgreSQL ``READ ONLY``), so a query
    can never change the database. Columns named in ``json_columns`` holding JSON objects (a
    stored decision's ``application``) are unnested into top-level columns.

    Parameters
    ----------
    db : Database
        The service database.
    query : str
        For example ``SELECT d.application, d.created_at, o.value AS bad FROM decisions d
        LEFT JOIN outcomes o ON o.decision_id = d.id AND o.name = 'bad_90dpd_12m'``.
    json_columns : tuple of str
        Columns to unnest.
    """
    try:
        with db.engine.connect() as connection:
            if db.is_sqlite:
                connection.exec_driver_sql("PRAGMA query_only = ON")
            else:
                connection.execute(text("SET TRANSACTION READ ONLY"))
            try:
                result = connection.execute(text(query))
                names = list(result.keys())
                rows = [dict(zip(names, row, strict=True)) for row in result]
            finally:
                connection.rollback()
                if db.is_sqlite:
                    connection.exec_driver_sql("PRAGMA query_only = OFF")
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise DataError(f"the SQL query failed: {cause}", field="sql") from None
    return expand_json_columns(_frame(rows), json_columns)


def _stored(
    db: Database, strategy_id: str, start: dt.datetime, end: dt.datetime, limit: int
) -> pl.DataFrame:
    with db.session() as session:
        rows = session.execute(
            select(DecisionRecord.application, DecisionRecord.outcome)
            .where(
                DecisionRecord.strategy_id == strategy_id,
                DecisionRecord.created_at >= start,
                DecisionRecord.created_at < end,
            )
            .order_by(DecisionRecord.created_at.desc())
            .limit(limit)
        ).all()
    records = [{**(app or {}), "_decision": outcome} for app, outcome in rows]
    return _frame(records)


def stored_drift(
    db: Database,
    *,
    now: dt.datetime | None = None,
    window: dt.timedelta = dt.timedelta(days=1),
    baseline: dt.timedelta = dt.timedelta(days=28),
    max_rows: int = 20_000,
) -> list[dict[str, Any]]:
    """Stability of each strategy's stored inputs: the last ``window`` against the ``baseline``
    before it (at most ``max_rows`` decisions a side, the most recent).

    Returns
    -------
    list of dict
        Per strategy with decisions on both sides: ``strategy``, ``columns`` (input -> PSI),
        ``approval_rate`` (current) and ``approval_difference``.
    """
    now = now or dt.datetime.now(dt.UTC)
    split = now - window
    with db.session() as session:
        ids = session.execute(
            select(DecisionRecord.strategy_id)
            .where(DecisionRecord.created_at >= split, DecisionRecord.created_at < now)
            .group_by(DecisionRecord.strategy_id)
            .having(func.count() > 0)
        ).scalars()
        strategies = sorted(ids)
    out = []
    for strategy_id in strategies:
        base = _stored(db, strategy_id, split - baseline, split, max_rows)
        cur = _stored(db, strategy_id, split, now, max_rows)
        if base.is_empty() or cur.is_empty():
            continue
        result = monitor(base, cur, decision="_decision")
        out.append(
            {
                "strategy": strategy_id,
                "columns": {c["column"]: c["psi"] for c in result["columns"]},
                "approval_rate": result["approval"]["current_rate"],
                "approval_difference": result["approval"]["difference"],
            }
        )
    return out
