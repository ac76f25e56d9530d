"""The service database as a data source: read-only queries (SQLite and PostgreSQL), stored
applications unnested, champion/challenger counts bounded in time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ruleplus.cli.demo import example_strategy_path
from ruleplus.errors import DataError
from ruleplus.lab import read_sql
from ruleplus.lab.compare import deployment_arm_counts
from ruleplus.serving import admin
from ruleplus.store import Database
from ruleplus.store.audit import derive_key
from ruleplus.store.repos import DeploymentSpec
from ruleplus.store.tables import DecisionRecord


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lab.db'}"


def _seed(url: str) -> tuple[Database, int, list[DecisionRecord]]:
    db = Database(url, audit_key=derive_key(b"lab-sources-secret-0123456789abcdef"))
    db.migrate()
    db.ensure_keyed()
    partner = admin.create_partner(db, "acme")["partner_id"]
    text = example_strategy_path("reference_loan.yaml").read_text(encoding="utf-8")
    admin.publish_strategy(db, text)
    dep = admin.deploy(db, DeploymentSpec(partner, "loan", "reference_loan", "1.0.0"))
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    rows = [
        DecisionRecord(
            id=f"d_{i:04d}",
            partner_id=partner,
            product="loan",
            channel="web",
            request_digest="x",
            request={},
            application={"creditScore": 500 + i, "tier": "a"},
            outcome="approve" if i % 2 else "decline",
            outputs={},
            reasons=[],
            strategy_id="reference_loan",
            strategy_version="1.0.0",
            arm="champion",
            latency_ms=1.0,
            created_at=start + dt.timedelta(days=i),
        )
        for i in range(10)
    ]
    with db.session() as session:
        session.add_all(rows)
        session.commit()
    return db, int(dep["deployment_id"]), rows


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_queries_are_read_only_and_unnest_applications(
    which: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_url" if which == "sqlite" else "pg_url")
    db, dep, rows = _seed(url)
    try:
        frame = read_sql(db, "SELECT id, application, outcome FROM decisions ORDER BY id")
        assert frame["creditScore"].to_list() == [500 + i for i in range(10)]
        assert set(frame.columns) == {"id", "creditScore", "tier", "outcome"}
        with pytest.raises(DataError, match="SQL query failed"):
            read_sql(db, "DELETE FROM decisions")
        with pytest.raises(DataError, match="SQL query failed"):
            read_sql(db, "SELECT nope FROM decisions")
        assert read_sql(db, "SELECT count(*) AS n FROM decisions")["n"][0] == 10
        # compare's counts bounded in time (aware bounds against the stored times)
        since = rows[3].created_at - dt.timedelta(hours=1)
        until = rows[7].created_at - dt.timedelta(hours=1)
        _, counts, _ = deployment_arm_counts(db, dep, since=since, until=until)
        assert [(c.arm, c.n, c.approved) for c in counts] == [("champion", 4, 2)]
    finally:
        db.dispose()
