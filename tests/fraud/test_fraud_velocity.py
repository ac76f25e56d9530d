"""One contract that every velocity store passes: memory, the database (SQLite and PostgreSQL)
and Redis. The real stores run against the local servers; each is skipped, with the reason,
only when its server is unreachable.

A counter keeps one window (a counter's name stands for "this key, over that window"): stores
may forget events older than the window, so the same counter is never asked about two windows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from ruleplus.fraud import (
    DatabaseVelocity,
    MemoryVelocity,
    RedisVelocity,
    VelocityStore,
    parse_window,
)
from ruleplus.store import Database
from ruleplus.store.tables import VelocityEvent

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = 1_700_000_000_000  # explicit clock, milliseconds
MINUTE = 60


def _postgres_database() -> Iterator[Database]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable: {exc}")
    name = f"ruleplus_velocity_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = Database(f"{PG_SERVER}/{name}")
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis_store() -> Iterator[RedisVelocity]:
    redis = pytest.importorskip("redis")
    prefix = f"ruleplus:test:{uuid.uuid4().hex}:"
    store = RedisVelocity(REDIS_URL, prefix=prefix)
    try:
        store.client.ping()
    except redis.RedisError as exc:
        store.client.close()
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    try:
        yield store
    finally:
        keys = list(store.client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            store.client.delete(*keys)
        assert not list(store.client.scan_iter(match=prefix + "*"))
        store.client.close()


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[Database]:
    """One fresh PostgreSQL database for the module, dropped afterwards."""
    yield from _postgres_database()


@pytest.fixture(params=["memory", "database-sqlite", "database-postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryVelocity()
    elif request.param == "database-sqlite":
        database = Database(f"sqlite:///{tmp_path / 'velocity.db'}")
        database.migrate()
        yield DatabaseVelocity(database)
        database.dispose()
    elif request.param == "database-postgresql":
        database = request.getfixturevalue("postgres_database")
        with database.engine.begin() as connection:
            connection.execute(delete(VelocityEvent))
        yield DatabaseVelocity(database)
    else:
        yield from _redis_store()


def _hit(
    store: VelocityStore, counter: str, digest: str, at_ms: int, window_s: int = MINUTE
) -> int:
    (count,) = store.hit([(counter, digest, window_s)], now_ms=at_ms)
    return count


def test_counts_every_event_within_the_window(store: VelocityStore) -> None:
    assert [_hit(store, "device_1h", "d1", T0 + i * 1000, 3600) for i in range(5)] == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_events_expire_after_the_window(store: VelocityStore) -> None:
    assert _hit(store, "phone_1m", "p1", T0) == 1
    assert _hit(store, "phone_1m", "p1", T0 + 30_000) == 2
    # the window is (now - window, now]: an event exactly one window old no longer counts
    assert _hit(store, "phone_1m", "p1", T0 + 60_000) == 2  # T0 is out; T0+30s and now are in
    assert _hit(store, "phone_1m", "p1", T0 + 89_999) == 3  # T0+30s still in (by 1 ms)
    assert _hit(store, "phone_1m", "p1", T0 + 90_000) == 3  # T0+30s out now
    assert _hit(store, "phone_1m", "p1", T0 + 10 * 60_000) == 1  # all earlier ones expired


def test_counters_and_keys_are_independent(store: VelocityStore) -> None:
    assert store.hit(
        [("device", "a", MINUTE), ("phone", "a", MINUTE), ("device", "b", MINUTE)], now_ms=T0
    ) == [1, 1, 1]
    assert store.hit(
        [("device", "a", MINUTE), ("device", "a", MINUTE), ("phone", "b", MINUTE)], now_ms=T0 + 1
    ) == [2, 3, 1]
    assert _hit(store, "phone", "a", T0 + 2) == 2
    assert _hit(store, "device", "b", T0 + 3) == 2
    assert store.hit([], now_ms=T0 + 4) == []


def test_events_out_of_order_are_counted_by_their_time(store: VelocityStore) -> None:
    # clocks of several service processes disagree a little; each event counts by its own time
    assert _hit(store, "device", "skew", T0 + 10_000) == 1
    assert _hit(store, "device", "skew", T0 + 5_000) == 2
    assert _hit(store, "device", "skew", T0 + 66_000) == 2  # T0+5s fell out, T0+10s is in


def test_concurrent_hits_on_one_key_all_count(store: VelocityStore) -> None:
    # a burst of applications from one device is the very thing velocity must catch
    threads, counts, barrier = 8, [], threading.Barrier(8)
    lock = threading.Lock()

    def hit() -> None:
        barrier.wait(10)
        count = _hit(store, "device", "burst", T0)
        with lock:
            counts.append(count)

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert sorted(counts) == list(range(1, threads + 1))


def test_without_a_clock_the_current_time_is_used(store: VelocityStore) -> None:
    assert store.hit([("device", "now", MINUTE)]) == [1]
    assert store.hit([("device", "now", MINUTE)]) == [2]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("24h", 86_400),
        ("7d", 604_800),
        ("2w", 1_209_600),
        (" 5 m ", 300),
        ("1s", 1),
        (30, 30),
    ],
)
def test_parse_window(text: str | int, seconds: int) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize(
    "text", ["0s", 0, -5, "-5m", "5x", "", "1.5h", "m", "5 minutes", True, "15M"]
)
def test_parse_window_rejects(text: Any) -> None:
    with pytest.raises(ValueError, match="window"):
        parse_window(text)
