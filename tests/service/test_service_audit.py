"""Through the service: the keyed audit log detects altered, deleted and cut-off records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from service_helpers import ADMIN, GOOD, deploy, make_client, new_partner, publish
from sqlalchemy import MetaData, Table, create_engine, text

from ruleplus.store import migrate
from ruleplus.store.audit import GENESIS, _legacy_hash


def _seed_with_decisions(client: TestClient, count: int = 5) -> None:
    partner_id, key = new_partner(client, "acme")
    publish(client)
    deploy(client, partner_id)
    for i in range(count):
        assert (
            client.post(
                "/v1/decisions/loan", json={**GOOD, "applicantId": f"A{i}"}, headers=key
            ).status_code
            == 200
        )


def _db(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.ruleplus.database  # type: ignore[attr-defined]


def test_intact_chain_verifies(client: TestClient) -> None:
    _seed_with_decisions(client)
    assert client.get("/v1/admin/audit/verify", headers=ADMIN).json() == {"ok": True, "entries": 8}


def test_altered_decision_is_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    with _db(client).engine.begin() as connection:
        victim = connection.execute(
            text("SELECT id FROM decisions ORDER BY created_at LIMIT 1 OFFSET 2")
        ).scalar()
        connection.execute(
            text("UPDATE decisions SET outcome = 'decline' WHERE id = :id"), {"id": victim}
        )
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False
    assert report["decision"] == victim
    assert "altered" in report["problem"]


def test_altered_audit_entry_is_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    with _db(client).engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4"))
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report == {
        "ok": False,
        "entries": 4,
        "first_broken_seq": 4,
        "problem": "content does not match its MAC (the row was altered, or signed with another "
        "key)",
    }


def test_removed_audit_entry_is_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    with _db(client).engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False
    assert report["first_broken_seq"] == 6


def test_deleted_decision_is_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    with _db(client).engine.begin() as connection:
        victim = connection.execute(
            text("SELECT id FROM decisions ORDER BY created_at LIMIT 1 OFFSET 1")
        ).scalar()
        connection.execute(text("DELETE FROM decisions WHERE id = :id"), {"id": victim})
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False
    assert report["decision"] == victim
    assert report["problem"] == f"decision {victim} was deleted (its audit entry remains)"


def test_edited_request_and_trace_are_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    for column, value in (("request", '{"applicantId": "A0"}'), ("trace", "[]")):
        with _db(client).engine.begin() as connection:
            victim, original = connection.execute(
                text(f"SELECT id, {column} FROM decisions ORDER BY created_at LIMIT 1")
            ).one()
            connection.execute(
                text(f"UPDATE decisions SET {column} = :v WHERE id = :id"),
                {"v": value, "id": victim},
            )
        report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
        assert report["ok"] is False and report["decision"] == victim, column
        with _db(client).engine.begin() as connection:
            connection.execute(
                text(f"UPDATE decisions SET {column} = :v WHERE id = :id"),
                {"v": original, "id": victim},
            )
        assert client.get("/v1/admin/audit/verify", headers=ADMIN).json()["ok"] is True


def test_cut_off_entries_are_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    with _db(client).engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq > 6"))
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False
    assert "the last 2 entries were cut off" in report["problem"]
    assert report["head"]["count"] == 8


def test_decisions_fail_closed_without_a_head(client: TestClient) -> None:
    partner_id, key = new_partner(client, "acme")
    publish(client)
    deploy(client, partner_id)
    with _db(client).engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    response = client.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert response.status_code == 500
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False and "head is missing" in report["problem"]


def test_a_legacy_database_is_rekeyed_when_the_service_opens_it(tmp_path: Path) -> None:
    # the previous release's database: plain SHA-256 entries, schema 0002
    url = f"sqlite:///{tmp_path / 'var' / 'ruleplus.db'}"
    migrate(url, "0002")
    engine = create_engine(url)
    entries = Table("audit_log", MetaData(), autoload_with=engine)
    prev = GENESIS
    with engine.begin() as connection:
        for i in range(3):
            at = dt.datetime(2026, 11, 1, 12, 0, i)
            payload = {"name": f"old-{i}"}
            entry_hash = _legacy_hash(prev, at, "admin", "create", "partner", f"p_{i}", payload)
            connection.execute(
                entries.insert().values(
                    at=at,
                    actor="admin",
                    action="create",
                    entity="partner",
                    entity_id=f"p_{i}",
                    payload=payload,
                    prev_hash=prev,
                    hash=entry_hash,
                )
            )
            prev = entry_hash
    engine.dispose()
    with make_client(tmp_path) as client:
        assert client.get("/v1/admin/audit/verify", headers=ADMIN).json() == {
            "ok": True,
            "entries": 4,  # three re-signed, one recording the conversion
        }
        _seed_with_decisions(client, count=2)
        assert client.get("/v1/admin/audit/verify", headers=ADMIN).json() == {
            "ok": True,
            "entries": 9,
        }


def test_a_rollback_of_entries_and_head_is_caught_by_a_recorded_head(client: TestClient) -> None:
    _seed_with_decisions(client, count=2)
    with _db(client).engine.connect() as connection:  # an old copy of the signed head
        old_head = dict(connection.execute(text("SELECT * FROM audit_head")).mappings().one())
    partner_key = new_partner(client, "other")[1]
    deploy(client, client.get("/v1/admin/partners", headers=ADMIN).json()[-1]["partner_id"])
    answer = client.post(
        "/v1/decisions/loan", json={**GOOD, "applicantId": "late"}, headers=partner_key
    )
    assert answer.status_code == 200
    recorded = client.get("/v1/admin/audit/head", headers=ADMIN).json()
    assert recorded["verified"] is True and recorded["count"] > old_head["count"]
    expect = {k: recorded[k] for k in ("count", "last_hash", "mac")}
    answer = client.post("/v1/admin/audit/verify", json={"expect_head": expect}, headers=ADMIN)
    assert answer.json() == {"ok": True, "entries": recorded["count"]}
    forged = {**expect, "mac": "0" * 64}
    report = client.post("/v1/admin/audit/verify", json={"expect_head": forged}, headers=ADMIN)
    assert report.json()["ok"] is False and "MAC" in report.json()["problem"]
    # roll everything back to the earlier, consistent state: entries, decisions and head
    with _db(client).engine.begin() as connection:
        later = connection.execute(
            text("SELECT entity, entity_id FROM audit_log WHERE seq > :n"),
            {"n": old_head["count"]},
        ).all()
        for entity, entity_id in later:
            if entity == "decision":
                connection.execute(text("DELETE FROM decisions WHERE id = :id"), {"id": entity_id})
        connection.execute(text("DELETE FROM audit_log WHERE seq > :n"), {"n": old_head["count"]})
        connection.execute(text("DELETE FROM audit_head"))
        columns = ", ".join(old_head)
        values = ", ".join(f":{c}" for c in old_head)
        connection.execute(text(f"INSERT INTO audit_head ({columns}) VALUES ({values})"), old_head)
    assert client.get("/v1/admin/audit/verify", headers=ADMIN).json()["ok"] is True  # consistent
    report = client.post("/v1/admin/audit/verify", json={"expect_head": expect}, headers=ADMIN)
    assert report.json()["ok"] is False and "expected head" in report.json()["problem"]
    bad = client.post("/v1/admin/audit/verify", json={"expect_head": {"count": -1}}, headers=ADMIN)
    assert bad.status_code == 422


def test_a_server_with_another_secret_refuses_to_start(tmp_path: Path) -> None:
    import pytest

    from ruleplus.errors import ConfigError
    from ruleplus.service import ServiceConfig, ServiceState

    env = {"RULEPLUS_DATA_DIR": str(tmp_path / "var"), "RULEPLUS_SECRET_KEY": "the-first-secret"}
    ServiceState.build(ServiceConfig.from_env(env=env)).close()
    other = ServiceConfig.from_env(env={**env, "RULEPLUS_SECRET_KEY": "another-secret"})
    with pytest.raises(ConfigError, match="does not verify with this server's secret") as info:
        ServiceState.build(other)
    assert info.value.context["key"] == "RULEPLUS_SECRET_KEY"
    ServiceState.build(ServiceConfig.from_env(env=env)).close()  # the right secret still starts
