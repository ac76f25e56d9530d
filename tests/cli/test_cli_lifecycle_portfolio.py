"""``ruleplus lifecycle rollrate / vintage / behaviour / collections / campaign``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from typer.testing import CliRunner

from ruleplus.cli import app

runner = CliRunner()
LEVEL = {"paid": 0, "none": 0, "d1": 1, "d2": 2, "d3": 3, "d4": 4, "d5": 5, "wo": 6}
CODES = "paid=current,none=current,d1=M1,d2=M2,d3=M3,d4=M4,d5=M5,wo=M6+"


def _status(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(7)
    codes = list(LEVEL)
    rows = []
    for account in range(120):
        start = int(rng.integers(-20, -2))
        for month in range(start, 1):
            if rng.random() < 0.1:
                continue
            rows.append(
                (
                    f"K{account}",
                    f"{2024 + (month + 20) // 12}-{(month + 20) % 12 + 1:02d}",
                    codes[int(rng.integers(0, 8))],
                )
            )
    frame = pd.DataFrame(rows, columns=["acct", "period", "state"])
    path = tmp_path / "status.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _pandas_counts(frame: pd.DataFrame) -> list[list[int]]:
    f = frame.copy()
    f["m"] = pd.PeriodIndex(f["period"], freq="M").astype("int64")
    f["level"] = f["state"].map(LEVEL)
    nxt = f[["acct", "m", "level"]].assign(m=lambda d: d["m"] - 1)
    joined = f.merge(nxt, on=["acct", "m"], suffixes=("", "_next"))
    table = pd.crosstab(joined["level"], joined["level_next"])
    return table.reindex(index=range(7), columns=range(7), fill_value=0).to_numpy().tolist()


def _options() -> list[str]:
    return ["--account-col", "acct", "--month-col", "period", "--status-col", "state"]


def test_rollrate_json_and_report(tmp_path: Path) -> None:
    path, frame = _status(tmp_path)
    report = tmp_path / "roll.html"
    args = ["lifecycle", "rollrate", str(path), *_options(), "--codes", CODES, "--json"]
    result = runner.invoke(app, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["buckets"] == ["current", "M1", "M2", "M3", "M4", "M5", "M6+"]
    assert out["counts"] == _pandas_counts(frame)
    for row, counts in zip(out["rates"], out["counts"], strict=True):
        assert row is None or abs(sum(row) - 1) < 1e-9
        assert (row is None) == (sum(counts) == 0)
    assert out["by_month"][0]["month"].count("-") == 1  # calendar months read as YYYY-MM
    html = report.read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and "Roll rates" in html


def test_vintage_json_and_report(tmp_path: Path) -> None:
    path, frame = _status(tmp_path)
    report = tmp_path / "vintage.html"
    args = ["lifecycle", "vintage", str(path), *_options(), "--codes", CODES, "--json"]
    result = runner.invoke(app, [*args, "--report", str(report)])
    assert result.exit_code == 0, result.output
    cells = json.loads(result.stdout)["vintages"]
    assert set(cells[0]) == {"cohort", "mob", "accounts", "ever_30", "ever_60", "ever_90"}
    first = frame.assign(m=pd.PeriodIndex(frame["period"], freq="M").astype("int64"))
    cohorts = first.groupby("acct")["m"].min()
    assert sum(c["accounts"] for c in cells if c["mob"] == 0) == len(cohorts)
    assert sum(c["accounts"] for c in cells) == len(frame)
    assert "<svg" in report.read_text(encoding="utf-8")


def test_bad_codes_exit_with_a_json_error(tmp_path: Path) -> None:
    path, _ = _status(tmp_path)
    result = runner.invoke(app, ["lifecycle", "rollrate", str(path), *_options(), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DataError" and "unknown code" in error["message"]


def test_shared_file_with_no_options(shared_dir: Path) -> None:
    data = shared_dir / "data/credit/card_approval/credit_record.csv.zip"
    result = runner.invoke(app, ["lifecycle", "rollrate", str(data), "--json", "--summary"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["transitions"] == sum(map(sum, out["counts"]))
    assert out["transitions"] == 1_048_575 - 45_985  # no gaps: every row but each first


def test_behaviour_writes_a_strategy(shared_dir: Path, tmp_path: Path) -> None:
    data = shared_dir / "data/credit/card_approval/credit_record.csv.zip"
    out_dir = tmp_path / "behaviour"
    result = runner.invoke(
        app, ["lifecycle", "behaviour", str(data), "--out", str(out_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["metrics"]["test"]["auc"] > 0.8
    validated = runner.invoke(app, ["validate", info["strategy"], "--json"])
    assert validated.exit_code == 0, validated.output


def test_collections_queue(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    pl.DataFrame(
        {
            "loan": ["a", "b", "c", "d"],
            "bucket": ["M1", "M3", "current", "M6+"],
            "balance": [1000.0, 2500.0, 10.0, 8000.0],
            "score": [700.0, 550.0, 700.0, None],
        }
    ).write_csv(accounts)
    report = tmp_path / "queue.html"
    events = tmp_path / "events.csv"
    pl.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "kind": ["action", "payment", "action"],
            "action": ["sms_reminder", None, "call"],
            "amount": [None, "80.00", None],
        }
    ).write_csv(events)
    result = runner.invoke(
        app,
        [
            "lifecycle",
            "collections",
            str(accounts),
            "--account-col",
            "loan",
            "--json",
            "--report",
            str(report),
            "--events",
            str(events),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    queue = out["queue"]
    # a: 0.8 x 1000 - 0.05; b: 0.25 x 2500 - 25; d: 0.08 x 8000 - 25% commission on 640
    assert [q["expected_recovery"] for q in queue] == ["799.95", "600.00", "480.00"]
    assert [q["account_id"] for q in queue] == ["a", "b", "d"]
    values = [float(q["expected_recovery"]) for q in queue]
    assert values == sorted(values, reverse=True)
    for q in queue:
        er = q["pay_probability"] * float(q["balance"]) - float(q["action_cost"])
        assert abs(er - float(q["expected_recovery"])) <= 0.005 + 1e-9
    assert out["summary"]["total"]["accounts"] == 3
    html = report.read_text(encoding="utf-8")
    assert "Collections queue" in html and "Collections performance" in html
    assert html.count("<svg") == 2


CAMPAIGN = """
id: mini_campaign
version: "1"
inputs:
  customer_id: {type: string, required: true}
  income: {type: number, required: true}
  score: {type: number, required: true}
