"""``ruleplus lab``: backtests agree with ``ruleplus batch`` output, every input format and the
service database give the same result, sweeps, monitoring, outcomes and compare from the CLI."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

from ruleplus.cli import app
from ruleplus.cli.demo import example_strategy_path
from ruleplus.datasets import synth_applications
from ruleplus.store import Database
from ruleplus.store.tables import DecisionRecord

runner = CliRunner()
CONSUMER = example_strategy_path("consumer_loan.yaml")
REFERENCE = example_strategy_path("reference_loan.yaml")


def run(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("apps")
    frame = synth_applications(3_000, seed=21)
    frame.write_csv(folder / "apps.csv")
    frame.write_parquet(folder / "apps.parquet")
    frame.write_ndjson(folder / "apps.jsonl")
    return folder


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RULEPLUS_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RULEPLUS_SECRET_KEY", "cli-lab-secret-0123456789abcdef")
    monkeypatch.delenv("RULEPLUS_DATABASE_URL", raising=False)
    return tmp_path / "var"


def test_backtest_matches_batch_output_in_every_format(apps: Path, tmp_path: Path) -> None:
    variant = tmp_path / "variant.yaml"
    text = CONSUMER.read_text(encoding="utf-8").replace("$schema: ../../decision/", "# ")
    variant.write_text(
        text.replace("when: monthlyIncome < minIncome", "when: monthlyIncome < 3000"),
        encoding="utf-8",
    )
    args = [
        "--against",
        str(variant),
        "--set",
        "cutoff=610",
        "--outcome",
        "defaulted",
        "--segment",
        "channel",
        "--segment",
        "partner",
        "--month",
        "applicationTime",
    ]
    report = tmp_path / "bt.html"
    results = [
        run("lab", "backtest", str(CONSUMER), str(apps / name), *args, "--report", str(report))
        for name in ("apps.csv", "apps.parquet", "apps.jsonl")
    ]
    assert results[0] == results[1] == results[2]
    result = results[0]
    assert result["strategy"]["parameters"] == {"cutoff": 610}
    # the same decisions, one file per strategy, from `ruleplus batch`
    tuned = tmp_path / "tuned.yaml"
    tuned.write_text(
        text.replace(
            "cutoff:           {type: integer, default: 600",
            "cutoff:           {type: integer, default: 610",
        ),
        encoding="utf-8",
    )
    for strategy, out in ((tuned, "a.csv"), (variant, "b.csv")):
        keep = ["--keep", "channel", "--keep", "partner", "--keep", "defaulted"]
        run("batch", str(strategy), str(apps / "apps.parquet"), str(tmp_path / out), *keep)
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    frame = pd.DataFrame(
        {
            "a": a["decision"],
            "b": b["decision"],
            "y": a["defaulted"],
            "channel": a["channel"],
            "partner": a["partner"],
        }
    )
    assert a["decision"].ne(b["decision"]).any()
    assert result["approval_rate"] == (frame["a"] == "approve").mean()
    cells = frame.groupby(["a", "b"])["y"].agg(["size", "mean"])
    assert {(c["a"], c["b"]): (c["count"], c["bad_rate"]) for c in result["swap_set"]} == {
        k: (int(r["size"]), r["mean"]) for k, r in cells.iterrows()
    }
    for seg in ("channel", "partner"):
        expected = {}
        for value, g in frame.groupby(seg):
            approved = g[g["a"] == "approve"]
            expected[value] = (
                len(g),
                (g["a"] == "approve").sum() / len(g),
                (g["a"] == "decline").sum() / len(g),
                approved["y"].sum() / len(approved),
            )
        got = {
            r["value"]: (r["n"], r["approval_rate"], r["decline_rate"], r["bad_rate_approved"])
            for r in result["by_segment"]
            if r["segment"] == seg
        }
        assert got == expected
    html = report.read_text(encoding="utf-8")
    assert html.count("<svg") >= 4 and "swap set" in html and "<script" not in html


def test_sweep_and_monitor(apps: Path, tmp_path: Path) -> None:
    report = tmp_path / "sweep.html"
    result = run(
        "lab",
        "sweep",
        str(CONSUMER),
        str(apps / "apps.parquet"),
        "--param",
        "cutoff",
        "--values",
        "580:620:10",
        "--outcome",
        "defaulted",
        "--report",
        str(report),
    )
    assert [p["value"] for p in result["points"]] == [580, 590, 600, 610, 620]
    assert [p["current"] for p in result["points"]].index(True) == 2
    single = run(
        "lab", "backtest", str(CONSUMER), str(apps / "apps.parquet"), "--set", "cutoff=590"
    )
    assert result["points"][1]["approval_rate"] == single["approval_rate"]
    assert "<svg" in report.read_text(encoding="utf-8")
    frame = pl.read_parquet(apps / "apps.parquet")
    frame.head(1500).write_parquet(tmp_path / "base.parquet")
    frame.tail(1500).write_parquet(tmp_path / "cur.parquet")
    mon = tmp_path / "mon.html"
    watched = run(
        "lab",
        "monitor",
        str(tmp_path / "base.parquet"),
        str(tmp_path / "cur.parquet"),
        "--strategy",
        str(CONSUMER),
        "--time",
        "applicationTime",
        "--window",
        "month",
        "--report",
        str(mon),
    )
    assert {c["level"] for c in watched["columns"]} <= {"stable", "watch", "act"}
    assert watched["windows"] and "approval" in watched
    assert mon.read_text(encoding="utf-8").count("<svg") == 3


def test_errors_are_clear(apps: Path) -> None:
    result = runner.invoke(
        app,
        ["lab", "backtest", str(CONSUMER), str(apps / "apps.csv"), "--set", "cutof=1", "--json"],
    )
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ParameterError" and "cutof" in error["message"]
    result = runner.invoke(app, ["lab", "backtest", str(CONSUMER), "--json"])
    assert result.exit_code == 2 and "--sql" in result.stdout


def test_database_backtest_outcomes_and_compare(env: Path, tmp_path: Path) -> None:
    run("db", "upgrade")
    partner = run("partners", "create", "acme")["partner_id"]
    run("strategies", "publish", str(REFERENCE))
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(
        REFERENCE.read_text(encoding="utf-8")
        .replace('version: "1.0.0"', 'version: "1.1.0"')
        .replace("$schema: ../../decision/", "# "),
        encoding="utf-8",
    )
    run("strategies", "publish", str(lenient))
    dep = run(
        "deployments",
        "create",
        partner,
        "loan",
        "reference_loan",
        "1.0.0",
        "--challenger",
        "1.1.0:30",
    )
    frame = synth_applications(400, seed=4)
    cols = [
        "applicantId",
        "creditScore",
        "monthlyIncome",
        "monthlyDebt",
        "loanAmount",
        "termMonths",
        "employmentYears",
        "delinquencies24m",
        "residentialStatus",
    ]
    database = Database(f"sqlite:///{env / 'ruleplus.db'}")
    rows = []
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    for i, app_row in enumerate(frame.select(cols).to_dicts()):
        arm = "challenger:1.1.0" if i % 3 == 0 else "champion"
        decision = ["approve", "decline", "refer"][i % 4 % 3]
        rows.append(
            DecisionRecord(
                id=f"d_{uuid.uuid4().hex}",
                partner_id=partner,
                product="loan",
                channel="web",
                request_digest="x",
                request=app_row,
                application=app_row,
                outcome=decision,
                outputs={"decision": decision},
                reasons=[],
                strategy_id="reference_loan",
                strategy_version="1.0.0",
                arm=arm,
                latency_ms=1.0,
                application_id=f"APP{i}",
                created_at=now + dt.timedelta(minutes=i),
            )
        )
    with database.session() as session:
        session.add_all(rows)
        session.commit()
    database.dispose()
    sql = "SELECT application, created_at, arm FROM decisions ORDER BY created_at"
    from_db = run(
        "lab", "backtest", str(REFERENCE), "--sql", sql, "--segment", "arm", "--month", "created_at"
    )
    direct = run("lab", "backtest", str(REFERENCE), str(_jsonl(tmp_path, frame.select(cols))))
    for key in ("n", "approval_rate", "refer_rate", "decline_rate", "decisions"):
        assert from_db[key] == direct[key]
    assert {r["value"] for r in from_db["by_segment"]} == {"champion", "challenger:1.1.0"}
    outcomes = tmp_path / "outcomes.csv"
    pl.DataFrame(
        {
            "application_id": [f"APP{i}" for i in range(400)],
            "bad_90dpd_12m": [int(i % 7 == 0) for i in range(400)],
        }
    ).write_csv(outcomes)
    attach = [
        "lab",
        "outcomes",
        "attach",
        str(outcomes),
        "--name",
        "bad_90dpd_12m",
        "--partner",
        partner,
    ]
    assert run(*attach)["inserted"] == 400
    assert run(*attach)["unchanged"] == 400
    compared = run("lab", "compare", "--deployment", str(dep["deployment_id"]))
    arms = {a["arm"]: a for a in compared["arms"]}
    champion = [r for i, r in enumerate(rows) if i % 3 != 0]
    assert arms["champion"]["n"] == len(champion)
    approved = [i for i, r in enumerate(rows) if i % 3 != 0 and r.outcome == "approve"]
    assert arms["champion"]["approved"] == len(approved)
    assert arms["champion"]["bad"] == sum(i % 7 == 0 for i in approved)
    assert compared["challengers"][0]["verdict_text"]


def _jsonl(folder: Path, frame: pl.DataFrame) -> Path:
    path = folder / "direct.jsonl"
    frame.write_ndjson(path)
    return path
