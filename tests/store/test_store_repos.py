"""Repositories: keys are stored hashed, lifecycle transitions, deployments and rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ruleplus.errors import AuthenticationError, ConflictError, NotFoundError
from ruleplus.serving.strategies import read_draft, validator
from ruleplus.store import Database
from ruleplus.store.repos import (
    DeploymentRepo,
    DeploymentSpec,
    ListRepo,
    PartnerRepo,
    StrategyRepo,
)
from ruleplus.store.tables import ApiKey, ListEntry
from ruleplus.store.transitions import STRATEGY_TRANSITIONS, next_status

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "examples" / "strategies" / "reference_loan.yaml").read_text(encoding="utf-8")


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.migrate()
    return db


def test_keys_are_hashed_and_authenticate(database: Database) -> None:
    with database.session() as session:
        repo = PartnerRepo(session)
        partner, key = repo.create("acme")
        stored = session.execute(select(ApiKey)).scalar_one()
        assert key not in (stored.digest, stored.prefix) and stored.prefix == key[:10]
        assert repo.authenticate(key).id == partner.id
        with pytest.raises(AuthenticationError, match="unknown"):
            repo.authenticate(key + "x")
        repo.revoke(partner.id)
        with pytest.raises(AuthenticationError, match="revoked"):
            repo.authenticate(key)
        with pytest.raises(ConflictError):
            repo.create("acme")


def test_transition_table_is_the_only_way(database: Database) -> None:
    assert next_status("draft", "validate") == "validated"
    with pytest.raises(ConflictError, match="allowed: retire"):
        next_status("published", "publish")
    assert STRATEGY_TRANSITIONS["retired"] == {}
    with database.session() as session:
        repo = StrategyRepo(session)
        row = repo.add_draft(read_draft(DOC))
        with pytest.raises(ConflictError):
            repo.transition(row.strategy_id, row.version, "publish")  # must validate first
        with pytest.raises(TypeError, match="needs its check"):
            repo.transition(row.strategy_id, row.version, "validate")
        repo.transition(row.strategy_id, row.version, "validate", check=validator())
        repo.transition(row.strategy_id, row.version, "publish")
        assert repo.add_draft(read_draft(DOC)).id == row.id  # same content: the same version
        with pytest.raises(NotFoundError):
            repo.get("reference_loan", "9.9.9")


def test_deployments_history_and_rollback(database: Database) -> None:
    with database.session() as session:
        partner, _ = PartnerRepo(session).create("acme")
        strategies = StrategyRepo(session)
        for version in ("1.0.0", "2.0.0"):
            text = DOC.replace('version: "1.0.0"', f'version: "{version}"')
            row = strategies.add_draft(read_draft(text))
            strategies.transition(row.strategy_id, version, "validate", check=validator())
            strategies.transition(row.strategy_id, version, "publish")
        repo = DeploymentRepo(session)
        with pytest.raises(ConflictError):
            repo.rollback(partner.id, "loan")
        repo.deploy(DeploymentSpec(partner.id, "loan", "reference_loan", "1.0.0"))
        repo.deploy(DeploymentSpec(partner.id, "loan", "reference_loan", "2.0.0", channel="app"))
        assert repo.live(partner.id, "loan", "app").champion == "2.0.0"  # exact channel first
        assert repo.live(partner.id, "loan", "web").champion == "1.0.0"  # then "*"
        repo.deploy(DeploymentSpec(partner.id, "loan", "reference_loan", "2.0.0"))
        assert repo.rollback(partner.id, "loan").champion == "1.0.0"
        with pytest.raises(ConflictError, match="champion of a live deployment"):
            strategies.transition("reference_loan", "1.0.0", "retire")
        with pytest.raises(ConflictError, match="shares"):
            DeploymentSpec.build(
                partner.id,
                "loan",
                "reference_loan",
                "1.0.0",
                challengers=[{"version": "2.0.0", "share": 100}],
            )


def test_lists_store_digests_not_values(database: Database) -> None:
    with database.session() as session:
        repo = ListRepo(session, b"secret")
        repo.add("id_number", "110101199003071234", "fraud ring")
        entry = session.execute(select(ListEntry)).scalar_one()
        assert "110101199003071234" not in (entry.digest, entry.hint)
        assert entry.hint.endswith("1234")
        assert len(repo.digests()[("global", "id_number")]) == 1  # the lender's own list
        assert repo.remove("id_number", " 110101199003071234 ") is True  # white space is normalised
        assert repo.remove("id_number", "110101199003071234") is False
