"""Management from the command line: every action scriptable with --json and audited."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ruleplus.cli import app
from strategy_documents import CHILD, PARENT

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "examples" / "strategies" / "reference_loan.yaml"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RULEPLUS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RULEPLUS_DATABASE_URL", raising=False)
    # the data directory's own secret, whatever another test package set for its servers
    monkeypatch.delenv("RULEPLUS_SECRET_KEY", raising=False)
    return tmp_path / "var"


def run(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_full_management_flow(env: Path, tmp_path: Path) -> None:
    assert run("db", "upgrade")["ok"] is True
    partner = run("partners", "create", "acme")
    assert partner["api_key"].startswith("rpk_")
    published = run("strategies", "publish", str(REFERENCE))
    assert published == {
        **published,
        "strategy_id": "reference_loan",
        "version": "1.0.0",
        "status": "published",
    }
    deployment = run(
        "deployments", "create", partner["partner_id"], "loan", "reference_loan", "1.0.0"
    )
    assert deployment["champion"] == "1.0.0"
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("fields:\n  creditScore: {from: score}\n", encoding="utf-8")
    assert run("mappings", "load", partner["partner_id"], "loan", str(mapping))["version"] == 1
    assert run("lists", "add", "phone", "13800138000")["value"] == "*******8000"
    rotated = run("partners", "rotate-key", partner["partner_id"])
    assert rotated["api_key"] != partner["api_key"]
    listing = run("partners", "list")
    assert [k["status"] for k in listing[0]["keys"]] == ["revoked", "active"]
    assert run("strategies", "list")[0]["status"] == "published"
    report = run("audit", "verify")
    assert report == {"ok": True, "entries": 6}


def test_audit_verify_fails_on_tampering(env: Path) -> None:
    run("partners", "create", "acme")
    run("strategies", "publish", str(REFERENCE))
    with sqlite3.connect(env / "ruleplus.db") as connection:
        connection.execute("UPDATE audit_log SET entity_id = 'forged' WHERE seq = 1")
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["first_broken_seq"] == 1


def test_errors_are_json_with_exit_code_2(env: Path) -> None:
    result = runner.invoke(
        app, ["deployments", "create", "p_missing", "loan", "reference_loan", "1.0.0", "--json"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "NotFoundError"
    result = runner.invoke(
        app, ["strategies", "transition", "reference_loan", "1.0.0", "publish", "--json"]
    )
    assert result.exit_code == 2
    run("strategies", "publish", str(REFERENCE))
    result = runner.invoke(
        app, ["strategies", "transition", "reference_loan", "1.0.0", "publish", "--json"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "ConflictError"


def test_publish_with_references_stores_them_first(env: Path, tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "child.yaml").write_text(CHILD, encoding="utf-8")
    parent = tmp_path / "parent.yaml"
    parent.write_text(PARENT.replace("REF", "parts/child.yaml"), encoding="utf-8")
    refused = runner.invoke(app, ["strategies", "publish", str(parent), "--json"])
    assert refused.exit_code == 2  # a path is not a reference the service resolves
    assert "parts/child.yaml" in json.loads(refused.stdout)["error"]["message"]
    published = run("strategies", "publish", str(parent), "--with-references")
    assert published["status"] == "published"
    with sqlite3.connect(env / "ruleplus.db") as connection:
        (document,) = connection.execute(
            "SELECT document FROM strategy_versions WHERE strategy_id = 'parent'"
        ).fetchone()
        actions = [r[0] for r in connection.execute("SELECT action FROM audit_log")]
    assert "sha256:" in document and "parts/child.yaml" not in document
    assert actions.count("put-artifact") == 1
    # a server on the same data directory decides with it
    from fastapi.testclient import TestClient

    from ruleplus.service import ServiceConfig, create_app

    config = ServiceConfig.from_env(
        env={"RULEPLUS_DATA_DIR": str(env), "RULEPLUS_ADMIN_KEY": "k", "RULEPLUS_IDENTITY": "off"}
    )
    with TestClient(create_app(config)) as client:
        admin_headers = {"X-Admin-Key": "k"}
        made = client.post("/v1/admin/partners", json={"name": "p"}, headers=admin_headers).json()
        deployed = client.post(
            "/v1/admin/deployments",
            json={
                "partner_id": made["partner_id"],
                "product": "loan",
                "strategy_id": "parent",
                "champion": "1",
            },
            headers=admin_headers,
        )
        assert deployed.status_code == 201, deployed.text
        answer = client.post(
            "/v1/decisions/loan", json={"salary": 500}, headers={"X-API-Key": made["api_key"]}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"]["grade"] == "C"


def test_a_deployment_sets_the_partners_cut_offs(env: Path) -> None:
    consumer = ROOT / "examples" / "strategies" / "consumer_loan.yaml"
    partner = run("partners", "create", "acme")["partner_id"]
    run("strategies", "publish", str(consumer))
    made = run(
        "deployments", "create", partner, "cash", "consumer_loan", "1.0.0",
        "--set", "cutoff=640", "--set", "maxDti=0.45",
    )  # fmt: skip
    assert made["parameters"] == {"cutoff": 640, "maxDti": 0.45}
    refused = runner.invoke(
        app,
        ["deployments", "create", partner, "cash", "consumer_loan", "1.0.0", "--set", "cutoff=9"],
    )
    assert refused.exit_code != 0
    assert "at least 300" in refused.output
    bad = runner.invoke(
        app, ["deployments", "create", partner, "cash", "consumer_loan", "1.0.0", "--set", "x"]
    )
    assert bad.exit_code != 0
    assert "NAME=VALUE" in bad.output
