"""The per-node trace and reason texts.

With ``trace=True`` a decision records, for every node that ran, its inputs, outputs, what it
matched and how long it took; without it ``trace`` is ``None``. Tracing never changes the
outputs. Reasons carry the English and Chinese texts of the strategy's reason catalogue.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ruleplus.datasets import synth_applications
from ruleplus.decision import CompiledStrategy, NodeTrace, compile_strategy, load_strategy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "strategies"

REFERENCE_APPROVE = {
    "applicantId": "A5032582",
    "creditScore": 713,
    "monthlyIncome": 5200,
    "monthlyDebt": 0,
    "loanAmount": 15000,
    "termMonths": 48,
    "employmentYears": 0.25,
    "delinquencies24m": 0,
    "residentialStatus": "own",
}
REFERENCE_DECLINE = {**REFERENCE_APPROVE, "monthlyDebt": 4000}  # debt-to-income above 55%


@pytest.fixture(scope="module")
def reference() -> CompiledStrategy:
    return load_strategy(EXAMPLES / "reference_loan.yaml")


@pytest.fixture(scope="module")
def consumer() -> CompiledStrategy:
    return load_strategy(EXAMPLES / "consumer_loan.yaml")


@pytest.fixture(scope="module")
def applications() -> list[dict[str, Any]]:
    return synth_applications(400, seed=21).to_dicts()


def test_trace_is_none_unless_requested(reference: CompiledStrategy) -> None:
    decision = reference.evaluate(REFERENCE_APPROVE)
    assert decision.trace is None
    assert "trace" not in decision.to_dict()
    assert reference.evaluate(REFERENCE_APPROVE, trace=False).trace is None


def test_trace_lists_each_node_that_ran_with_inputs_outputs_and_match(
    reference: CompiledStrategy,
) -> None:
    decision = reference.evaluate(REFERENCE_APPROVE, trace=True)
    trace = decision.trace
    assert trace is not None
    assert all(isinstance(t, NodeTrace) for t in trace)
    # the refer and decline branches did not run
    assert [(t.node, t.type) for t in trace] == [
        ("derive", "expression"),
        ("policy", "table"),
        ("route", "switch"),
        ("approve", "expression"),
    ]
    derive, policy, route, approve = trace
    assert derive.inputs == {
        "loanAmount": 15000,
        "termMonths": 48,
        "monthlyDebt": 0,
        "monthlyIncome": 5200,
    }
    assert set(derive.outputs) == {"monthlyPayment", "dti", "lti"}
    assert derive.outputs["lti"] == pytest.approx(15000 / (5200 * 12))
    assert policy.inputs["creditScore"] == 713
    assert policy.inputs["residentialStatus"] == "own"
    assert set(policy.inputs) == {
        "creditScore",
        "dti",
        "lti",
        "employmentYears",
        "delinquencies24m",
        "residentialStatus",
    }
    assert policy.outputs == {"decision": "approve", "riskGrade": "B1", "reasonCode": "OK"}
    assert policy.detail == "r15"  # the first matching rule (first hit policy)
    assert route.inputs == {"decision": "approve"}
    assert route.detail == "approve"  # the branch taken
    assert approve.outputs["approvedAmount"] == 15000
    assert approve.outputs["apr"] == pytest.approx(decision.outputs["apr"])
    for step in trace:
        assert isinstance(step.elapsed_us, float)
        assert 0 <= step.elapsed_us < 1_000_000


def test_trace_follows_the_path_taken(reference: CompiledStrategy) -> None:
    trace = reference.evaluate(REFERENCE_DECLINE, trace=True).trace
    assert trace is not None
    assert [t.node for t in trace] == ["derive", "policy", "route", "decline"]
    assert trace[1].detail == "r3"
    assert trace[1].outputs["reasonCode"] == "R03"
    assert trace[2].detail == "decline"


def test_trace_to_dict_is_json(reference: CompiledStrategy) -> None:
    data = reference.evaluate(REFERENCE_APPROVE, trace=True).to_dict()
    assert data["decision"] == "approve"
    assert data["strategy"] == {"id": "reference_loan", "version": "1.0.0"}
    steps = data["trace"]
    assert [s["node"] for s in steps] == ["derive", "policy", "route", "approve"]
    for step in steps:
        assert set(step) == {"node", "type", "inputs", "outputs", "matched", "elapsed_us"}
    assert steps[1]["matched"] == "r15"
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_trace_of_rulesets_scorecards_splits_and_trees(
    consumer: CompiledStrategy, applications: list[dict[str, Any]]
) -> None:
    seen: set[str] = set()
    for record in applications:
        decision = consumer.evaluate(record, trace=True)
        trace = decision.trace
        assert trace is not None
        by_node = {t.node: t for t in trace}
        assert trace[0].node == "derive" and trace[1].node == "knockouts"
        knockouts = by_node["knockouts"]
        assert knockouts.type == "ruleset"
        assert isinstance(knockouts.detail, list)  # all-hits: every rule that held
        assert len(knockouts.detail) == knockouts.outputs["knockouts"]
        assert by_node["knocked_out"].detail == ("end" if knockouts.detail else "application_score")
        if knockouts.detail:
            assert [t.node for t in trace] == ["derive", "knockouts", "knocked_out"]
            seen.add("knocked out")
            continue
        card = by_node["application_score"]
        assert card.type == "scorecard"
        assert card.outputs == {"score": decision.outputs["score"]}
        assert card.inputs["creditScore"] == record["creditScore"]
        split = by_node["cutoff_split"]
        assert split.type == "split"
        assert split.detail == decision.arm
        assert split.inputs == {"applicantId": record["applicantId"]}
        cutoff = by_node[f"{decision.arm}_cutoff"]
        assert cutoff.type == "rule"
        assert cutoff.detail == (f"{decision.arm}_cutoff" if cutoff.outputs["decision"] else None)
        seen.add(str(decision.arm))
        if "pricing" in by_node:
            tree = by_node["pricing"]
            assert tree.type == "tree"
            assert tree.detail in {"prime", "near_prime", "subprime"}
            assert tree.outputs["riskGrade"] == decision.outputs["riskGrade"]
            seen.add(tree.detail)
    assert {"knocked out", "champion", "challenger", "subprime"} <= seen, seen


def test_trace_of_tables_with_several_matches() -> None:
    doc = {
        "id": "collect",
        "inputs": {"x": {"type": "integer"}},
        "nodes": [
            {
                "id": "tab",
                "type": "table",
                "hit_policy": "collect",
                "aggregation": "count",
                "inputs": ["x"],
                "outputs": ["n"],
                "rules": [
                    {"id": "small", "when": ["< 5"], "then": [1]},
                    {"id": "even", "when": ["0, 2, 4, 6"], "then": [1]},
                    {"when": ["> 100"], "then": [1]},
                ],
            }
        ],
    }
    s = compile_strategy(doc)
    assert [t.detail for t in s.evaluate({"x": 2}, trace=True).trace or []] == [["small", "even"]]
    assert [t.detail for t in s.evaluate({"x": 200}, trace=True).trace or []] == [["r3"]]
    assert [t.detail for t in s.evaluate({"x": 50}, trace=True).trace or []] == [[]]


@pytest.mark.parametrize("file", ["reference_loan.yaml", "consumer_loan.yaml"])
def test_outputs_are_the_same_with_and_without_trace(
    file: str, applications: list[dict[str, Any]]
) -> None:
    strategy = load_strategy(EXAMPLES / file)
    for record in applications:
        plain = strategy.evaluate(record)
        traced = strategy.evaluate(record, trace=True)
        assert traced.outputs == plain.outputs
        assert traced.decision == plain.decision
        assert traced.arm == plain.arm
        assert traced.reasons == plain.reasons
        plain_dict = plain.to_dict()
        traced_dict = traced.to_dict()
        traced_dict.pop("trace")
        assert traced_dict == plain_dict


def test_reasons_carry_english_and_chinese_text(
    reference: CompiledStrategy, consumer: CompiledStrategy
) -> None:
    [reason] = reference.evaluate(REFERENCE_DECLINE).reasons
    assert reason.code == "R03"
    assert reason.text_en == "Debt-to-income ratio above 55%"
    assert reason.text_zh == "负债收入比高于55%"
    assert reason.node == "policy"
    assert reason.to_dict() == {
        "code": "R03",
        "text": "Debt-to-income ratio above 55%",
        "text_zh": "负债收入比高于55%",
        "node": "policy",
        "weight": 0.0,
    }
    [ok] = reference.evaluate(REFERENCE_APPROVE).reasons
    assert (ok.code, ok.text_en, ok.text_zh) == ("OK", "Meets the credit policy", "符合授信政策")
    catalogue = consumer.document.reasons
    for record in synth_applications(200, seed=4).to_dicts():
        for r in consumer.evaluate(record).reasons:
            assert r.text_en == catalogue[r.code].en
            assert r.text_zh == catalogue[r.code].zh
            assert r.text_zh and r.text_en != r.text_zh


def test_scorecard_reasons_are_ranked_by_points_lost(
    consumer: CompiledStrategy, applications: list[dict[str, Any]]
) -> None:
    ranked = 0
    for record in applications:
        reasons = consumer.evaluate(record).reasons
        card = [r for r in reasons if r.node == "application_score"]
        assert len(card) <= 3  # reasons_top
        weights = [r.weight for r in card]
        assert weights == sorted(weights, reverse=True)
        assert all(w > 0 for w in weights)
        ranked += bool(card)
        # the cut-off reason comes after the scorecard's
        if any(r.code == "CUT" for r in reasons):
            assert reasons[-1].code == "CUT"
            assert reasons[-1].node in {"champion_cutoff", "challenger_cutoff"}
    assert ranked > 0
