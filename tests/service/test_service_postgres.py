"""The main service flows on a real PostgreSQL (a fresh database for this module, dropped after).

Skipped, with the reason, only when PostgreSQL at 127.0.0.1:5432 is unreachable.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import ADMIN, GOOD, deploy, make_client, new_partner, publish
from sqlalchemy import func, select, text

from ruleplus.serving.decisions import DecisionRequest
from ruleplus.store.tables import AuditEntry, DecisionRecord


@pytest.fixture(scope="module")
def pg(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with make_client(tmp_path_factory.mktemp("pg"), database_url=pg_url) as client:
        assert client.app.state.ruleplus.database.engine.dialect.name == "postgresql"  # type: ignore[attr-defined]
        publish(client)
        yield client


def _seeded(client: TestClient, product: str = "loan") -> tuple[str, dict[str, str]]:
    partner_id, key = new_partner(client, f"p-{uuid.uuid4().hex[:8]}")
    deploy(client, partner_id, product)
    return partner_id, key


def _count(client: TestClient, model: Any, *where: Any) -> int:
    database = client.app.state.ruleplus.database  # type: ignore[attr-defined]
    with database.session() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar())


def _verify(client: TestClient) -> dict[str, Any]:
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is True, report
    assert report["entries"] == _count(client, AuditEntry)
    return dict(report)


def test_decide_persists_and_reads_back(pg: TestClient) -> None:
    partner_id, key = _seeded(pg)
    response = pg.post("/v1/decisions/loan", json=GOOD, headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["decision"], body["outputs"]["riskGrade"]) == ("approve", "B1")
    stored = pg.get(f"/v1/decisions/{body['decision_id']}", headers=key).json()
    assert stored["outputs"] == body["outputs"]
    assert stored["application"] == GOOD
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == partner_id) == 1
    _verify(pg)


def test_idempotent_retries_write_once(pg: TestClient) -> None:
    partner_id, key = _seeded(pg)
    headers = {**key, "Idempotency-Key": "order-1"}
    first = pg.post("/v1/decisions/loan", json=GOOD, headers=headers)
    again = pg.post("/v1/decisions/loan", json=GOOD, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "created_at": again.json()["created_at"]}
    other = pg.post("/v1/decisions/loan", json={**GOOD, "loanAmount": 9000}, headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    # the same key, sent by many at once: one decision, everyone gets it
    burst = {**key, "Idempotency-Key": "order-2"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: pg.post("/v1/decisions/loan", json=GOOD, headers=burst), range(16))
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["decision_id"] for a in answers}) == 1
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == partner_id) == 2
    _verify(pg)


def test_non_finite_numbers_are_refused_not_stored(pg: TestClient) -> None:
    partner_id, key = _seeded(pg)
    body = (
        b'{"applicantId": "N1", "creditScore": 713, "monthlyIncome": 5200, "monthlyDebt": 0, '
        b'"loanAmount": 15000, "termMonths": 48, "employmentYears": 1, "delinquencies24m": 0, '
        b'"residentialStatus": "own", "notes": NaN}'
    )
    response = pg.post(
        "/v1/decisions/loan", content=body, headers={**key, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert "finite" in response.json()["detail"]
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == partner_id) == 0


def test_partners_are_isolated(pg: TestClient) -> None:
    a_id, key_a = _seeded(pg)
    b_id, key_b = new_partner(pg, f"b-{uuid.uuid4().hex[:8]}")
    decided = pg.post("/v1/decisions/loan", json=GOOD, headers={**key_a, "Idempotency-Key": "k1"})
    assert (
        pg.get(f"/v1/decisions/{decided.json()['decision_id']}", headers=key_b).status_code == 404
    )
    assert pg.post("/v1/decisions/loan", json=GOOD, headers=key_b).status_code == 404
    assert pg.get("/v1/deployments", headers=key_b).json() == []
    deploy(pg, b_id)
    # the same idempotency key is per partner: b gets its own decision
    mine = pg.post("/v1/decisions/loan", json=GOOD, headers={**key_b, "Idempotency-Key": "k1"})
    assert mine.status_code == 200
    assert "Idempotent-Replayed" not in mine.headers
    assert mine.json()["decision_id"] != decided.json()["decision_id"]
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == a_id) == 1
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == b_id) == 1
    _verify(pg)


def test_concurrent_decisions_are_all_stored_and_chained(pg: TestClient) -> None:
    partner_id, key = _seeded(pg)
    keys = [f"c-{i}" for i in range(200)]
    retried = keys[::10]  # 20 of them sent twice, as a retrying partner would

    def decide(idempotency_key: str) -> tuple[str, int, str]:
        application = {
            **GOOD,
            "applicantId": idempotency_key,
            "creditScore": 600 + len(idempotency_key) * 20,
        }
        response = pg.post(
            "/v1/decisions/loan",
            json=application,
            headers={**key, "Idempotency-Key": idempotency_key},
        )
        return idempotency_key, response.status_code, response.json().get("decision_id", "")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(decide, keys + retried))
    assert {status for _, status, _ in answers} == {200}
    by_key: dict[str, set[str]] = {}
    for idempotency_key, _, decision_id in answers:
        by_key.setdefault(idempotency_key, set()).add(decision_id)
    assert all(len(ids) == 1 for ids in by_key.values())  # retries got the first decision
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == partner_id) == len(keys)
    assert _count(
        pg, AuditEntry, AuditEntry.entity == "decision", AuditEntry.actor == f"partner:{partner_id}"
    ) == len(keys)
    _verify(pg)


class _NoLock:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def test_two_writers_keep_one_chain(
    pg: TestClient, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two services on one database, as two uvicorn workers are: each has its own writer thread,
    # and (with the in-process lock taken away here) only PostgreSQL's advisory lock keeps the
    # audit chain from forking
    monkeypatch.setattr("ruleplus.store.audit._LOCK", _NoLock())
    _, key = _seeded(pg)
    errors: list[BaseException] = []
    with make_client(tmp_path, database_url=pg_url) as second:
        assert second.app.state.ruleplus.writer is not pg.app.state.ruleplus.writer  # type: ignore[attr-defined]

        def load(client: TestClient, tag: str) -> None:
            try:
                for i in range(60):
                    response = client.post(
                        "/v1/decisions/loan", json={**GOOD, "applicantId": f"{tag}{i}"}, headers=key
                    )
                    assert response.status_code == 200, response.text
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=load, args=(c, t)) for c in (pg, second) for t in "xy"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not errors, errors
    _verify(pg)


def test_a_bad_row_fails_alone(pg: TestClient) -> None:
    # the group commit writes many requests' rows in one transaction: a row the database
    # refuses must fail its own request only, not its batch-mates
    partner_id, _ = _seeded(pg)
    state = pg.app.state.ruleplus  # type: ignore[attr-defined]
    good = state.decisions.prepare(DecisionRequest(partner_id, "loan", dict(GOOD))).row
    bad = state.decisions.prepare(
        DecisionRequest(partner_id, "loan", {**GOOD, "applicantId": "B"})
    ).row
    bad["product"] = "x" * 500  # longer than the column
    writer = state.writer
    writer.stop()  # queue both before the writer runs, so that they share a batch
    futures = [writer.submit(good), writer.submit(bad)]
    writer.start()
    assert futures[0].result(30).stored is True
    with pytest.raises(Exception, match="too long"):
        futures[1].result(30)
    assert _count(pg, DecisionRecord, DecisionRecord.partner_id == partner_id) == 1
    _verify(pg)


def test_audit_verify_sees_a_tampered_row(pg_url: str, tmp_path: Path) -> None:
    # last in the module: it alters the shared database (and puts it back)
    with make_client(tmp_path, database_url=pg_url) as client:
        _, key = _seeded(client)
        decided = client.post("/v1/decisions/loan", json=GOOD, headers=key).json()["decision_id"]
        engine = client.app.state.ruleplus.database.engine  # type: ignore[attr-defined]
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE decisions SET outcome = 'decline' WHERE id = :id"), {"id": decided}
            )
        report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
        assert report["ok"] is False
        assert report["decision"] == decided
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE decisions SET outcome = 'approve' WHERE id = :id"), {"id": decided}
            )
        assert _verify(client)["ok"] is True
        assert math.isfinite(report["first_broken_seq"])
