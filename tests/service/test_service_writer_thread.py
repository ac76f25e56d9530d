"""Which thread makes a decision: a cheap one (small body, deployment cached, no signals, quick
lately) on the group-commit writer's thread, any other in the worker pool - and both answer
alike (the pattern of the row/vector agreement tests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import (
    ADMIN,
    GOOD,
    ROOT,
    decision_answers,
    deploy,
    make_client,
    new_partner,
    publish,
)

import ruleplus.serving.decisions as decisions_module
from ruleplus.serving.decisions import DecisionService

CONSUMER = (ROOT / "examples" / "strategies" / "consumer_loan.yaml").read_text(encoding="utf-8")


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each decision was made on, in order."""
    made: list[str] = []
    real = DecisionService.prepare

    def spy(self: DecisionService, *args: Any, **kwargs: Any) -> Any:
        made.append(threading.current_thread().name.split("_")[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DecisionService, "prepare", spy)
    return made


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as c:
        yield c


def _seeded(client: TestClient) -> dict[str, str]:
    partner_id, key = new_partner(client, "acme")
    publish(client)
    deploy(client, partner_id)
    return key


def _decide(client: TestClient, key: dict[str, str], body: Any, **headers: str) -> int:
    return client.post("/v1/decisions/loan", json=body, headers={**key, **headers}).status_code


def test_a_cheap_decision_is_made_on_the_writer_thread_once_its_deployment_is_cached(
    client: TestClient, threads: list[str]
) -> None:
    key = _seeded(client)
    assert [_decide(client, key, GOOD) for _ in range(3)] == [200, 200, 200]
    # the first loads the deployment (database reads): the pool; then the writer
    assert threads == ["ruleplus-decide", "ruleplus-writer", "ruleplus-writer"]


def test_a_large_body_is_decided_in_the_pool(client: TestClient, threads: list[str]) -> None:
    key = _seeded(client)
    assert _decide(client, key, GOOD) == 200
    threads.clear()
    large = {**GOOD, "note": "x" * (decisions_module._INLINE_MAX_BODY + 1)}
    assert _decide(client, key, large) == 200
    assert _decide(client, key, GOOD) == 200
    assert threads == ["ruleplus-decide", "ruleplus-writer"]


def test_a_deployment_whose_decisions_were_slow_is_decided_in_the_pool(
    client: TestClient, threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _seeded(client)
    assert [_decide(client, key, GOOD) for _ in range(2)] == [200, 200]
    monkeypatch.setattr(decisions_module, "_INLINE_BUDGET_S", 0.0)  # any decision is slow now
    threads.clear()
    assert [_decide(client, key, GOOD) for _ in range(2)] == [200, 200]
    assert threads == ["ruleplus-decide", "ruleplus-decide"]


def test_a_strategy_with_signals_is_decided_in_the_pool(
    client: TestClient, threads: list[str]
) -> None:
    """Velocity counts and watch lists read the store: never on the writer's thread."""
    partner_id, key = new_partner(client, "acme")
    publish(client, CONSUMER)
    body = {"partner_id": partner_id, "product": "cash", "strategy_id": "consumer_loan"}
    body["champion"] = "1.0.0"
    deployed = client.post("/v1/admin/deployments", json=body, headers=ADMIN)
    assert deployed.status_code == 201, deployed.text
    application = (ROOT / "examples" / "requests" / "cash_loan_application.json").read_text()
    for _ in range(3):
        response = client.post(
            "/v1/decisions/cash",
            content=application,
            headers={**key, "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
    assert set(threads) == {"ruleplus-decide"}


def test_an_identity_block_is_verified_in_the_pool(client: TestClient, threads: list[str]) -> None:
    key = _seeded(client)
    assert _decide(client, key, GOOD) == 200
    threads.clear()
    # no face models in this service: refused, but only after the pool took it
    assert _decide(client, key, {**GOOD, "identity": {"selfie": "AA==", "id_photo": "AA=="}}) == 503
    assert threads == ["ruleplus-decide"]


def test_a_refused_keyed_request_is_looked_up_in_the_pool(
    client: TestClient, threads: list[str]
) -> None:
    """An invalid request with an Idempotency-Key may be the retry of one stored under the key
    (before the deployment changed): the pool, which reads the store, answers it."""
    key = _seeded(client)
    assert _decide(client, key, GOOD) == 200
    threads.clear()
    assert _decide(client, key, {**GOOD, "creditScore": "high"}, **{"Idempotency-Key": "k"}) == 422
    assert threads == ["ruleplus-writer", "ruleplus-decide"]
    threads.clear()
    assert _decide(client, key, {**GOOD, "creditScore": "high"}) == 422  # no key: answered there
    assert threads == ["ruleplus-writer"]


def test_the_writer_thread_and_the_pool_answer_alike(
    tmp_path: Path, threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(tmp_path / "writer") as on_writer:
        got = list(decision_answers(on_writer))
        audit_writer = on_writer.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert "ruleplus-writer" in threads
    threads.clear()
    monkeypatch.setattr(decisions_module, "_INLINE_MAX_BODY", -1)  # every body to the pool
    with make_client(tmp_path / "pool") as in_pool:
        want = list(decision_answers(in_pool))
        audit_pool = in_pool.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert set(threads) == {"ruleplus-decide"}
    assert [g[:2] for g in got] == [w[:2] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g == w, g[0]
    assert audit_writer == audit_pool and audit_writer["ok"] is True  # as many stored


def test_a_failing_maker_answers_its_request_and_the_writer_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _seeded(client)
    assert _decide(client, key, GOOD) == 200
    service = client.app.state.ruleplus.decisions  # type: ignore[attr-defined]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "_make_on_writer", broken)
    response = client.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert response.status_code == 500 and "boom" not in response.text
    monkeypatch.undo()
    assert _decide(client, key, GOOD) == 200
    assert client.get("/v1/admin/audit/verify", headers=ADMIN).json()["ok"] is True


def test_what_decisions_cost_survives_a_reload_of_the_deployment(
    client: TestClient, threads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache reloads a deployment every few seconds: a slow one stays in the pool."""
    key = _seeded(client)
    assert _decide(client, key, GOOD) == 200
    monkeypatch.setattr(decisions_module, "_INLINE_BUDGET_S", 0.0)
    service = client.app.state.ruleplus.decisions  # type: ignore[attr-defined]
    [(product_key, product)] = service._products.items()
    cost = product.by_channel["*"].cost_s
    assert cost > 0.0
    product.loaded_at -= service.cache_ttl_s  # expired: the next request reloads it
    threads.clear()
    assert [_decide(client, key, GOOD) for _ in range(2)] == [200, 200]
    reloaded = service._products[product_key]
    assert reloaded is not product and reloaded.by_channel["*"].cost_s > 0.0
    assert threads == ["ruleplus-decide", "ruleplus-decide"]