outputs: [decision, propensity]
nodes:
  - id: rules
    type: expression
    assign:
      decision: 'if score >= 600 then "approve" else "decline"'
      propensity: score / 1000
offer:
  amount: "null"
  months: "12"
  limit: {income: income, income_multiple: 3, minimum: 500, round_to: 100}
  prices: {"*": {rate: 0.2}}
  cap: 0.24
"""


def test_campaign_file(tmp_path: Path) -> None:
    strategy = tmp_path / "campaign.yaml"
    strategy.write_text(CAMPAIGN, encoding="utf-8")
    customers = tmp_path / "customers.csv"
    pl.DataFrame(
        {
            "customer_id": ["x", "y", "z"],
            "income": [3000.0, 1000.0, 5000.0],
            "score": [650.0, 720.0, 500.0],
        }
    ).write_csv(customers)
    out = tmp_path / "campaign.csv"
    result = runner.invoke(
        app,
        [
            "lifecycle",
            "campaign",
            str(customers),
            "--strategy",
            str(strategy),
            "--out",
            str(out),
            "--start",
            "2026-12-01",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["summary"]["offered"] == 2 and info["summary"]["ineligible"] == 1
    assert [r["customer_id"] for r in info["campaign"]] == ["y", "x"]
    assert [r["offer_amount"] for r in info["campaign"]] == ["3000.00", "9000.00"]
    written = pl.read_csv(out)
    assert written["customer_id"].to_list() == ["y", "x"]


def test_the_shipped_campaign_strategy(tmp_path: Path) -> None:
    from ruleplus.cli.demo import example_strategy_path

    customers = tmp_path / "customers.csv"
    pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "monthlyIncome": [6000.0, 4000.0, 9000.0, 5000.0],
            "monthlyDebt": [500.0, 0.0, 1000.0, 0.0],
            "behaviourScore": [720.0, 660.0, 610.0, 590.0],
            "monthsOnBook": [12, 8, 30, 24],
            "worst12m": [0, 0, 0, 0],
            "openedEmails": [1, 4, 0, 2],
        }
    ).write_csv(customers)
    args = ["lifecycle", "campaign", str(customers), "--strategy"]
    args += [str(example_strategy_path("campaign.yaml")), "--start", "2026-12-01", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    listed = [r["customer_id"] for r in info["campaign"]]
    assert "d" not in listed  # a behaviour score under 600 is not invited
    assert set(listed) == {"a", "b", "c"}
    for row in info["campaign"]:
        assert float(row["apr_irr"]) <= 0.24
