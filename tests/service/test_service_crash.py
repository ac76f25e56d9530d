"""Crash safety: ``kill -9`` a live server mid-load, restart it on the same database, re-send.

Every decision that was acknowledged (a 2xx reached the client) must be in the database; every
request whose answer was lost is re-sent with its idempotency key, as are some answered ones,
and the retries must create no duplicates; the audit chain must verify. The server is a real
uvicorn process group on 127.0.0.1 (SQLite with one worker; PostgreSQL, when reachable, with
two); the load is a closed loop of 16 connections for 1.5 s, so the test is bounded in count and
time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _service_client as harness


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None  # the server's default: SQLite under its data directory
        return
    reason = harness.postgres_available()
    if reason:
        pytest.skip(reason)
    with harness.fresh_postgres("ruleplus_crash") as url:
        yield url


def test_kill_9_loses_no_acknowledged_decision(database_url: str | None, tmp_path: Path) -> None:
    # PostgreSQL runs as recommended, with two uvicorn workers: two writers, one audit chain
    workers = 2 if database_url else 1
    facts = harness.crash_run(
        tmp_path / "server",
        database_url,
        load_s=1.5,
        concurrency=16,
        resend_answered=40,
        workers=workers,
    )
    print(facts)  # shown when the test fails
    assert facts["answered_before_kill"] > 100, facts  # the kill came mid-load
    assert facts["in_flight_at_kill"] > 0, facts
    assert facts["non_2xx_before_kill"] == 0, facts
    assert facts["acknowledged_missing"] == 0, facts  # acknowledged => stored
    assert facts["resend_failures"] == 0, facts
    assert facts["changed_ids"] == 0, facts  # a retry answers with the first decision
    # requests in flight at the kill were either committed (the retry is a replay) or not
    # (the retry decides): either way exactly one row per key
    assert facts["resend_replayed"] == 40 + facts["committed_but_unanswered"], facts
    assert facts["rows"] == facts["distinct_keys"], facts
    assert facts["unexpected_keys"] == 0, facts
    assert facts["audit"]["ok"] is True, facts
