"""Lab endpoints: outcomes attached to stored decisions (idempotent, corrections audited),
champion/challenger compared per arm, drift gauges computed off the decision path."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from service_helpers import ADMIN, GOOD, REFERENCE_DOC, deploy, new_partner, publish
from sqlalchemy import select, update

from ruleplus.lab import compare_arms, monitor
from ruleplus.lab.compare import ArmCounts
from ruleplus.service.routers.lab import refresh_drift
from ruleplus.store.tables import AuditEntry, DecisionRecord, Outcome

LENIENT = REFERENCE_DOC.replace('version: "1.0.0"', 'version: "1.1.0"').replace(
    '["< 500", -, -, -, -, -, decline, X, R02]', '["< 450", -, -, -, -, -, decline, X, R02]'
)


def _seed(client: TestClient, n: int = 160) -> tuple[str, dict[str, str], dict[str, Any], list]:
    partner_id, key = new_partner(client, "acme")
    publish(client)
    publish(client, LENIENT)
    dep = deploy(client, partner_id, challengers=[{"version": "1.1.0", "share": 50}])
    rng = random.Random(3)
    answers = []
    for i in range(n):
        body = {
            **GOOD,
            "applicantId": f"A{i}",
            "applicationId": f"APP{i}",
            "creditScore": rng.randint(420, 800),
            "monthlyIncome": rng.choice([2500, 5200, 9000]),
            "residentialStatus": rng.choice(["own", "rent"]),
        }
        response = client.post("/v1/decisions/loan", json=body, headers=key)
        assert response.status_code == 200, response.text
        answers.append((body, response.json()))
    return partner_id, key, dep, answers


def test_outcomes_compare_and_drift(client: TestClient) -> None:
    partner_id, _, dep, answers = _seed(client)
    state = client.app.state.ruleplus  # type: ignore[attr-defined]
    rng = random.Random(9)
    truth = {f"APP{i}": int(rng.random() < 0.2) for i in range(len(answers))}
    payload = {
        "name": "bad_90dpd_12m",
        "partner_id": partner_id,
        "outcomes": [{"application_id": a, "value": v} for a, v in truth.items()],
    }
    assert client.post("/v1/admin/lab/outcomes", json=payload).status_code == 401
    first = client.post("/v1/admin/lab/outcomes", json=payload, headers=ADMIN)
    assert first.status_code == 200, first.text
    assert first.json() | {"unmatched_keys": []} == {
        "received": 160,
        "inserted": 160,
        "corrected": 0,
        "unchanged": 0,
        "unmatched": 0,
        "unmatched_keys": [],
    }
    with state.database.session() as session:
        entries = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()))
    again = client.post("/v1/admin/lab/outcomes", json=payload, headers=ADMIN).json()
    assert (again["inserted"], again["unchanged"], again["corrected"]) == (0, 160, 0)
    with state.database.session() as session:  # a no-op writes nothing, not even an audit entry
        assert session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())) == entries
    # a correction by decision id, and an unknown id / another partner's claim
    target = answers[0][1]["decision_id"]
    truth["APP0"] = 1 - truth["APP0"]
    fix = {
        "name": "bad_90dpd_12m",
        "outcomes": [
            {"decision_id": target, "value": truth["APP0"]},
            {"decision_id": "d_nope", "value": 1},
            {"decision_id": answers[1][1]["decision_id"], "partner_id": "p_other", "value": 1},
        ],
    }
    fixed = client.post("/v1/admin/lab/outcomes", json=fix, headers=ADMIN).json()
    assert (fixed["corrected"], fixed["unmatched"]) == (1, 2)
    with state.database.session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "correct")).all()
        assert [e.payload["new"] for e in audit] == [float(truth["APP0"])]
        stored = session.scalar(select(Outcome.value).where(Outcome.decision_id == target))
        assert stored == truth["APP0"]
    bad = client.post(
        "/v1/admin/lab/outcomes",
        json={"outcomes": [{"application_id": "APP1", "value": 1}]},
        headers=ADMIN,
    )
    assert bad.status_code == 422 and "name" in bad.json()["detail"], bad.text

    compared = client.get(
        "/v1/admin/lab/compare", params={"deployment_id": dep["deployment_id"]}, headers=ADMIN
    )
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert body["outcome"] == "bad_90dpd_12m"
    arms: dict[str, Counter[str]] = {}
    for request, answer in answers:
        arm = answer.get("arm") or "champion"
        c = arms.setdefault(arm, Counter())
        c["n"] += 1
        if answer["decision"] == "approve":
            c["approved"] += 1
            c["with_outcome"] += 1
            c["bad"] += truth[request["applicationId"]]
    expected = compare_arms(
        [ArmCounts(a, c["n"], c["approved"], c["with_outcome"], c["bad"]) for a, c in arms.items()]
    )
    assert body["arms"] == expected["arms"] and body["challengers"] == expected["challengers"]
    assert {a["arm"] for a in body["arms"]} == {"champion", "challenger:1.1.0"}
    assert body["challengers"][0]["verdict_text"]
    missing = client.get("/v1/admin/lab/compare", params={"deployment_id": 999}, headers=ADMIN)
    assert missing.status_code == 404

    # drift: move half the decisions into the baseline window, then refresh the gauges
    with state.database.session() as session:
        ids = session.scalars(select(DecisionRecord.id).order_by(DecisionRecord.id)).all()
        old = ids[: len(ids) // 2]
        session.execute(
            update(DecisionRecord)
            .where(DecisionRecord.id.in_(old))
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
        )
        session.commit()
        rows = session.execute(
            select(DecisionRecord.id, DecisionRecord.application, DecisionRecord.outcome)
        ).all()
    points = refresh_drift(state)
    assert [p["strategy"] for p in points] == ["reference_loan"]
    import polars as pl

    frame = pl.DataFrame([{**app, "_d": out} for i, app, out in rows if i in old])
    current = pl.DataFrame([{**app, "_d": out} for i, app, out in rows if i not in old])
    direct = monitor(frame, current, decision="_d")
    assert points[0]["columns"] == {c["column"]: c["psi"] for c in direct["columns"]}
    text = client.get("/metrics", headers=ADMIN).text
    score = points[0]["columns"]["creditScore"]
    assert f'ruleplus_input_psi{{input="creditScore",strategy="reference_loan"}} {score!r}' in text
    assert 'ruleplus_approval_rate{strategy="reference_loan"}' in text


def test_drift_loop_runs_in_the_background(client: TestClient) -> None:
    import asyncio

    from ruleplus.service.routers.lab import drift_loop

    state = client.app.state.ruleplus  # type: ignore[attr-defined]
    calls: list[list[dict[str, Any]]] = []
    state.metrics.set_drift = lambda points: calls.append(list(points))

    async def main() -> None:
        task = asyncio.create_task(drift_loop(state, first=0))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if calls:
                break
        task.cancel()

    asyncio.run(main())
    assert calls == [[]]  # no decisions yet: nothing to compare, the gauges are cleared
