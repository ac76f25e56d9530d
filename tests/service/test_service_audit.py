"""The audit chain detects an altered decision or an altered audit entry."""

from __future__ import annotations

from fastapi.testclient import TestClient
from service_helpers import ADMIN, GOOD, deploy, new_partner, publish
from sqlalchemy import text


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
        "problem": "content does not match its hash (the row was altered)",
    }


def test_removed_audit_entry_is_detected(client: TestClient) -> None:
    _seed_with_decisions(client)
    with _db(client).engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False
    assert report["first_broken_seq"] == 6
