"""The console's simulation and dashboards give the lab's own numbers: a simulated draft is
compared with an independent per-application count of the engine's decisions."""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from service_helpers import make_client

from ruleplus.cli.demo import example_strategy_path
from ruleplus.datasets import synth_applications
from ruleplus.decision import compile_strategy
from ruleplus.serving import admin, users
from ruleplus.store.repos import DeploymentSpec

PASSWORD = "correct horse battery"
DOC = example_strategy_path("consumer_loan.yaml").read_text(encoding="utf-8")


@pytest.fixture
def lab_client(tmp_path: Path) -> Any:
    with make_client(tmp_path) as client:
        state = client.app.state.ruleplus  # type: ignore[attr-defined]
        db = state.database
        users.create_user(db, "ana", "analyst", PASSWORD, "test")
        partner = admin.create_partner(db, "acme", "test")
        info = admin.publish_strategy(db, DOC, "test")
        spec = DeploymentSpec(
            partner["partner_id"],
            "cash_loan",
            info["strategy_id"],
            info["version"],
        )
        admin.deploy(db, spec, actor="test")
        state.changed()
        frame = synth_applications(150, seed=11)
        for record in frame.to_dicts():
            body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
            answer = client.post(
                "/v1/decisions/cash_loan", json=body, headers={"X-API-Key": partner["api_key"]}
            )
            assert answer.status_code == 200, answer.text
        response = client.post("/console/api/login", json={"name": "ana", "password": PASSWORD})
        client.headers["X-CSRF-Token"] = response.json()["csrf"]
        yield client, frame


def draft(cutoff: int) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DOC)
    doc["version"] = "1.0.1"
    doc["parameters"]["cutoff"]["default"] = cutoff
    return doc


def engine_counts(doc: dict[str, Any], frame: pl.DataFrame) -> Counter[str]:
    compiled = compile_strategy(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return Counter(str(compiled.evaluate(r).decision) for r in frame.to_dicts())


def test_simulating_a_draft_over_stored_decisions(lab_client: Any) -> None:
    client, frame = lab_client
    body = {"document": draft(640), "parameter": "cutoff"}
    result = client.post("/console/api/simulate", json=body)
    assert result.status_code == 200, result.text
    out = result.json()
    assert out["n"] == 150 and out["baseline"]["version"] == "1.0.0"
    # the rates are the engine's, one application at a time
    expected = engine_counts(draft(640), frame)
    assert out["draft"]["decisions"] == dict(expected)
    baseline = engine_counts(yaml.safe_load(DOC), frame)
    assert out["draft"]["against"]["decisions"] == dict(baseline)
    # a higher cut-off only moves approvals to declines
    swaps = {(s["b"], s["a"]): s["count"] for s in out["draft"]["swap_set"]}
    assert swaps.get(("decline", "approve"), 0) == 0
    assert swaps[("approve", "decline")] == baseline["approve"] - expected["approve"] > 0
    assert {s["segment"] for s in out["draft"]["by_segment"]} == {"partner_id", "channel"}
    # the curve: approval falls as the cut-off rises, and it marks the draft's value
    points = out["curve"]["points"]
    rates = [p["approval_rate"] for p in points]
    assert rates == sorted(rates, reverse=True)
    assert [p["value"] for p in points if p["current"]] == [640]


def test_simulating_an_uploaded_sample_and_refusing_a_bad_one(lab_client: Any) -> None:
    client, frame = lab_client
    buffer = io.BytesIO()
    frame.head(60).write_parquet(buffer)
    sample = {
        "kind": "upload",
        "format": "parquet",
        "file": base64.b64encode(buffer.getvalue()).decode(),
    }
    out = client.post(
        "/console/api/simulate", json={"document": draft(600), "sample": sample}
    ).json()
    assert out["n"] == 60
    assert out["draft"]["decisions"] == dict(engine_counts(draft(600), frame.head(60)))
    bad = {"kind": "upload", "format": "csv", "file": "not base64!"}
    refused = client.post("/console/api/simulate", json={"document": draft(600), "sample": bad})
    assert refused.status_code == 422 and "base64" in refused.json()["detail"]
    future = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).isoformat()
    empty = client.post(
        "/console/api/simulate",
        json={"document": draft(600), "sample": {"start": future, "end": future}},
    )
    assert empty.status_code == 422 and "no stored decisions" in empty.json()["detail"]


def test_dashboards(lab_client: Any) -> None:
    client, _ = lab_client
    (live,) = client.get("/console/api/dashboards/deployments").json()
    compared = client.get(f"/console/api/dashboards/compare/{live['deployment_id']}").json()
    arms = {a["arm"]: a for a in compared["arms"]}
    assert arms["champion"]["n"] == 150
    low, high = arms["champion"]["approval_rate_ci"]
    assert low <= arms["champion"]["approval_rate"] <= high
    monitored = client.get("/console/api/dashboards/monitor?strategy_id=consumer_loan").json()
    assert monitored["n"] == 150 and monitored["windows"]
    csv = "ID,MONTHS_BALANCE,STATUS\n1,0,C\n1,-1,0\n1,-2,1\n2,0,X\n2,-1,C\n"
    upload = {"file": base64.b64encode(csv.encode()).decode(), "format": "csv"}
    lifecycle = client.post("/console/api/dashboards/lifecycle", json=upload)
    assert lifecycle.status_code == 200, lifecycle.text
    rr = lifecycle.json()["roll_rates"]
    assert rr["transitions"] == 3 and sum(map(sum, rr["counts"])) == 3
