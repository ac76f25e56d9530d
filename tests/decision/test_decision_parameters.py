"""Declared strategy parameters: read like inputs, overridden without a new version, checked
against their declaration, and the row and vector back ends agree under every override."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruleplus.datasets import synth_applications
from ruleplus.decision import compile_strategy, load_strategy, parse_parameter_text
from ruleplus.errors import ParameterError, StrategyCompileError, StrategyLoadError

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "src" / "ruleplus" / "examples" / "strategies" / "consumer_loan.yaml"

DOC = """
id: params
version: "3"
inputs:
  score: {type: integer}
  income: {type: number}
  channel: {type: string}
parameters:
  cutoff: {type: integer, default: 600, min: 300, max: 900, description: score cut-off}
  multiple: {type: number, default: 4.0, min: 0, max: 20}
  segment: {type: string, default: web, enum: [web, app, store]}
  strict: {type: boolean, default: false}
nodes:
  - id: grade
    type: table
    hit_policy: first
    inputs: [score]
    outputs: [grade]
    rules:
      - {when: [">= cutoff + 100"], then: [A]}
      - {when: [">= cutoff"], then: [B]}
      - {when: ["-"], then: [C]}
  - id: knockout
    type: rule
    when: score < cutoff or (strict and channel != segment)
    then: {decision: decline}
  - id: limit
    type: expression
    assign:
      limit: income * multiple
