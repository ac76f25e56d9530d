"""Helpers to build and seed a service app in tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ruleplus.service import ServiceConfig, create_app

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"X-Admin-Key": "test-admin-key"}
REFERENCE_DOC = (ROOT / "examples" / "strategies" / "reference_loan.yaml").read_text(
    encoding="utf-8"
)
GOOD = {
    "applicantId": "A1",
    "creditScore": 713,
    "monthlyIncome": 5200,
    "monthlyDebt": 0,
    "loanAmount": 15000,
    "termMonths": 48,
    "employmentYears": 0.25,
    "delinquencies24m": 0,
    "residentialStatus": "own",
}


def make_client(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> TestClient:
    env = {"RULEPLUS_DATA_DIR": str(tmp_path / "var"), "RULEPLUS_ADMIN_KEY": ADMIN["X-Admin-Key"]}
    if "RULEPLUS_SECRET_KEY" in os.environ:  # services of one deployment share their secret
        env["RULEPLUS_SECRET_KEY"] = os.environ["RULEPLUS_SECRET_KEY"]
    if database_url:
        env["RULEPLUS_DATABASE_URL"] = database_url
    return TestClient(create_app(ServiceConfig.from_env(env=env, **overrides)))


def new_partner(client: TestClient, name: str, **extra: Any) -> tuple[str, dict[str, str]]:
    response = client.post("/v1/admin/partners", json={"name": name, **extra}, headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["partner_id"], {"X-API-Key": body["api_key"]}


def publish(client: TestClient, document: str = REFERENCE_DOC) -> dict[str, Any]:
    response = client.post("/v1/admin/strategies", json={"document": document}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def deploy(
    client: TestClient, partner_id: str, product: str = "loan", **extra: Any
) -> dict[str, Any]:
    body = {
        "partner_id": partner_id,
        "product": product,
        "strategy_id": "reference_loan",
        "champion": "1.0.0",
        **extra,
    }
    response = client.post("/v1/admin/deployments", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()
