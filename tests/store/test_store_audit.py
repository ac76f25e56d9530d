"""The keyed audit log: HMAC chain, positions, signed head, decisions checked both ways, the
legacy conversion, tampering of every kind (SQLite, and PostgreSQL at 127.0.0.1:5432)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, create_engine, delete, insert, select, text, update

from ruleplus.errors import ConfigError
from ruleplus.serving import admin
from ruleplus.store import Database, migrate
from ruleplus.store.audit import (
    DIGESTED,
    GENESIS,
    AuditError,
    ChainHead,
    _legacy_hash,
    _legacy_record_digest,
    _time_text,
    append,
    canonical,
    derive_key,
    entry_mac,
    head_mac,
    record_digest,
    verify_chain,
)
from ruleplus.store.tables import AuditEntry, AuditHead, DecisionRecord
from ruleplus.store.writer import _DIGESTED, DecisionWriter

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
KEY = derive_key(b"test-secret")
WRONG = derive_key(b"another-secret")
ENTRIES: Any = AuditEntry.__table__
HEAD: Any = AuditHead.__table__
DECISIONS: Any = DecisionRecord.__table__


def _db(tmp_path: Path, key: bytes | None = KEY) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'audit.db'}", audit_key=key)
    database.migrate()
    return database


# --- the chain on its own ---------------------------------------------------------------------


def test_chain_links_and_verifies(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with database.session() as session:
        for i in range(5):
            append(session, KEY, "tester", "act", "thing", str(i), {"i": i, "text": "中文"})
    with database.session() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        assert rows[0].prev_hash == GENESIS
        assert [r.n for r in rows] == [1, 2, 3, 4, 5]
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
        assert verify_chain(session, KEY) == (5, None)
        head = session.execute(select(AuditHead)).scalar_one()
        assert (head.count, head.last_hash) == (5, rows[-1].hash)
        assert head.mac == head_mac(KEY, 5, rows[-1].hash)
        # keyed: the plain SHA-256 of the old scheme is not what is stored
        first = rows[0]
        plain = _legacy_hash(
            GENESIS,
            first.at,
            first.actor,
            first.action,
            first.entity,
            first.entity_id,
            first.payload,
        )
        assert first.hash != plain
        count, broken = verify_chain(session, WRONG)
    assert count == 1 and broken is not None and "MAC" in broken.problem


def test_tampering_is_found_at_the_altered_row(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with database.session() as session:
        for i in range(4):
            append(session, KEY, "tester", "act", "thing", str(i), {"amount": i * 100})
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET payload = '{\"amount\": 1}' WHERE seq = 3"))
    with database.session() as session:
        count, broken = verify_chain(session, KEY)
    assert broken is not None and broken.seq == 3 and count == 3


def test_concurrent_appends_never_fork(tmp_path: Path) -> None:
    database = _db(tmp_path)

    def work(worker: int) -> None:
        for i in range(25):
            with database.session() as session:
                append(session, KEY, f"w{worker}", "act", "thing", f"{worker}-{i}", {})

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with database.session() as session:
        assert verify_chain(session, KEY) == (100, None)


def test_a_key_is_required(tmp_path: Path) -> None:
    database = _db(tmp_path, key=None)
    with pytest.raises(ConfigError, match="audit key"):
        database.audit_key  # noqa: B018
    with pytest.raises(ConfigError, match="audit key"):
        admin.create_partner(database, "acme")
    with database.session() as session, pytest.raises(ConfigError):
        append(session, "tester", "act", "thing", "1", "x", {})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        admin.verify_audit(database)


def test_the_digest_covers_every_decision_column() -> None:
    # a column added to DecisionRecord must be added to DIGESTED (the one list) as well
    assert _DIGESTED is DIGESTED
    assert len(set(DIGESTED)) == len(DIGESTED)
    assert set(DIGESTED) == {c.name for c in DecisionRecord.__table__.columns}


def test_the_digest_normalises_time_and_skips_nulls() -> None:
    aware = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    naive = dt.datetime(2026, 1, 1, 19, 4, 5)  # the same instant, as SQLite gives it back
    base = {"id": "d_1", "created_at": aware, "latency_ms": 0.1 + 0.2}
    assert record_digest(base) == record_digest({**base, "created_at": naive})
    assert _time_text(naive) == "2026-01-01T19:04:05.000000"
    assert record_digest(base) != record_digest(
        {**base, "created_at": naive.replace(microsecond=1)}
    )
    assert record_digest(base) == record_digest({**base, "trace": None})  # a column added later
    assert record_digest(base) != record_digest({**base, "trace": []})
    assert record_digest(base) != record_digest({**base, "latency_ms": 0.30000000000000004 + 1e-16})


# --- a seeded log on SQLite and on PostgreSQL, copied fresh for every tampering --------------


@dataclass
class Seeded:
    """A seeded database and the way to get a private copy of it."""

    backend: str
    copy: Callable[[], Database]
    decisions: list[str] = field(default_factory=list)
    entries: int = 0
    opened: list[Database] = field(default_factory=list)


def _row(partner_id: str, i: int) -> dict[str, Any]:
    # every kind of JSON value, floats that need all their digits, text beyond ASCII
    return {
        "id": f"d_{uuid.uuid4().hex}",
        "partner_id": partner_id,
        "product": "loan",
        "channel": "web" if i % 2 else "*",
        "idempotency_key": f"key-{i}" if i % 2 else None,
        "request_digest": hashlib.sha256(str(i).encode()).hexdigest(),
        "request": {
            "applicantId": f"A{i}",
            "amount": 1234.5 + i / 3,
            "name": '张三 O\'Brien "q"',
            "nested": {"b": [1, 2.5e-7, None, True, {"z": -0.0}], "a": 1e300},
        },
        "application": {"applicantId": f"A{i}", "creditScore": 700 + i, "ratio": 1 / 7},
        "outcome": None if i == 2 else ("approve" if i % 3 else "decline"),
        "outputs": {"score": 0.1 + 0.2, "grade": "B1", "limit": 10**15 + i},
        "reasons": [{"code": "r1", "text": "é ü"}],
        "trace": [{"node": "n1", "ms": 0.123456789012345, "out": {"x": [i]}}],
        "shadow": [{"version": "2.0.0", "decision": "decline"}] if i % 2 else [],
        "strategy_id": "reference_loan",
        "strategy_version": "1.0.0",
        "arm": "champion",
        "latency_ms": 1.2345678901234567 * (i + 1),
    }


def _seed(database: Database, seeded: Seeded) -> None:
    assert database.ensure_keyed() == "created"
    partner_id = admin.create_partner(database, "acme")["partner_id"]
    writer = DecisionWriter(database)
    writer.start()
    try:
        rows = [_row(partner_id, i) for i in range(8)]
        for first, batch in ((True, rows[:6]), (False, rows[6:])):  # two group commits
            futures = [writer.submit(row) for row in batch]
            assert all(f.result(30).stored for f in futures)
            if first:  # and a management change between them
                admin.rotate_key(database, partner_id)
    finally:
        writer.stop()
    seeded.decisions = [r["id"] for r in rows]
    seeded.entries = 1 + 6 + 1 + 2
    report = admin.verify_audit(database)
    assert report == {"ok": True, "entries": seeded.entries}, report


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    psycopg = pytest.importorskip("psycopg")
    try:
        connection = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable: {exc}")
    created: list[str] = []
    try:
        yield connection, created
    finally:
        for name in reversed(created):
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("seed")
        source = folder / "seed.db"
        copies = itertools.count()

        def copy_sqlite() -> Database:
            target = folder / f"copy{next(copies)}.db"
            shutil.copyfile(source, target)
            database = Database(f"sqlite:///{target}", audit_key=KEY)
            result.opened.append(database)
            return database

        result = Seeded("sqlite", copy_sqlite)
        database = Database(f"sqlite:///{source}", audit_key=KEY)
        database.migrate()
        _seed(database, result)
        database.dispose()  # the last connection checkpoints the WAL into the file
    else:
        server, created = request.getfixturevalue("pg_server")
        template = f"rp_audit_{uuid.uuid4().hex[:10]}"
        server.execute(f'CREATE DATABASE "{template}"')
        created.append(template)

        def copy_pg() -> Database:
            name = f"{template}_{len(created)}"
            server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            created.append(name)
            database = Database(f"{PG_SERVER}/{name}", audit_key=KEY)
            result.opened.append(database)
            return database

        result = Seeded("postgresql", copy_pg)
        database = Database(f"{PG_SERVER}/{template}", audit_key=KEY)
        database.migrate()
        _seed(database, result)
        database.dispose()  # a template must have no connections
    yield result
    for database in result.opened:
        database.dispose()


def _nth_decision(database: Database, offset: int) -> str:
    with database.engine.connect() as connection:
        found = connection.execute(
            select(ENTRIES.c.entity_id)
            .where(ENTRIES.c.entity == "decision")
            .order_by(ENTRIES.c.seq)
            .offset(offset)
            .limit(1)
        ).scalar_one()
    return str(found)


def _edit(column: str, change: Callable[[Any], Any]) -> Callable[[Database], str]:
    def tamper(database: Database) -> str:
        victim = _nth_decision(database, 2)
        with database.engine.begin() as connection:
            value = connection.execute(
                select(DECISIONS.c[column]).where(DECISIONS.c.id == victim)
            ).scalar_one()
            connection.execute(
                update(DECISIONS).where(DECISIONS.c.id == victim).values({column: change(value)})
            )
        return victim

    return tamper


def _delete_decision(database: Database) -> str:
    victim = _nth_decision(database, 3)
    with database.engine.begin() as connection:
        connection.execute(delete(DECISIONS).where(DECISIONS.c.id == victim))
    return victim


def _extra_decision(database: Database) -> str:
    with database.engine.begin() as connection:
        row = connection.execute(select(DECISIONS).limit(1)).one()._asdict()
        row.update(id="d_" + "f" * 32, idempotency_key="forged")
        connection.execute(insert(DECISIONS).values(row))
    return "d_" + "f" * 32


def _cut(entries: int) -> Callable[[Database], None]:
    def tamper(database: Database) -> None:
        with database.engine.begin() as connection:
            last = connection.execute(
                select(ENTRIES.c.seq).order_by(ENTRIES.c.seq.desc()).limit(entries)
            ).scalars()
            connection.execute(delete(ENTRIES).where(ENTRIES.c.seq.in_(list(last))))

    return tamper


def _delete_middle_entry(database: Database) -> None:
    with database.engine.begin() as connection:
        seq = connection.execute(
            select(ENTRIES.c.seq).order_by(ENTRIES.c.seq).offset(4).limit(1)
        ).scalar_one()
        connection.execute(delete(ENTRIES).where(ENTRIES.c.seq == seq))


def _delete_head(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(delete(HEAD))


def _roll_head_back(database: Database) -> None:
    # the head one entry back, MAC'd by someone without the key
    with database.engine.begin() as connection:
        rows = connection.execute(
            select(ENTRIES.c.hash).order_by(ENTRIES.c.seq.desc()).limit(2)
        ).scalars()
        previous = list(rows)[1]
        count = connection.execute(select(HEAD.c.count)).scalar_one()
        forged = hashlib.sha256(f"{count - 1}{previous}".encode()).hexdigest()
        connection.execute(update(HEAD).values(count=count - 1, last_hash=previous, mac=forged))


def _edit_management_payload(database: Database) -> None:
    with database.engine.begin() as connection:
        seq = connection.execute(
            select(ENTRIES.c.seq).where(ENTRIES.c.action == "rotate-key")
        ).scalar_one()
        connection.execute(
            update(ENTRIES)
            .where(ENTRIES.c.seq == seq)
            .values(payload={"new_key_prefix": "rpk_forged", "kept_old": True})
        )


def _body(n: int, prev: str, e: Any) -> str:
    return canonical(
        {
            "n": n,
            "prev": prev,
            "at": _time_text(e.at),
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "payload": e.payload,
        }
    )


def _forge(
    mac: Callable[[int, str, Any], str], head: Callable[[int, str], str]
) -> Callable[[Database], str]:
    """Alter a decision, put its new digest in its entry, recompute the whole chain and head."""

    def tamper(database: Database) -> str:
        victim = _nth_decision(database, 1)
        with database.engine.begin() as connection:
            connection.execute(
                update(DECISIONS).where(DECISIONS.c.id == victim).values(outcome="forged")
            )
            row = connection.execute(select(DECISIONS).where(DECISIONS.c.id == victim)).one()
            entry = connection.execute(select(ENTRIES).where(ENTRIES.c.entity_id == victim)).one()
            connection.execute(
                update(ENTRIES)
                .where(ENTRIES.c.seq == entry.seq)
                .values(payload={**entry.payload, "record": record_digest(row._mapping)})
            )
            prev = GENESIS
            rows = connection.execute(select(ENTRIES).order_by(ENTRIES.c.seq)).all()
            for n, e in enumerate(rows, 1):
                new = mac(n, prev, e)
                connection.execute(
                    update(ENTRIES)
                    .where(ENTRIES.c.seq == e.seq)
                    .values(n=n, prev_hash=prev, hash=new)
                )
                prev = new
            connection.execute(
                update(HEAD).values(count=len(rows), last_hash=prev, mac=head(len(rows), prev))
            )
        return victim

    return tamper


def _plain_sha256(n: int, prev: str, e: Any) -> str:
    return hashlib.sha256((prev + _body(n, prev, e)).encode()).hexdigest()


def _wrong_key(n: int, prev: str, e: Any) -> str:
    return entry_mac(WRONG, n, prev, e.at, e.actor, e.action, e.entity, e.entity_id, e.payload)


def _as_legacy(database: Database) -> str:
    # downgrade: an edited decision, the whole log rewritten as a plain SHA-256 legacy chain
    victim = _nth_decision(database, 0)
    with database.engine.begin() as connection:
        connection.execute(
            update(DECISIONS).where(DECISIONS.c.id == victim).values(outcome="forged")
        )
        connection.execute(delete(HEAD))
        prev = GENESIS
        for e in connection.execute(select(ENTRIES).order_by(ENTRIES.c.seq)).all():
            payload = dict(e.payload)
            if e.entity == "decision":
                row = connection.execute(select(DECISIONS).where(DECISIONS.c.id == e.entity_id))
                payload["record"] = _legacy_record_digest(row.one()._mapping)
            new = _legacy_hash(prev, e.at, e.actor, e.action, e.entity, e.entity_id, payload)
            connection.execute(
                update(ENTRIES)
                .where(ENTRIES.c.seq == e.seq)
                .values(n=None, prev_hash=prev, hash=new, payload=payload)
            )
            prev = new
    return victim


TAMPERING: dict[str, tuple[Callable[[Database], Any], str]] = {
    "delete a decision row": (_delete_decision, "was deleted"),
    "a decision row without entry": (_extra_decision, "has no audit entry"),
    "edit request": (_edit("request", lambda v: {**v, "amount": 1}), "altered"),
    "edit application": (_edit("application", lambda v: {**v, "creditScore": 850}), "altered"),
    "edit trace": (_edit("trace", lambda v: []), "altered"),
    "edit shadow": (_edit("shadow", lambda v: [{"version": "9", "decision": "x"}]), "altered"),
    "edit latency_ms": (_edit("latency_ms", lambda v: v + 1e-9), "altered"),
    "edit created_at": (_edit("created_at", lambda v: v + dt.timedelta(microseconds=1)), "altered"),
    "edit outcome": (_edit("outcome", lambda v: "decline"), "altered"),
    "delete the last entry": (_cut(1), "the last 1 entry was cut off"),
    "delete the last 3 entries": (_cut(3), "the last 3 entries were cut off"),
    "delete an entry in the middle": (_delete_middle_entry, "entry 5 of the chain is missing"),
    "delete the head": (_delete_head, "head is missing"),
    "roll the head back": (_roll_head_back, "head's MAC is wrong"),
    "edit a management payload": (_edit_management_payload, "does not match its MAC"),
    "forge a plain SHA-256 chain": (
        _forge(_plain_sha256, lambda c, h: hashlib.sha256(f"{c}{h}".encode()).hexdigest()),
        "does not match its MAC",
    ),
    "forge an HMAC chain with another key": (
        _forge(_wrong_key, lambda c, h: head_mac(WRONG, c, h)),
        "does not match its MAC",
    ),
    "rewrite as a legacy chain": (_as_legacy, "predates keyed auditing"),
}


def test_the_untouched_copy_verifies(seeded: Seeded) -> None:
    database = seeded.copy()
    assert admin.verify_audit(database) == {"ok": True, "entries": seeded.entries}
    assert database.ensure_keyed() == "keyed"
    head = admin.audit_head(database)
    assert head["count"] == seeded.entries and head["verified"] is True


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_detected(seeded: Seeded, how: str) -> None:
    tamper, problem = TAMPERING[how]
    database = seeded.copy()
    victim = tamper(database)
    report = admin.verify_audit(database)
    assert report["ok"] is False, report
    assert problem in report["problem"], report
    if how.startswith("forge"):  # the recomputed chain breaks at its first entry
        assert report["first_broken_seq"] == 1
    if problem in ("was deleted", "has no audit entry", "altered"):
        assert report["decision"] == victim
    if problem == "altered":
        assert isinstance(report["first_broken_seq"], int)


def test_rollback_to_an_earlier_copy_needs_an_external_anchor(seeded: Seeded) -> None:
    database = seeded.copy()
    earlier = admin.audit_head(database)
    with database.engine.begin() as connection:
        saved = connection.execute(select(ENTRIES.c.seq).order_by(ENTRIES.c.seq.desc())).first()
    assert saved is not None
    admin.create_partner(database, "beta")
    later = admin.audit_head(database)
    assert later["count"] == earlier["count"] + 1
    assert admin.verify_audit(database, later)["ok"] is True
    assert admin.verify_audit(database, earlier)["ok"] is True  # a prefix of the chain
    # put back both the entries and the head as they were: consistent inside the database...
    with database.engine.begin() as connection:
        connection.execute(delete(ENTRIES).where(ENTRIES.c.seq > saved.seq))
        connection.execute(
            update(HEAD).values(
                count=earlier["count"], last_hash=earlier["last_hash"], mac=earlier["mac"]
            )
        )
    assert admin.verify_audit(database)["ok"] is True
    # ...but not against the head recorded outside it
    report = admin.verify_audit(database, later)
    assert report["ok"] is False and "fewer than" in report["problem"]
    forged = {**later, "mac": head_mac(WRONG, later["count"], later["last_hash"])}
    assert "not signed with this key" in admin.verify_audit(database, forged)["problem"]
    other = {**earlier, "last_hash": "1" * 64, "mac": head_mac(KEY, earlier["count"], "1" * 64)}
    assert "differs from the expected head" in admin.verify_audit(database, other)["problem"]


def test_a_downgrade_to_a_legacy_chain_is_caught_by_the_anchor(seeded: Seeded) -> None:
    # a writer without the key rewrites the log as an "intact legacy chain": the next start
    # re-signs it (the conversion cannot tell), and only a head recorded outside sees it
    database = seeded.copy()
    anchor = admin.audit_head(database)
    _as_legacy(database)
    assert database.ensure_keyed() == "rekeyed"
    assert admin.verify_audit(database)["ok"] is True
    report = admin.verify_audit(database, anchor)
    assert report["ok"] is False and "differs from the expected head" in report["problem"]


def test_appending_refuses_a_broken_head(seeded: Seeded) -> None:
    database = seeded.copy()
    _delete_head(database)
    assert database.ensure_keyed() == "no-head"  # not recreated: that would hide the deletion
    with pytest.raises(AuditError, match="no signed head"):
        admin.create_partner(database, "beta")
    database = seeded.copy()
    _roll_head_back(database)
    assert database.ensure_keyed() == "bad-head"
    with pytest.raises(AuditError, match="does not verify"):
        admin.create_partner(database, "beta")
    database = seeded.copy()
    wrong = Database(database.url, audit_key=WRONG)
    seeded.opened.append(wrong)
    assert wrong.ensure_keyed() == "bad-head"
    assert "MAC" in admin.verify_audit(wrong)["problem"]


def test_positions_have_no_holes_when_seq_skips(seeded: Seeded) -> None:
    # a rolled-back append uses up a PostgreSQL sequence value: seq skips, n does not
    database = seeded.copy()
    with database.session() as session:
        append_failed = False
        try:
            with ChainHead(session, KEY) as head:
                head.add("tester", "act", "thing", "x", {})
                session.flush()
                raise RuntimeError("rolled back")
        except RuntimeError:
            append_failed = True
            session.rollback()
    assert append_failed
    admin.create_partner(database, "beta")
    with database.engine.connect() as connection:
        last = connection.execute(
            select(ENTRIES.c.seq, ENTRIES.c.n).order_by(ENTRIES.c.seq.desc()).limit(2)
        ).all()
    assert last[0].n == last[1].n + 1
    if seeded.backend == "postgresql":
        assert last[0].seq == last[1].seq + 2
    assert admin.verify_audit(database) == {"ok": True, "entries": seeded.entries + 1}


# --- the legacy (plain SHA-256) chain and its one-time conversion -----------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legacy.db'}"
    server, created = request.getfixturevalue("pg_server")
    name = f"rp_legacy_{uuid.uuid4().hex[:10]}"
    server.execute(f'CREATE DATABASE "{name}"')
    created.append(name)
    return f"{PG_SERVER}/{name}"


def _legacy(url: str, decisions: int = 4, broken: bool = False) -> list[str]:
    """A database as the previous release left it: schema 0002, a plain SHA-256 chain whose
    decision entries vouch for the old subset of columns."""
    migrate(url, "0002")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    meta = MetaData()
    partners, decisions_t, entries = (
        Table(name, meta, autoload_with=engine) for name in ("partners", "decisions", "audit_log")
    )
    now = dt.datetime(2026, 11, 1, 12, 0, 0, 123456)
    ids = []
    with engine.begin() as connection:
        connection.execute(
            insert(partners).values(id="p_1", name="acme", status="active", created_at=now)
        )
        prev = GENESIS
        pending = [("admin", "create", "partner", "p_1", {"name": "acme"})]
        for i in range(decisions):
            row = _row("p_1", i)
            row["created_at"] = now + dt.timedelta(seconds=i)
            connection.execute(insert(decisions_t).values(row))
            ids.append(row["id"])
            payload = {"outcome": row["outcome"], "record": _legacy_record_digest(row)}
            pending.append(("partner:p_1", "decide", "decision", row["id"], payload))
        for k, (actor, action, entity, entity_id, payload) in enumerate(pending):
            at = now + dt.timedelta(seconds=k)
            entry_hash = _legacy_hash(prev, at, actor, action, entity, entity_id, payload)
            if broken and k == 2:
                payload = {**payload, "outcome": "edited"}
            connection.execute(
                insert(entries).values(
                    at=at,
                    actor=actor,
                    action=action,
                    entity=entity,
                    entity_id=entity_id,
                    payload=payload,
                    prev_hash=prev,
                    hash=entry_hash,
                )
            )
            prev = entry_hash
    engine.dispose()
    migrate(url)
    return ids


def test_an_intact_legacy_chain_is_rekeyed_once(legacy_url: str) -> None:
    ids = _legacy(legacy_url)
    database = Database(legacy_url, audit_key=KEY)
    try:
        report = admin.verify_audit(database)
        assert report["ok"] is False and "predates keyed auditing" in report["problem"]
        with pytest.raises(AuditError, match="predates keyed auditing"):
            admin.create_partner(database, "beta")
        assert database.ensure_keyed() == "rekeyed"
        assert database.ensure_keyed() == "keyed"
        assert admin.verify_audit(database) == {"ok": True, "entries": 1 + 4 + 1}
        with database.session() as session:
            rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        assert [r.n for r in rows] == list(range(1, 7))
        assert rows[-1].action == "rekey" and rows[-1].payload["legacy_entries"] == 5
        assert rows[-1].payload["decisions_pinned"] == 4
        assert all(r.payload["rekey_record"] for r in rows if r.entity == "decision")
        admin.create_partner(database, "beta")  # the keyed chain goes on
        assert admin.verify_audit(database) == {"ok": True, "entries": 7}
        # every column of the old decisions is covered from the conversion on
        with database.engine.begin() as connection:
            connection.execute(
                update(DECISIONS).where(DECISIONS.c.id == ids[1]).values(trace=[{"forged": 1}])
            )
        report = admin.verify_audit(database)
        assert report["ok"] is False and report["decision"] == ids[1]
        assert "altered" in report["problem"]
    finally:
        database.dispose()


def test_a_broken_legacy_chain_is_not_resigned(legacy_url: str) -> None:
    _legacy(legacy_url, broken=True)
    database = Database(legacy_url, audit_key=KEY)
    try:
        assert database.ensure_keyed() == "legacy-broken"
        report = admin.verify_audit(database)
        assert report["ok"] is False and report["first_broken_seq"] == 3
        assert report["problem"] == "content does not match its hash (the row was altered)"
        with pytest.raises(AuditError):
            admin.create_partner(database, "beta")
        # an operator who has seen the report may accept it: the break goes into the log
        assert database.ensure_keyed(accept_broken=True) == "rekeyed"
        assert admin.verify_audit(database)["ok"] is True
        with database.session() as session:
            last = session.execute(
                select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
            ).scalar_one()
        assert last.payload["legacy_break"]["seq"] == 3
    finally:
        database.dispose()


def test_a_legacy_decision_altered_before_the_conversion_is_not_resigned(
    legacy_url: str,
) -> None:
    ids = _legacy(legacy_url)
    database = Database(legacy_url, audit_key=KEY)
    try:
        with database.engine.begin() as connection:
            connection.execute(delete(DECISIONS).where(DECISIONS.c.id == ids[2]))
        assert database.ensure_keyed() == "legacy-broken"
        report = admin.verify_audit(database)
        assert report["ok"] is False and report["decision"] == ids[2]
        assert "was deleted" in report["problem"]
    finally:
        database.dispose()


def test_decisions_audited_before_the_fast_digest_still_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ruleplus.store.audit as audit_module
    import ruleplus.store.writer as writer_module

    database = _db(tmp_path)
    assert database.ensure_keyed() == "created"
    partner_id = admin.create_partner(database, "acme")["partner_id"]
    rows = [_row(partner_id, i) for i in range(6)]
    for form, batch in (("v1", rows[:3]), ("fast", rows[3:])):
        if form == "v1":  # as the writer did before the fast digest
            monkeypatch.setattr(writer_module, "record_digest", audit_module._record_digest_v1)
        writer = DecisionWriter(database)
        writer.start()
        try:
            assert all(f.result(30).stored for f in [writer.submit(r) for r in batch])
        finally:
            writer.stop()
        monkeypatch.undo()
    with database.engine.connect() as connection:
        audited = [
            p["record"]
            for p in connection.execute(
                select(ENTRIES.c.payload)
                .where(ENTRIES.c.entity == "decision")
                .order_by(ENTRIES.c.seq)
            ).scalars()
        ]
    assert [a.startswith("o1:") for a in audited] == [False] * 3 + [True] * 3
    assert admin.verify_audit(database) == {"ok": True, "entries": 7}
    for victim in (rows[1]["id"], rows[4]["id"]):  # one row of each form, altered
        with database.engine.begin() as connection:
            connection.execute(
                update(DECISIONS).where(DECISIONS.c.id == victim).values(outcome="approve?")
            )
        report = admin.verify_audit(database)
        assert report["ok"] is False and report["decision"] == victim
        with database.engine.begin() as connection:
            original = next(r for r in rows if r["id"] == victim)["outcome"]
            connection.execute(
                update(DECISIONS).where(DECISIONS.c.id == victim).values(outcome=original)
            )
    assert admin.verify_audit(database)["ok"] is True


def test_the_writer_reconnects_when_its_connection_dies(pg_server: Any) -> None:
    server, created = pg_server
    name = f"rp_writer_{uuid.uuid4().hex[:10]}"
    server.execute(f'CREATE DATABASE "{name}"')
    created.append(name)
    database = Database(f"{PG_SERVER}/{name}", audit_key=KEY)
    database.migrate()
    assert database.ensure_keyed() == "created"
    partner_id = admin.create_partner(database, "acme")["partner_id"]
    writer = DecisionWriter(database)
    writer.start()
    try:
        assert writer.submit(_row(partner_id, 1)).result(30).stored
        # the database drops every connection of the writer (a restart, a failover)
        server.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        assert writer.submit(_row(partner_id, 2)).result(30).stored  # retried on a new one
    finally:
        writer.stop()
    assert admin.verify_audit(database) == {"ok": True, "entries": 3}
    database.dispose()


def test_a_request_that_stopped_waiting_never_stops_the_writer(tmp_path: Path) -> None:
    database = _db(tmp_path)
    assert database.ensure_keyed() == "created"
    partner_id = admin.create_partner(database, "acme")["partner_id"]
    writer = DecisionWriter(database)
    gone = writer.submit(_row(partner_id, 1))
    assert gone.cancel()  # its request timed out or was cancelled before the writer ran
    writer.start()
    try:
        assert writer.submit(_row(partner_id, 2)).result(30).stored  # the writer still runs
    finally:
        writer.stop()
    assert admin.verify_audit(database) == {"ok": True, "entries": 3}  # both stored
