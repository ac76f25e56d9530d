"""Console users (serving.users and ``ruleplus users``): argon2 hashes, lock-out, sessions,
roles, and maker-checker on the shared publish path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ruleplus.cli import app
from ruleplus.errors import AuthenticationError, ConflictError, DataError
from ruleplus.serving import admin, users
from ruleplus.store import Database
from ruleplus.store.audit import derive_key, verify_log
from ruleplus.store.tables import AuditEntry, ConsoleUser, utcnow

PASSWORD = "correct horse battery"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'console.db'}", audit_key=derive_key(b"k" * 32))
    database.migrate()
    return database


def test_password_is_an_argon2id_hash_and_bad_input_is_named(db: Database) -> None:
    info = users.create_user(db, "ana", "analyst", PASSWORD, "test")
    assert info == {**info, "name": "ana", "role": "analyst", "status": "active"}
    with db.session() as session:
        stored = session.execute(select(ConsoleUser)).scalar_one()
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    with pytest.raises(DataError, match="at least 10") as short:
        users.create_user(db, "bob", "analyst", "short", "test")
    assert short.value.context["field"] == "password"
    with pytest.raises(DataError, match="unknown role"):
        users.create_user(db, "bob", "superuser", PASSWORD, "test")
    with pytest.raises(DataError, match="reserved"):
        users.create_user(db, "admin", "admin", PASSWORD, "test")
    with pytest.raises(ConflictError, match="exists"):
        users.create_user(db, "ana", "viewer", PASSWORD, "test")


def test_lock_out_after_repeated_failures_and_it_expires(db: Database) -> None:
    users.create_user(db, "ana", "analyst", PASSWORD, "test")
    now = utcnow()
    for _ in range(users.LOCK_AFTER - 1):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            users.login(db, "ana", "wrong password!", now=now)
    users.login(db, "ana", PASSWORD, now=now)  # a success resets the count
    for _ in range(users.LOCK_AFTER):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            users.login(db, "ana", "wrong password!", now=now)
    with pytest.raises(AuthenticationError, match="locked"):
        users.login(db, "ana", PASSWORD, now=now + dt.timedelta(minutes=1))
    later = now + users.LOCK_FOR + dt.timedelta(seconds=1)
    assert users.login(db, "ana", PASSWORD, now=later).identity.name == "ana"
    users.unlock_user(db, "ana", "test")
    with db.session() as session:
        actions = [e.action for e in session.execute(select(AuditEntry)).scalars()]
    assert actions.count("login-failed") == 2 * users.LOCK_AFTER - 1
    assert "login-locked" in actions and actions.count("login") == 2 and "unlock" in actions
    with db.engine.connect() as connection:
        assert verify_log(connection, db.audit_key).ok


def test_sessions_expire_end_on_logout_and_on_role_change(db: Database) -> None:
    users.create_user(db, "ana", "analyst", PASSWORD, "test")
    opened = users.login(db, "ana", PASSWORD)
    identity = users.session_identity(db, opened.token)
    assert identity.role == "analyst" and identity.to_dict()["permissions"] == ["draft", "read"]
    users.check_csrf(identity, opened.csrf)
    with pytest.raises(users.PermissionDeniedError):
        users.check_csrf(identity, "forged")
    with pytest.raises(AuthenticationError, match="ended"):
        users.session_identity(db, opened.token, now=opened.expires_at + dt.timedelta(seconds=1))
    users.set_role(db, "ana", "approver", "test")
    with pytest.raises(AuthenticationError, match="ended"):
        users.session_identity(db, opened.token)
    again = users.login(db, "ana", PASSWORD)
    assert users.session_identity(db, again.token).role == "approver"
    users.logout(db, users.session_identity(db, again.token))
    with pytest.raises(AuthenticationError):
        users.session_identity(db, again.token)
    users.disable_user(db, "ana", "test")
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        users.login(db, "ana", PASSWORD)
    with pytest.raises(AuthenticationError, match="sign in"):
        users.session_identity(db, None)


def test_roles_allow_what_they_should() -> None:
    assert users.may("viewer", "read") and not users.may("viewer", "draft")
    assert users.may("analyst", "draft") and not users.may("analyst", "approve")
    assert users.may("approver", "approve") and not users.may("approver", "admin")
    assert all(users.may("admin", p) for p in ("read", "draft", "approve", "admin"))


def test_maker_checker_on_the_shared_publish_path(db: Database, tmp_path: Path) -> None:
    text = (
        Path(__file__).resolve().parents[2] / "examples/strategies/reference_loan.yaml"
    ).read_text()
    drafted = admin.publish_strategy(db, text, "ana", publish=False)
    assert drafted["status"] == "validated"
    with pytest.raises(ConflictError, match="maker-checker"):
        admin.transition_strategy(
            db, "reference_loan", "1.0.0", "publish", "ana", maker_checker=True
        )
    out = admin.transition_strategy(
        db, "reference_loan", "1.0.0", "publish", "apu", maker_checker=True
    )
    assert out["status"] == "published"
    from ruleplus.store.repos import StrategyRepo

    with db.session() as session:
        row = StrategyRepo(session).get("reference_loan", "1.0.0")
    assert (row.created_by, row.approved_by) == ("ana", "apu")
    # the CLI / admin-key path publishes in one step, as before (one trusted actor)
    other = text.replace('version: "1.0.0"', 'version: "1.0.9"')
    assert admin.publish_strategy(db, other, "cli")["status"] == "published"


def test_cli_creates_lists_and_unlocks_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULEPLUS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RULEPLUS_DATABASE_URL", raising=False)
    runner = CliRunner()
    created = runner.invoke(
        app,
        ["users", "create", "ana", "--role", "analyst", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.output
    assert "ana: analyst (active)" in created.output
    refused = runner.invoke(app, ["users", "create", "bob", "--role", "analyst", "--json"])
    assert refused.exit_code == 2 and "--password-stdin" in refused.output
    listed = runner.invoke(app, ["users", "list", "--json"])
    assert '"name": "ana"' in listed.output and "argon2" not in listed.output
    bad_role = runner.invoke(app, ["users", "set-role", "ana", "--role", "boss"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    assert runner.invoke(app, ["users", "unlock", "ana"]).exit_code == 0
