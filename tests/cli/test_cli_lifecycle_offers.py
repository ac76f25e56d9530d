"""``ruleplus lifecycle schedule`` and ``ruleplus lifecycle quote``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy_financial as npf
from typer.testing import CliRunner

from ruleplus.cli import app
from ruleplus.datasets import synth_applications
from ruleplus.decision import load_strategy

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "examples" / "strategies" / "consumer_loan.yaml"
runner = CliRunner()


def test_schedule_json() -> None:
    result = runner.invoke(
        app,
        [
            "lifecycle",
            "schedule",
            "--amount",
            "10000",
            "--months",
            "12",
            "--annual-rate",
            "0.18",
            "--method",
            "equal-installment",
            "--start",
            "2026-01-31",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = data["instalments"]
    assert len(lines) == 12
    assert set(lines[0]) == {
        "period",
        "due_date",
        "payment",
        "principal",
        "interest",
        "fee",
        "balance",
    }
    assert lines[0]["due_date"] == "2026-02-28" and lines[1]["due_date"] == "2026-03-31"
    assert lines[0]["payment"] == "916.80" and lines[-1]["balance"] == "0.00"
    assert data["apr_irr"] == "0.1800"
    assert Decimal(data["total_payment"]) == sum(Decimal(i["payment"]) for i in lines)


def test_schedule_with_fees_and_other_methods() -> None:
    result = runner.invoke(
        app,
        [
            "lifecycle",
            "schedule",
            "--amount",
            "5000",
            "--months",
            "6",
            "--annual-rate",
            "0.12",
            "--method",
            "equal-principal",
            "--fee",
            "upfront:2%",
            "--fee",
            "periodic:10",
            "--start",
            "2026-05-01",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["fees"]["upfront"] == "100.00" and data["fees"]["periodic"] == "60.00"
    flows = [-4900.0] + [float(i["payment"]) for i in data["instalments"]]
    assert abs(npf.irr(flows) * 12 - float(data["apr_irr"])) < 0.00005
    text = runner.invoke(
        app,
        [
            "lifecycle",
            "schedule",
            "--amount",
            "900",
            "--months",
            "3",
            "--annual-rate",
            "0.1",
            "--method",
            "bullet",
        ],
    )
    assert text.exit_code == 0 and "apr_irr" in text.stdout


def test_schedule_bad_input_names_the_field() -> None:
    for args, field in (
        (["--amount", "0"], "amount"),
        (["--amount", "10", "--months", "500"], "months"),
        (["--amount", "10", "--annual-rate", "7"], "annual_rate"),
        (["--amount", "10", "--method", "balloon"], "method"),
        (["--amount", "10", "--fee", "sometimes:3"], "fee"),
        (["--amount", "10", "--start", "soon"], "start"),
    ):
        base = {"--months": "12", "--annual-rate": "0.1"}
        argv = [
            "lifecycle",
            "schedule",
            *[x for k, v in base.items() if k not in args for x in (k, v)],
            *args,
            "--json",
        ]
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, (args, result.output)
        assert json.loads(result.stdout)["error"]["field"] == field


def test_quote_gives_a_full_offer(tmp_path: Path) -> None:
    strategy = load_strategy(CONSUMER)
    record = next(
        r
        for r in synth_applications(500, seed=2).to_dicts()
        if strategy.evaluate(r).decision == "approve"
    )
    application = tmp_path / "app.json"
    application.write_text(json.dumps(record, default=str))
    result = runner.invoke(
        app,
        ["lifecycle", "quote", str(CONSUMER), str(application), "--start", "2026-12-01", "--json"],
    )
    assert result.exit_code == 0, result.output
    offer = json.loads(result.stdout)["offer"]
    for key in (
        "amount",
        "months",
        "method",
        "apr_irr",
        "nominal_rate",
        "fees",
        "instalments",
        "total_payment",
    ):
        assert key in offer
    assert Decimal(offer["apr_irr"]) <= Decimal("0.24")
    text = runner.invoke(app, ["lifecycle", "quote", str(CONSUMER), str(application)])
    assert text.exit_code == 0 and "apr_irr" in text.stdout
    application.write_text("[1]")
    bad = runner.invoke(app, ["lifecycle", "quote", str(CONSUMER), str(application), "--json"])
    assert bad.exit_code == 2


def test_schedule_after_an_early_repayment_and_with_penalty_interest() -> None:
    args = ["lifecycle", "schedule", "--amount", "12000", "--months", "12", "--annual-rate"]
    args += ["0.18", "--start", "2026-01-31", "--json"]
    plain = json.loads(runner.invoke(app, args).stdout)
    result = runner.invoke(
        app,
        [
            *args,
            "--prepay",
            "6:3000:shorter-term",
            "--overdue-as-of",
            "2026-05-15",
            "--paid",
            "2",
            "--penalty-rate",
            "0.18",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["prepayments"] == [{"period": 6, "principal": "3000.00", "fee": "0.00"}]
    lines = data["instalments"]
    assert len(lines) < len(plain["instalments"])  # shorter term, same instalment
    assert lines[6]["payment"] == plain["instalments"][6]["payment"]
    principal = sum(Decimal(i["principal"]) for i in lines) + Decimal("3000.00")
    assert principal == Decimal("12000.00") and lines[-1]["balance"] == "0.00"
    assert data["apr_irr"] == "0.1800"  # a fee-free prepayment leaves the annualised rate
    # instalment 3 (due 30 April) is 15 days late on 15 May: 18% a year for 15/365 of a year
    late = data["overdue"]
    assert [(o["period"], o["days"]) for o in late] == [(3, 15)]
    expected = (Decimal(late[0]["amount"]) * Decimal("0.18") * 15 / 365).quantize(Decimal("0.01"))
    assert late[0]["penalty"] == str(expected) == data["penalty_total"]
    bad = runner.invoke(app, [*args, "--prepay", "six:3000"])
    assert bad.exit_code != 0 and "AFTER:AMOUNT" in bad.output
