"""Fraud signals: velocity counters and watch lists feed the strategy."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from service_helpers import ADMIN, ROOT, new_partner

CONSUMER = (ROOT / "examples" / "strategies" / "consumer_loan.yaml").read_text(encoding="utf-8")
APPLICATION = json.loads(
    (ROOT / "examples" / "requests" / "cash_loan_application.json").read_text()
)


def _seed(client: TestClient) -> dict[str, str]:
    partner_id, key = new_partner(client, "acme")
    assert (
        client.post("/v1/admin/strategies", json={"document": CONSUMER}, headers=ADMIN).status_code
        == 201
    )
    body = {
        "partner_id": partner_id,
        "product": "cash",
        "strategy_id": "consumer_loan",
        "champion": "1.0.0",
    }
    assert client.post("/v1/admin/deployments", json=body, headers=ADMIN).status_code == 201
    return key


def test_watch_list_hit_declines(client: TestClient) -> None:
    key = _seed(client)
    app = {**APPLICATION, "phone": "13800138000", "deviceId": "dev-1"}
    assert client.post("/v1/decisions/cash", json=app, headers=key).json()["decision"] == "approve"
    listed = client.post(
        "/v1/admin/lists/phone", json={"value": "138 0013 8000", "reason": "ring"}, headers=ADMIN
    )
    assert listed.json() == {
        "list": "phone",
        "value": "*******8000",
        "listed": True,
        "scope": "global",
    }
    body = client.post("/v1/decisions/cash", json={**app, "applicantId": "B2"}, headers=key).json()
    assert body["decision"] == "decline"
    assert [r["code"] for r in body["reasons"]] == ["KO06"]
    client.post("/v1/admin/lists/phone/remove", json={"value": "13800138000"}, headers=ADMIN)
    assert (
        client.post("/v1/decisions/cash", json={**app, "applicantId": "B3"}, headers=key).json()[
            "decision"
        ]
        == "approve"
    )


def test_device_velocity_declines_the_fifth_application(client: TestClient) -> None:
    key = _seed(client)
    decisions = []
    for i in range(6):
        app = {
            **APPLICATION,
            "applicantId": f"V{i}",
            "phone": f"1390000000{i}",
            "deviceId": "shared-device",
        }
        body = client.post("/v1/decisions/cash", json=app, headers=key).json()
        decisions.append((body["decision"], [r["code"] for r in body["reasons"]][:1]))
    assert all(d[0] == "approve" for d in decisions[:4])
    assert decisions[4] == ("decline", ["KO07"])
    assert decisions[5] == ("decline", ["KO07"])
    stored = client.get(f"/v1/decisions/{body['decision_id']}", headers=key).json()
    assert stored["application"]["appsPerDevice24h"] == 6


def test_sensitive_values_are_not_stored_in_clear_in_lists(
    client: TestClient, tmp_path: Path
) -> None:
    _seed(client)
    client.post("/v1/admin/lists/id_number", json={"value": "110101199003071234"}, headers=ADMIN)
    database = client.app.state.ruleplus.database  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        from sqlalchemy import text

        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM watch_lists"))]
        audit = [r[0] for r in connection.execute(text("SELECT payload FROM audit_log"))]
    assert "110101199003071234" not in repr(rows)
    assert "110101199003071234" not in repr(audit)
