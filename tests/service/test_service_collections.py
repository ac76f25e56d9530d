"""Collections endpoints: partner-scoped queue, promises and outcomes, audited."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from fastapi.testclient import TestClient
from service_helpers import ADMIN, deploy, new_partner

ACCOUNTS = [
    {"account_id": "L-1", "bucket": "M1", "balance": 1200.0, "score": 700},
    {"account_id": "L-2", "bucket": "M3", "balance": 5400.5, "score": 560},
    {"account_id": "L-3", "bucket": "current", "balance": 300.0, "score": 720},
    {"account_id": "L-4", "bucket": "M6+", "balance": 9000.0},
    {"account_id": "L-5", "bucket": "M2", "balance": 800.0, "score": 630},
]
TODAY = dt.date(2026, 12, 1)

LINEAR = """
id: partner_collections
version: "7"
inputs:
  account_id: {type: string}
  bucket: {type: string, required: true}
  balance: {type: number, required: true}
outputs: [action, pay_probability, action_cost]
nodes:
  - id: all
    type: expression
    assign:
      action: '"call"'
      pay_probability: 0.5
      action_cost: 10
"""


def _queue(client: TestClient, key: dict[str, str], day: dt.date = TODAY) -> dict[str, object]:
    response = client.post(
        "/v1/collections/queue",
        json={"accounts": ACCOUNTS, "date": day.isoformat()},
        headers=key,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_queue_ranks_by_expected_recovery(client: TestClient) -> None:
    _, key = new_partner(client, "lender-a")
    body = _queue(client, key)
    assert body["strategy"] == {"id": "collections", "version": "1.0.0"}
    queue = body["queue"]
    assert isinstance(queue, list)
    assert [q["account_id"] for q in queue if q["bucket"] == "current"] == []
    assert len(queue) == 4
    for q in queue:  # the stated formula, to the cent
        want = Decimal(q["pay_probability"]) * Decimal(q["balance"]) - Decimal(q["action_cost"])
        assert Decimal(q["expected_recovery"]) == want.quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )
    ers = [Decimal(q["expected_recovery"]) for q in queue]
    assert ers == sorted(ers, reverse=True)
    assert client.post("/v1/collections/queue", json={"accounts": ACCOUNTS}).status_code == 401


def test_promise_holds_the_account_and_is_partner_scoped(client: TestClient) -> None:
    _, key_a = new_partner(client, "lender-a")
    _, key_b = new_partner(client, "lender-b")
    due = (TODAY + dt.timedelta(days=5)).isoformat()
    promised = client.post(
        "/v1/collections/promises",
        json={"account_id": "L-2", "amount": "500.00", "due_date": due, "note": "pays Friday"},
        headers=key_a,
    )
    assert promised.status_code == 201, promised.text
    assert promised.json()["kind"] == "promise"
    body = _queue(client, key_a)
    assert body["held"] == 1
    assert "L-2" not in [q["account_id"] for q in body["queue"]]  # type: ignore[union-attr]
    # the other partner's queue is its own
    other = _queue(client, key_b)
    assert other["held"] == 0
    assert "L-2" in [q["account_id"] for q in other["queue"]]  # type: ignore[union-attr]
    assert client.get("/v1/collections/accounts/L-2/events", headers=key_b).json() == []
    # after the due date the account is back
    later = _queue(client, key_a, TODAY + dt.timedelta(days=6))
    assert later["held"] == 0
    # a broken promise ends it at once
    client.post(
        "/v1/collections/promises",
        json={"account_id": "L-4", "amount": "100.00", "due_date": due},
        headers=key_a,
    )
    assert _queue(client, key_a)["held"] == 2
    broken = client.post(
        "/v1/collections/events",
        json={"account_id": "L-4", "kind": "outcome", "note": "broken: no payment"},
        headers=key_a,
    )
    assert broken.status_code == 201, broken.text
    assert _queue(client, key_a)["held"] == 1


def test_events_are_recorded_and_audited(client: TestClient) -> None:
    _, key = new_partner(client, "lender-a")
    _, other = new_partner(client, "lender-b")
    before = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    for body in (
        {"account_id": "L-1", "kind": "action", "action": "sms_reminder"},
        {"account_id": "L-1", "kind": "payment", "amount": "120.50", "note": "card"},
    ):
        response = client.post("/v1/collections/events", json=body, headers=key)
        assert response.status_code == 201, response.text
    events = client.get("/v1/collections/accounts/L-1/events", headers=key).json()
    assert [(e["kind"], e["action"], e["amount"]) for e in events] == [
        ("action", "sms_reminder", None),
        ("payment", None, "120.50"),
    ]
    performance = client.get("/v1/collections/performance", headers=key).json()
    assert performance["events"] == 2
    assert performance["by_action"]["sms_reminder"]["paid"] == "120.50"
    assert performance["by_action"]["sms_reminder"]["pay_rate"] == 1.0
    assert client.get("/v1/collections/performance", headers=other).json()["events"] == 0
    after = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert after["ok"] is True
    assert after["entries"] == before["entries"] + 2


def test_bad_events_are_refused(client: TestClient) -> None:
    _, key = new_partner(client, "lender-a")
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    cases = [
        ("/v1/collections/promises", {"account_id": "L-1", "amount": "5", "due_date": past}),
        (
            "/v1/collections/promises",
            {"account_id": "L-1", "amount": "5.001", "due_date": "2999-01-01"},
        ),
        ("/v1/collections/events", {"account_id": "L-1", "kind": "payment"}),
        ("/v1/collections/events", {"account_id": "L-1", "kind": "action"}),
        ("/v1/collections/events", {"account_id": "L-1", "kind": "refund"}),
    ]
    for path, body in cases:
        response = client.post(path, json=body, headers=key)
        assert response.status_code in (400, 422), (body, response.text)
    bad_queue = client.post(
        "/v1/collections/queue",
        json={"accounts": [{"account_id": "x", "bucket": "M9", "balance": 1}]},
        headers=key,
    )
    assert bad_queue.status_code == 422
    assert "bucket" in bad_queue.text


def test_partner_deployment_chooses_the_strategy(client: TestClient) -> None:
    partner_id, key = new_partner(client, "lender-a")
    published = client.post("/v1/admin/strategies", json={"document": LINEAR}, headers=ADMIN)
    assert published.status_code == 201, published.text
    deploy(client, partner_id, "collections", strategy_id="partner_collections", champion="7")
    body = _queue(client, key)
    assert body["strategy"] == {"id": "partner_collections", "version": "7"}
    queue = body["queue"]
    # 0.5 x balance - 10: the order of the balances
    assert [q["account_id"] for q in queue] == ["L-4", "L-2", "L-1", "L-5"]  # type: ignore[union-attr]
