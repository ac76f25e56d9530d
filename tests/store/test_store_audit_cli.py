"""``ruleplus audit head``, ``audit verify --expect-head`` and ``audit rekey`` from the CLI."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ruleplus.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RULEPLUS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RULEPLUS_DATABASE_URL", raising=False)
    monkeypatch.delenv("RULEPLUS_SECRET_KEY", raising=False)
    return tmp_path / "var"


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_head_anchors_the_chain_outside_the_database(env: Path, tmp_path: Path) -> None:
    partner = run("partners", "create", "acme")
    head = run("audit", "head")
    assert head["count"] == 1 and head["verified"] is True and len(head["mac"]) == 64
    anchor = tmp_path / "head.json"
    anchor.write_text(json.dumps(head), encoding="utf-8")
    snapshot = sqlite3.connect(":memory:")  # an earlier copy of the whole database
    with closing(sqlite3.connect(env / "ruleplus.db")) as live:
        live.backup(snapshot)
    run("partners", "rotate-key", partner["partner_id"])
    assert run("audit", "verify", "--expect-head", str(anchor)) == {"ok": True, "entries": 2}
    later = run("audit", "head")
    # an earlier copy of the whole database put back: intact inside, not against the anchor
    # (through SQLite's backup API: overwriting files under pooled WAL connections is an I/O error)
    with closing(sqlite3.connect(env / "ruleplus.db")) as live:
        snapshot.backup(live)
    snapshot.close()
    assert run("audit", "verify") == {"ok": True, "entries": 1}
    report = run("audit", "verify", "--expect-head", json.dumps(later), code=1)
    assert "fewer than the 2 of the expected head" in report["problem"]
    bad = run("audit", "verify", "--expect-head", "{not json", code=2)
    assert bad["error"]["type"] == "DataError"


def test_verify_names_the_problem_and_rekey_reports_the_state(env: Path) -> None:
    run("partners", "create", "acme")
    run("partners", "create", "beta")
    assert run("audit", "rekey") == {"ok": True, "status": "keyed"}
    with sqlite3.connect(env / "ruleplus.db") as connection:
        connection.execute("DELETE FROM audit_log WHERE seq = 2")
    report = run("audit", "verify", code=1)
    assert "the last 1 entry was cut off" in report["problem"]
    text = runner.invoke(app, ["audit", "verify"])
    assert text.exit_code == 1 and "cut off" in text.stdout
    with sqlite3.connect(env / "ruleplus.db") as connection:
        connection.execute("DELETE FROM audit_head")
    assert run("audit", "rekey", code=1) == {"ok": False, "status": "no-head"}


def test_the_cli_uses_the_servers_secret(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("partners", "create", "acme")
    monkeypatch.setenv("RULEPLUS_SECRET_KEY", "not-the-key-file")
    report = run("audit", "verify", code=1)
    assert "MAC" in report["problem"]
    assert run("audit", "head")["verified"] is False
    failed = run("partners", "create", "beta", code=2)
    assert failed["error"]["type"] == "AuditError"
