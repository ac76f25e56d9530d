"""Helpers to build and seed a service app in tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any) -> Iterator[tuple[str, int]]:
    """A real uvicorn on ``ruleplus.service.http:Protocol`` serving ``app`` on 127.0.0.1 in a
    thread: its base URL and port, stopped on exit."""
    import uvicorn

    from ruleplus.service.http import Protocol

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=Protocol, loop="uvloop", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(10)


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


_VOLATILE = ("decision_id", "created_at", "latency_ms")

DECISION_CASES: list[tuple[str, dict[str, Any]]] = [
    ("good", {"json": GOOD}),
    ("keyed", {"json": {**GOOD, "applicantId": "K"}, "headers": {"Idempotency-Key": "k-1"}}),
    ("replay", {"json": {**GOOD, "applicantId": "K"}, "headers": {"Idempotency-Key": "k-1"}}),
    ("reused key", {"json": {**GOOD, "applicantId": "L"}, "headers": {"Idempotency-Key": "k-1"}}),
    ("empty key", {"json": GOOD, "headers": {"Idempotency-Key": ""}}),
    ("long key", {"json": GOOD, "headers": {"Idempotency-Key": "k" * 201}}),
    ("channel", {"json": GOOD, "headers": {"X-Channel": "app"}}),
    ("bad channel", {"json": GOOD, "headers": {"X-Channel": "x" * 81}}),
    ("bad field", {"json": {**GOOD, "creditScore": "high"}}),
    ("not an object", {"content": b"[1, 2]"}),
    ("not json", {"content": b"{creditScore: 1"}),
    ("nan", {"content": b'{"creditScore": NaN}'}),
    ("unknown product", {"json": GOOD, "path": "/v1/decisions/nothing"}),
    ("long product", {"json": GOOD, "path": "/v1/decisions/" + "p" * 81}),
]


def decision_answers(client: TestClient) -> Iterator[tuple[str, int, Any, dict[str, str]]]:
    """A new partner's answers (status, body less its volatile fields, replay header) to
    :data:`DECISION_CASES`, good and bad, on the reference strategy."""
    partner_id, key = new_partner(client, "acme")
    publish(client)
    deploy(client, partner_id)
    for name, case in DECISION_CASES:
        path = case.get("path", "/v1/decisions/loan")
        headers = {**key, **case.get("headers", {})}
        if "content" in case:
            headers["Content-Type"] = "application/json"
        kwargs = {k: v for k, v in case.items() if k in ("json", "content")}
        response = client.post(path, headers=headers, **kwargs)
        body = response.json()
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in _VOLATILE}
        kept = {k: v for k, v in response.headers.items() if k in ("idempotent-replayed",)}
        yield name, response.status_code, body, kept
