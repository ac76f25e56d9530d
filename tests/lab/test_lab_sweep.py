"""What-if curves: each point is the backtest of the strategy with the parameter overridden."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from ruleplus.decision import CompiledStrategy
from ruleplus.errors import ParameterError
from ruleplus.lab import backtest, parse_assignments, parse_values, sweep, sweep_report

CENT = Decimal("0.01")


def test_curve_points_are_backtests_of_the_overridden_strategy(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    spec = consumer_loan.parameters["cutoff"]
    values = parse_values(spec, "560:640:20")
    assert values == [560, 580, 600, 620, 640]
    result = sweep(
        consumer_loan,
        applications,
        "cutoff",
        values,
        outcome="bad_12m",
        expected="defaultProb",
        lgd=0.6,
    )
    points = result["points"]
    assert [p["value"] for p in points] == values
    assert [p["current"] for p in points] == [False, False, True, False, False]
    rates = [p["approval_rate"] for p in points]
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]
    rows = applications.to_dicts()
    for point in points:
        variant = consumer_loan.with_parameters({"cutoff": point["value"]})
        bt = backtest(variant, applications, outcome="bad_12m")
        assert point["approval_rate"] == bt["approval_rate"]
        assert point["bad_rate_approved"] == bt["bad_rate_approved"]
        loss = 0.0
        exposure = 0.0
        for row in rows:
            decision = variant.evaluate(row)
            if decision.decision != "approve":
                continue
            risk = row["bad_12m"] if row["bad_12m"] is not None else row["defaultProb"]
            loss += risk * decision.outputs["approvedAmount"]
            exposure += decision.outputs["approvedAmount"]
        assert Decimal(point["expected_loss"]) == Decimal(point["expected_loss"]).quantize(CENT)
        assert float(point["expected_loss"]) == pytest.approx(loss * 0.6, abs=0.006)
        assert point["loss_rate"] == pytest.approx(loss * 0.6 / exposure)
    html = sweep_report(result)
    assert html.startswith("<!doctype html>") and html.count("<svg") == 2
    assert "cutoff=600" in html and "<script" not in html


def test_current_value_comes_from_the_overrides(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    tuned = consumer_loan.with_parameters({"maxDti": 0.5, "cutoff": 610})
    result = sweep(tuned, applications.head(500), "cutoff", [590, 630])
    assert [p["value"] for p in result["points"]] == [590, 610, 630]
    assert result["points"][1]["current"] and result["strategy"]["parameters"]["maxDti"] == 0.5
    direct = backtest(tuned.with_parameters({"maxDti": 0.5, "cutoff": 630}), applications.head(500))
    assert result["points"][2]["approval_rate"] == direct["approval_rate"]


def test_values_and_assignments_are_checked(consumer_loan: CompiledStrategy) -> None:
    spec = consumer_loan.parameters["maxDti"]
    assert parse_values(spec, "0.4:0.6:0.1") == [0.4, 0.5, 0.6]
    assert parse_values(spec, "0.45,0.55") == [0.45, 0.55]
    with pytest.raises(ParameterError, match="at most"):
        parse_values(spec, "1.5:2.5:0.5")
    with pytest.raises(ParameterError, match="step"):
        parse_values(spec, "0.6:0.4:0.1")
    assert parse_assignments(consumer_loan, ["cutoff=620", "maxDti=0.5"]) == {
        "cutoff": 620,
        "maxDti": 0.5,
    }
    with pytest.raises(ParameterError, match="no parameter 'cut'"):
        parse_assignments(consumer_loan, ["cut=1"])
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_assignments(consumer_loan, ["cutoff"])
    with pytest.raises(ParameterError, match="cutoff"):
        parse_assignments(consumer_loan, ["cutoff=abc"])
    with pytest.raises(ParameterError, match="no parameter 'nope'"):
        sweep(consumer_loan, pl.DataFrame(), "nope", [1])
