"""Offers from a strategy's offer section: the demo strategy, parameters, caps and declines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest

from ruleplus.config import Settings
from ruleplus.datasets import synth_applications
from ruleplus.decision import compile_strategy, load_strategy
from ruleplus.errors import DataError, StrategyCompileError, StrategyLoadError
from ruleplus.lending.offers import Offer, OfferDecline, make_offer, quote_application
from ruleplus.lending.rates import within_cap

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "examples" / "strategies" / "consumer_loan.yaml"
START = date(2026, 12, 1)
CAP = Decimal("0.24")


def recomputed_apr(offer: dict[str, Any]) -> float:
    """The annualised rate from the offer's own JSON: amount less upfront fees, instalments."""
    flows = [-(float(offer["amount"]) - float(offer["fees"]["upfront"]))]
    flows += [float(i["payment"]) for i in offer["instalments"]]
    return float(npf.irr(flows)) * 12


def test_demo_offers_are_within_the_cap_and_say_their_rate() -> None:
    strategy = load_strategy(CONSUMER)
    seen: dict[str, int] = {"offer": 0, "repriced": 0, "declined": 0}
    for record in synth_applications(1500, seed=11).to_dicts():
        decision = strategy.evaluate(record)
        result = make_offer(strategy, record, decision.outputs, default_cap=CAP, start=START)
        if decision.decision != "approve":
            assert result is None
            continue
        assert result is not None
        if isinstance(result, OfferDecline):
            seen["declined"] += 1
            assert result.code in {"OFFER_LIMIT", "OFFER_CAP"}
            continue
        seen["repriced" if result.repriced else "offer"] += 1
        body = result.to_dict()
        assert within_cap(result.schedule, CAP)
        assert Decimal(body["apr_irr"]) <= CAP
        assert abs(recomputed_apr(body) - float(body["apr_irr"])) <= 0.00005 + 1e-9
        assert Decimal(body["amount"]) <= min(
            Decimal(body["limit"]), Decimal(str(record["loanAmount"]))
        )
        assert sum(Decimal(i["principal"]) for i in body["instalments"]) == Decimal(body["amount"])
        assert body["instalments"][0]["due_date"] == "2027-01-01"
        if result.repriced:
            assert Decimal(body["nominal_rate"]) < Decimal(body["list_rate"])
    assert seen["offer"] > 50 and seen["repriced"] > 50  # both paths exercised


def _approved(strategy: Any, grade: str) -> dict[str, Any]:
    for record in synth_applications(3000, seed=5).to_dicts():
        outputs = strategy.evaluate(record).outputs
        if outputs.get("riskGrade") == grade and outputs.get("decision") == "approve":
            return record
    raise AssertionError(f"no grade {grade} approval in the sample")


def test_parameters_move_prices_limits_and_the_cap() -> None:
    strategy = load_strategy(CONSUMER)
    record = _approved(strategy, "C")
    base = make_offer(
        strategy, record, strategy.evaluate(record).outputs, default_cap=CAP, start=START
    )
    assert isinstance(base, Offer)
    tight = strategy.with_parameters({"rateCap": 0.18, "maxLoan": 2000, "priceC": 0.15})
    offer = make_offer(tight, record, tight.evaluate(record).outputs, default_cap=CAP, start=START)
    assert isinstance(offer, Offer)
    assert offer.cap == Decimal("0.18") and within_cap(offer.schedule, Decimal("0.18"))
    assert offer.schedule.amount <= Decimal(2000)
    assert offer.list_rate == Decimal("0.15")


def test_quote_for_an_amount_and_term() -> None:
    strategy = load_strategy(CONSUMER)
    record = _approved(strategy, "A")
    quote = quote_application(
        strategy, record, default_cap=CAP, amount="1000", months=6, start=START
    )
    assert quote["decision"] == "approve"
    assert quote["offer"]["amount"] == "1000.00" and quote["offer"]["months"] == 6
    assert len(quote["offer"]["instalments"]) == 6
    with pytest.raises(DataError) as err:
        quote_application(strategy, record, default_cap=CAP, amount="999999999", start=START)
    assert err.value.context["field"] == "amount"
    with pytest.raises(DataError) as err:
        quote_application(strategy, record, default_cap=CAP, months=0, start=START)
    assert err.value.context["field"] == "months"


DOC = """
id: tiny
inputs:
  income: {type: number, required: true}
  amount: {type: number, required: true}
  months: {type: integer, required: true}
  grade: {type: string}
nodes:
  - id: decide
    type: expression
    assign: {decision: "if income > 0 then 'approve' else 'decline'"}
offer:
  amount: amount
  months: months
  grade: grade
  limit: {income: income, income_multiple: 10, minimum: 500}
  prices:
    A: {rate: 0.2, fees: [{kind: upfront, rate: 0.05}]}
    "*": {rate: 0.1}
  over_cap: OVER
"""


def tiny(over_cap: str = "decline", extra: str = "") -> Any:
    return compile_strategy(DOC.replace("OVER", over_cap) + extra, name="tiny")


def test_declines_and_the_default_cap() -> None:
    strategy = tiny()
    cap = Settings.load(env={}).rate_cap
    assert cap == CAP
    over = make_offer(
        strategy,
        {"income": 100, "amount": 900, "months": 3, "grade": "A"},
        {"decision": "approve"},
        default_cap=cap,
    )
    assert isinstance(over, OfferDecline) and over.code == "OFFER_CAP"
    small = make_offer(
        strategy,
        {"income": 10, "amount": 900, "months": 3},
        {"decision": "approve"},
        default_cap=cap,
    )
    assert isinstance(small, OfferDecline) and small.code == "OFFER_LIMIT"
    fine = make_offer(
        strategy,
        {"income": 100, "amount": 900, "months": 3, "grade": "B"},
        {"decision": "approve"},
        default_cap=cap,
    )
    assert isinstance(fine, Offer) and fine.price == "*" and fine.apr_irr == Decimal("0.1")
    repriced = make_offer(
        tiny("reprice"),
        {"income": 100, "amount": 900, "months": 12, "grade": "A"},
        {"decision": "approve"},
        default_cap=cap,
    )
    assert isinstance(repriced, Offer) and repriced.repriced and within_cap(repriced.schedule, cap)
    assert (
        make_offer(
            strategy,
            {"income": 0, "amount": 900, "months": 3},
            {"decision": "decline"},
            default_cap=cap,
        )
        is None
    )


def test_offer_section_errors_name_the_slot_and_line() -> None:
    with pytest.raises(StrategyCompileError) as err:
        compile_strategy(
            DOC.replace("amount: amount\n  months", "amount: amont\n  months").replace(
                "OVER", "reprice"
            )
        )
    assert err.value.context["field"] == "offer.amount"
    assert err.value.context["line"] == 13  # the line of "amount: amont"
    with pytest.raises(StrategyCompileError) as err:
        compile_strategy(
            DOC.replace("income_multiple: 10", "income_multiple: grade").replace("OVER", "reprice")
        )
    assert err.value.context["field"] == "offer.limit.income_multiple"
    with pytest.raises(StrategyLoadError):
        compile_strategy(DOC.replace("OVER", "sometimes"))
