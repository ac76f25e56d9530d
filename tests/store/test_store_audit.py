"""The audit chain on its own: hashing, verification, tamper detection, no forks under threads."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from sqlalchemy import select, text

from ruleplus.store import Database
from ruleplus.store.audit import GENESIS, append, verify_chain
from ruleplus.store.models import AuditEntry


def _db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    database.migrate()
    return database


def test_chain_links_and_verifies(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with database.session() as session:
        for i in range(5):
            append(session, "tester", "act", "thing", str(i), {"i": i, "text": "中文"})
    with database.session() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        assert rows[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
        assert verify_chain(session) == (5, None)


def test_tampering_is_found_at_the_altered_row(tmp_path: Path) -> None:
    database = _db(tmp_path)
    with database.session() as session:
        for i in range(4):
            append(session, "tester", "act", "thing", str(i), {"amount": i * 100})
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET payload = '{\"amount\": 1}' WHERE seq = 3"))
    with database.session() as session:
        count, broken = verify_chain(session)
    assert broken is not None and broken.seq == 3 and count == 3


def test_concurrent_appends_never_fork(tmp_path: Path) -> None:
    database = _db(tmp_path)

    def work(worker: int) -> None:
        for i in range(25):
            with database.session() as session:
                append(session, f"w{worker}", "act", "thing", f"{worker}-{i}", {})

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with database.session() as session:
        assert verify_chain(session) == (100, None)
