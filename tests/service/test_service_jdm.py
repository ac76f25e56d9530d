"""A GoRules JDM graph published through the admin API becomes a readable strategy version and
decides like the graph: the reference loan policy's expected outputs, over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_helpers import ADMIN, deploy, new_partner


def _graph(shared_dir: Path) -> str:
    return (shared_dir / "benchmarks" / "reference-loan-policy.jdm.json").read_text(
        encoding="utf-8"
    )


def test_a_jdm_graph_is_published_as_a_strategy_and_decides(
    client: TestClient, shared_dir: Path
) -> None:
    graph = _graph(shared_dir)
    missing = client.post("/v1/admin/strategies", json={"document": graph}, headers=ADMIN)
    assert missing.status_code == 422, missing.text
    assert "strategy_id" in missing.text
    published = client.post(
        "/v1/admin/strategies",
        json={"document": graph, "strategy_id": "jdm_loan", "version": "2026.1"},
        headers=ADMIN,
    )
    assert published.status_code == 201, published.text
    assert published.json()["status"] == "published"
    partner_id, key = new_partner(client, "jdm-partner")
    deploy(client, partner_id, "loan", strategy_id="jdm_loan", champion="2026.1")
    cases = (shared_dir / "benchmarks" / "reference-loan-applications.jsonl").read_text()
    for line in cases.splitlines()[:40]:
        case = json.loads(line)
        answer = client.post("/v1/decisions/loan", json=case["input"], headers=key)
        assert answer.status_code == 200, answer.text
        outputs = answer.json()["outputs"]
        for name, value in case["expected"].items():
            expected = pytest.approx(value, rel=1e-12) if isinstance(value, float) else value
            assert outputs.get(name) == expected, (case["input"], name)
