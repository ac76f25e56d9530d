"""Deciding over HTTP: persistence, idempotency, validation errors, tenant isolation."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from service_helpers import ADMIN, GOOD, REFERENCE_DOC, deploy, make_client, new_partner, publish


def _seed(client: TestClient, name: str = "acme") -> tuple[str, dict[str, str]]:
    partner_id, key = new_partner(client, name)
    publish(client)
    deploy(client, partner_id)
    return partner_id, key


def test_decision_is_returned_and_stored(client: TestClient) -> None:
    _, key = _seed(client)
    response = client.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "approve"
    assert body["outputs"]["riskGrade"] == "B1"
    assert body["reasons"][0]["code"] == "OK"
    assert body["strategy"] == {"id": "reference_loan", "version": "1.0.0"}
    stored = client.get(f"/v1/decisions/{body['decision_id']}", headers=key)
    assert stored.status_code == 200
    assert stored.json()["outputs"] == body["outputs"]
    assert stored.json()["application"]["creditScore"] == 713


def test_idempotent_retry_returns_the_stored_decision(client: TestClient) -> None:
    _, key = _seed(client)
    headers = {**key, "Idempotency-Key": "order-1"}
    first = client.post("/v1/decisions/loan", json=GOOD, headers=headers)
    again = client.post("/v1/decisions/loan", json=GOOD, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["decision_id"] == first.json()["decision_id"]
    other = client.post("/v1/decisions/loan", json={**GOOD, "loanAmount": 9000}, headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    audit = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    decisions = [1 for _ in range(1)]  # one decision audited, plus 3 management entries
    assert audit["ok"] is True
    assert audit["entries"] == 3 + len(decisions)


def test_invalid_application_lists_every_field(client: TestClient) -> None:
    _, key = _seed(client)
    response = client.post(
        "/v1/decisions/loan", json={"creditScore": 250, "monthlyIncome": "lots"}, headers=key
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    fields = {e["field"]: e["problem"] for e in problem["errors"]}
    assert fields["creditScore"] == "must be between 300 and 900"
    assert fields["monthlyIncome"].startswith("expected a finite number")
    assert "termMonths" in fields
    assert "lots" not in response.text


def test_body_must_be_an_object(client: TestClient) -> None:
    _, key = _seed(client)
    response = client.post(
        "/v1/decisions/loan", content=b"[1, 2]", headers={**key, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    response = client.post(
        "/v1/decisions/loan", content=b"{oops", headers={**key, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_partners_are_isolated(client: TestClient) -> None:
    _, key_a = _seed(client, "a")
    _partner_b, key_b = new_partner(client, "b")
    decided = client.post("/v1/decisions/loan", json=GOOD, headers=key_a).json()
    assert client.get(f"/v1/decisions/{decided['decision_id']}", headers=key_b).status_code == 404
    # b has no deployment of its own: a's deployment is not used for b
    assert client.post("/v1/decisions/loan", json=GOOD, headers=key_b).status_code == 404
    assert client.get("/v1/deployments", headers=key_b).json() == []
    assert len(client.get("/v1/deployments", headers=key_a).json()) == 1


def test_keys_revoked_and_rotated(client: TestClient) -> None:
    partner_id, key = _seed(client)
    assert client.post("/v1/decisions/loan", json=GOOD, headers=key).status_code == 200
    rotated = client.post(
        f"/v1/admin/partners/{partner_id}/rotate-key", json={}, headers=ADMIN
    ).json()
    assert client.post("/v1/decisions/loan", json=GOOD, headers=key).status_code == 401
    new_key = {"X-API-Key": rotated["api_key"]}
    assert client.post("/v1/decisions/loan", json=GOOD, headers=new_key).status_code == 200
    client.post(f"/v1/admin/partners/{partner_id}/revoke-keys", json={}, headers=ADMIN)
    response = client.post("/v1/decisions/loan", json=GOOD, headers=new_key)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"
    assert client.post("/v1/decisions/loan", json=GOOD).status_code == 401


def test_management_needs_the_admin_key(client: TestClient) -> None:
    assert client.post("/v1/admin/partners", json={"name": "x"}).status_code == 401
    assert (
        client.post(
            "/v1/admin/partners", json={"name": "x"}, headers={"X-Admin-Key": "wrong"}
        ).status_code
        == 401
    )
    _, key = new_partner(client, "p")
    assert (
        client.get("/v1/admin/partners", headers={"X-Admin-Key": key["X-API-Key"]}).status_code
        == 401
    )


def test_rate_limit(client: TestClient) -> None:
    partner_id, key = new_partner(client, "slow", rate_limit_per_s=1)
    publish(client)
    deploy(client, partner_id)
    assert client.post("/v1/decisions/loan", json=GOOD, headers=key).status_code == 200
    limited = client.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_champion_challenger_shadow_and_rollback(client: TestClient) -> None:
    partner_id, key = new_partner(client, "cc")
    publish(client)
    publish(
        client,
        (client.get("/v1/admin/strategies/reference_loan/1.0.0", headers=ADMIN).json()["document"])
        .replace('version: "1.0.0"', 'version: "1.1.0"')
        .replace(
            "min(loanAmount, monthlyIncome * 12 * 4)", "min(loanAmount, monthlyIncome * 12 * 2)"
        ),
    )
    publish(client, REFERENCE_DOC.replace('version: "1.0.0"', 'version: "1.2.0"'))
    deploy(client, partner_id, challengers=[{"version": "1.1.0", "share": 30}], shadows=["1.2.0"])
    arms: dict[str, int] = {}
    for i in range(300):
        body = client.post(
            "/v1/decisions/loan", json={**GOOD, "applicantId": f"A{i}"}, headers=key
        ).json()
        arms[body["arm"]] = arms.get(body["arm"], 0) + 1
        assert body["strategy"]["version"] == ("1.1.0" if body["arm"] != "champion" else "1.0.0")
        assert "shadow" not in body
    assert 50 < arms["challenger:1.1.0"] < 130
    # the same applicant always gets the same arm
    first = client.post(
        "/v1/decisions/loan", json={**GOOD, "applicantId": "A7"}, headers=key
    ).json()["arm"]
    assert all(
        client.post("/v1/decisions/loan", json={**GOOD, "applicantId": "A7"}, headers=key).json()[
            "arm"
        ]
        == first
        for _ in range(3)
    )
    deploy(client, partner_id)  # champion only
    assert {
        client.post(
            "/v1/decisions/loan", json={**GOOD, "applicantId": f"B{i}"}, headers=key
        ).json()["arm"]
        for i in range(30)
    } == {"champion"}
    back = client.post(
        "/v1/admin/deployments/rollback",
        json={"partner_id": partner_id, "product": "loan"},
        headers=ADMIN,
    )
    assert back.status_code == 200
    assert back.json()["challengers"] == [{"version": "1.1.0", "share": 30.0}]


def test_strategy_lifecycle_conflicts(client: TestClient) -> None:
    publish(client)
    changed = REFERENCE_DOC.replace("R02: {en: Credit score below 500", "R02: {en: Score below 500")
    response = client.post("/v1/admin/strategies", json={"document": changed}, headers=ADMIN)
    assert response.status_code == 409  # published versions are immutable
    response = client.post("/v1/admin/strategies/reference_loan/1.0.0/publish", headers=ADMIN)
    assert response.status_code == 409
    assert "cannot publish a published" in response.json()["detail"]
    draft = client.post(
        "/v1/admin/strategies",
        json={"document": REFERENCE_DOC.replace('"1.0.0"', '"2.0.0"'), "publish": False},
        headers=ADMIN,
    ).json()
    assert draft["status"] == "validated"
    diff = client.get(
        "/v1/admin/strategies/reference_loan/diff",
        params={"old": "1.0.0", "new": "2.0.0"},
        headers=ADMIN,
    )
    assert '-version: "1.0.0"' in diff.text and '+version: "2.0.0"' in diff.text
    bad = client.post(
        "/v1/admin/strategies", json={"document": "id: x\nnodes: []\ninputs: {}\n"}, headers=ADMIN
    )
    assert bad.status_code == 422


def test_field_mapping_and_dry_run(client: TestClient) -> None:
    partner_id, key = _seed(client)
    mapping = {
        "fields": {
            "applicantId": {"from": "applicant.id"},
            "creditScore": {"from": "bureau.score"},
            "monthlyIncome": {"from": "income.cents", "scale": 0.01},
            "monthlyDebt": {"value": 0},
            "loanAmount": {"from": "loan.amount"},
            "termMonths": {"from": "loan.term"},
            "employmentYears": {"from": "job.years"},
            "delinquencies24m": {"from": "bureau.dlq"},
            "residentialStatus": {"from": "housing", "map": {"O": "own", "R": "rent"}},
        }
    }
    assert (
        client.put(
            f"/v1/admin/partners/{partner_id}/mappings/loan",
            json={"document": mapping},
            headers=ADMIN,
        ).json()["version"]
        == 1
    )
    payload = {
        "applicant": {"id": "X9"},
        "bureau": {"score": 713, "dlq": 0},
        "income": {"cents": 520000},
        "loan": {"amount": 15000, "term": 48},
        "job": {"years": 0.25},
        "housing": "O",
    }
    dry = client.post("/v1/mappings/loan/dry-run", json=payload, headers=key).json()
    assert dry["valid"] is True
    assert dry["application"]["monthlyIncome"] == 5200.0
    decided = client.post("/v1/decisions/loan", json=payload, headers=key).json()
    assert decided["outputs"]["riskGrade"] == "B1"
    wrong = client.post(
        "/v1/mappings/loan/dry-run", json={**payload, "housing": "Z"}, headers=key
    ).json()
    assert wrong["valid"] is False
    assert {e["field"] for e in wrong["errors"]} >= {"housing", "residentialStatus"}


def test_body_size_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from service_helpers import make_client

    with make_client(tmp_path, max_body_bytes=300) as small:
        _, key = _seed(small)
        big = {**GOOD, "notes": "x" * 1000}
        response = small.post("/v1/decisions/loan", json=big, headers=key)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"


def test_operations_endpoints(client: TestClient) -> None:
    _, key = _seed(client)
    client.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    metrics = client.get("/metrics", headers=ADMIN).text
    assert (
        'ruleplus_decisions_total{arm="champion",outcome="approve",strategy="reference_loan"} 1.0'
        in metrics
    )
    assert "ruleplus_decision_latency_seconds_bucket" in metrics
    assert client.get("/openapi.json", headers=ADMIN).json()["info"]["title"] == "ruleplus"


def test_metrics_and_docs_need_the_admin_key_unless_made_public(tmp_path: Path) -> None:
    with make_client(tmp_path / "closed") as closed:
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert closed.get(path).status_code == 401, path
            assert closed.get(path, headers={"X-Admin-Key": "wrong"}).status_code == 401
        assert closed.get("/healthz").status_code == 200
    with make_client(tmp_path / "open", public_ops=True) as public:
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert public.get(path).status_code == 200, path


def test_a_restarted_service_compiles_what_is_deployed_before_the_first_request(
    tmp_path: Path,
) -> None:
    """Regression: each worker's first applications after a start paid for the compile."""
    with make_client(tmp_path) as first:
        _, key = _seed(first)
        other_id, _ = new_partner(first, "other")
        deploy(first, other_id, product="card")
    with make_client(tmp_path) as client:
        decisions = client.app.state.ruleplus.decisions  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        while len(decisions._products) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {product for _, product in decisions._products} == {"loan", "card"}
        assert ("reference_loan", "1.0.0") in decisions._strategies
        response = client.post("/v1/decisions/loan", json=GOOD, headers=key)
        assert response.status_code == 200, response.text
        assert decisions.warm(limit=1) == 1  # the most recent binding only