"""


def _records(n: int, seed: int) -> list[dict[str, Any]]:
    import random

    rng = random.Random(seed)
    return [
        {
            "score": rng.choice([None, rng.randint(300, 900)]),
            "income": rng.choice([None, round(rng.uniform(0, 30000), 2)]),
            "channel": rng.choice([None, "web", "app", "store"]),
        }
        for _ in range(n)
    ]


def _frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        records, schema={"score": pl.Int64, "income": pl.Float64, "channel": pl.String}
    )


def test_defaults_are_read_like_inputs_in_expressions_and_table_cells() -> None:
    strategy = compile_strategy(DOC)
    assert strategy.parameter_values == {
        "cutoff": 600,
        "multiple": 4.0,
        "segment": "web",
        "strict": False,
    }
    assert strategy.overrides == {}
    out = strategy.evaluate({"score": 705, "income": 1000.0, "channel": "app"}).outputs
    assert out == {"grade": "A", "limit": 4000.0}
    assert strategy.evaluate({"score": 599, "income": 1.0}).outputs["decision"] == "decline"
    assert strategy.parameters["cutoff"].to_dict() == {
        "name": "cutoff",
        "type": "integer",
        "default": 600,
        "min": 300.0,
        "max": 900.0,
        "description": "score cut-off",
    }


def test_an_override_changes_the_decision_without_a_new_version() -> None:
    strategy = compile_strategy(DOC)
    strict = strategy.with_parameters({"cutoff": 700, "strict": True, "segment": "app"})
    assert strict.version == strategy.version == "3"
    record = {"score": 705, "income": 1000.0, "channel": "web"}
    assert strategy.evaluate(record).outputs.get("decision") is None
    assert strict.evaluate(record).outputs == {"grade": "B", "decision": "decline", "limit": 4000.0}
    assert strict.overrides == {"cutoff": 700, "strict": True, "segment": "app"}
    # the defaults again give the default variant; one variant is compiled once
    assert strategy.with_parameters({"cutoff": 600}) is strategy
    assert strategy.with_parameters({"cutoff": 700, "strict": True, "segment": "app"}) is strict
    # overrides replace the defaults: they do not stack on a variant's own
    assert strict.with_parameters({"multiple": 2}).overrides == {"multiple": 2.0}


def test_a_record_cannot_set_a_parameter() -> None:
    strategy = compile_strategy(DOC)
    record = {"score": 650, "income": 10.0, "cutoff": 300, "strict": True, "multiple": 99}
    assert strategy.evaluate(record).outputs == {"grade": "B", "limit": 40.0}
    frame = _frame([{"score": 650, "income": 10.0, "channel": None}]).with_columns(
        pl.lit(300).alias("cutoff"), pl.lit(99.0).alias("multiple")
    )
    out = strategy.evaluate_frame(frame)
    assert out["grade"].to_list() == ["B"]
    assert out["limit"].to_list() == [40.0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cutoff": 950}, "at most 900"),
        ({"cutoff": 250}, "at least 300"),
        ({"cutoff": 650.5}, "an integer"),
        ({"cutoff": True}, "an integer"),
        ({"cutoff": "650"}, "an integer"),
        ({"multiple": float("inf")}, "finite"),
        ({"multiple": float("nan")}, "finite"),
        ({"segment": "phone"}, "one of 'web', 'app', 'store'"),
        ({"strict": 1}, "true or false"),
        ({"cut_off": 600}, "declares no parameter 'cut_off'"),
    ],
)
def test_a_bad_override_names_the_parameter(overrides: dict[str, Any], message: str) -> None:
    strategy = compile_strategy(DOC)
    with pytest.raises(ParameterError, match=message) as raised:
        strategy.with_parameters(overrides)
    assert raised.value.context["field"] == next(iter(overrides))
    assert raised.value.context["strategy"] == "params"
    with pytest.raises(ParameterError):
        compile_strategy(DOC, parameters=overrides)


def test_integers_are_numbers_and_numbers_become_floats() -> None:
    strategy = compile_strategy(DOC).with_parameters({"multiple": 3, "cutoff": 650.0})
    assert strategy.parameter_values["multiple"] == 3.0
    assert isinstance(strategy.parameter_values["multiple"], float)
    assert strategy.parameter_values["cutoff"] == 650
    assert isinstance(strategy.parameter_values["cutoff"], int)


@pytest.mark.parametrize(
    ("declaration", "message", "error"),
    [
        ("{type: integer, default: 1000, max: 900}", "default of 'p' must be at most 900", None),
        ("{type: string, default: a, min: 1}", "min/max apply to integer and number", None),
        ("{type: number, default: 1, min: 5, max: 2}", "min 5.0 is above max 2.0", None),
        ("{type: string, default: x, enum: [a, b]}", "must be one of", None),
        ("{type: date, default: 2026-01-01}", "parameters.p.type", StrategyLoadError),
        ("{type: integer}", "parameters.p.default", StrategyLoadError),
    ],
)
def test_a_bad_declaration_is_refused(
    declaration: str, message: str, error: type[Exception] | None
) -> None:
    doc = DOC.replace("  strict: {type: boolean, default: false}", f"  p: {declaration}")
    doc = doc.replace("(strict and channel != segment)", "false")
    with pytest.raises(error or ParameterError, match=message):
        compile_strategy(doc)


def test_a_parameter_may_not_shadow_an_input_or_be_assigned() -> None:
    clash = DOC.replace(
        "  strict: {type: boolean", "  income: {type: number, default: 1}\n  strict: {type: boolean"
    )
    with pytest.raises(StrategyCompileError, match="parameter 'income' has the name of an input"):
        compile_strategy(clash)
    assigned = DOC.replace("limit: income * multiple", "multiple: income * 2")
    with pytest.raises(StrategyCompileError, match="assigns parameter 'multiple'"):
        compile_strategy(assigned)


def test_command_line_text_is_read_in_the_declared_type() -> None:
    specs = compile_strategy(DOC).parameters
    assert parse_parameter_text(specs["cutoff"], "620") == 620
    assert parse_parameter_text(specs["multiple"], " 2.5 ") == 2.5
    assert parse_parameter_text(specs["strict"], "yes") is True
    assert parse_parameter_text(specs["segment"], "app") == "app"
    with pytest.raises(ParameterError, match="an integer"):
        parse_parameter_text(specs["cutoff"], "6x0")
    with pytest.raises(ParameterError, match="true or false"):
        parse_parameter_text(specs["strict"], "maybe")


def _agree(strategy: Any, records: list[dict[str, Any]]) -> None:
    frame = strategy.evaluate_frame(_frame(records), reasons=True)
    for i, record in enumerate(records):
        decision = strategy.evaluate(record)
        row = frame.row(i, named=True)
        for name in strategy.outputs:
            assert decision.outputs.get(name) == row[name], (i, name, record)
        assert [r.code for r in decision.reasons] == row["reasons"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cutoff=st.integers(300, 900),
    multiple=st.one_of(st.integers(0, 20), st.floats(0, 20, allow_nan=False)),
    segment=st.sampled_from(["web", "app", "store"]),
    strict=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_row_and_vector_agree_under_any_override(
    cutoff: int, multiple: float, segment: str, strict: bool, seed: int
) -> None:
    overrides = {"cutoff": cutoff, "multiple": multiple, "segment": segment, "strict": strict}
    _agree(compile_strategy(DOC).with_parameters(overrides), _records(60, seed))


@pytest.mark.parametrize(
    "overrides",
    [{}, {"cutoff": 640, "challengerCutoff": 560}, {"maxDti": 0.45, "minIncome": 2500}],
)
def test_the_consumer_loan_cut_offs_agree_on_both_back_ends(overrides: dict[str, Any]) -> None:
    strategy = load_strategy(CONSUMER).with_parameters(overrides)
    frame = synth_applications(1500, seed=7)
    vector = strategy.evaluate_frame(frame, reasons=True)
    for i, record in enumerate(frame.iter_rows(named=True)):
        decision = strategy.evaluate(record)
        row = vector.row(i, named=True)
        assert {k: row[k] for k in strategy.outputs if row[k] is not None} == decision.outputs
        assert [r.code for r in decision.reasons] == row["reasons"]


def test_a_stricter_cut_off_declines_a_superset() -> None:
    base = load_strategy(CONSUMER)
    frame = synth_applications(3000, seed=11)
    loose = base.evaluate_frame(frame)["decision"].to_list()
    strict = base.with_parameters({"cutoff": 660}).evaluate_frame(frame)["decision"].to_list()
    flipped = sum(a == "approve" and b == "decline" for a, b in zip(loose, strict, strict=True))
    reverse = sum(a == "decline" and b == "approve" for a, b in zip(loose, strict, strict=True))
    assert flipped > 0
    assert reverse == 0
