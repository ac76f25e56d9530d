"""Offers in the service: every approved cash_loan decision of the demo answers and stores an
offer whose annualised rate, recomputed from its own instalments and fees, is the stated one
and never above the cap; the schedule endpoint; quotes without a decision."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from service_helpers import ADMIN, ROOT, deploy, make_client, new_partner, publish

from ruleplus.datasets import synth_applications
from ruleplus.lending.rates import irr

CONSUMER_DOC = (ROOT / "examples" / "strategies" / "consumer_loan.yaml").read_text(encoding="utf-8")
CAP = Decimal("0.24")


@pytest.fixture
def demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    demo_module = importlib.import_module("ruleplus.cli.demo")  # the package's demo() shadows it
    monkeypatch.setattr(demo_module, "_install_demo_models", lambda config, console: "off")
    with make_client(tmp_path, identity=False) as client:
        state = client.app.state.ruleplus  # type: ignore[attr-defined]
        seeded = demo_module.seed_demo(
            state.database, state.config, "127.0.0.1", 8000, Console(file=io.StringIO())
        )
        yield client, {"X-API-Key": seeded["api_key"]}


def post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return client.post(
        path,
        content=json.dumps(body, default=str),
        headers={**headers, "Content-Type": "application/json"},
    )


def check_offer(offer: dict[str, Any], cap: Decimal) -> None:
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
    for line in offer["instalments"]:
        assert set(line) >= {
            "period",
            "due_date",
            "payment",
            "principal",
            "interest",
            "fee",
            "balance",
        }
        assert isinstance(line["payment"], str)  # money is decimal text
    disbursed = Decimal(offer["amount"]) - Decimal(offer["fees"]["upfront"])
    flows = [-disbursed] + [Decimal(i["payment"]) for i in offer["instalments"]]
    stated = Decimal(offer["apr_irr"])
    independent = npf.irr([float(f) for f in flows]) * 12  # numpy-financial, in floats
    assert abs(independent - float(stated)) <= 0.00005 + 1e-9
    exact = irr(flows) * 12
    assert abs(exact - stated) <= Decimal("0.00005")
    assert stated <= cap and exact <= cap
    assert len(offer["instalments"]) == offer["months"]
    assert sum(Decimal(i["principal"]) for i in offer["instalments"]) == Decimal(offer["amount"])
    assert Decimal(offer["total_payment"]) == sum(
        Decimal(i["payment"]) for i in offer["instalments"]
    )


def test_demo_decisions_carry_offers_within_the_cap(
    demo: tuple[TestClient, dict[str, str]],
) -> None:
    client, key = demo
    counts = {"approve": 0, "repriced": 0, "offer_declined": 0, "other": 0}
    first_offer: tuple[str, dict[str, Any]] | None = None
    declined_id = None
    for record in synth_applications(250, seed=21).to_dicts():
        response = post(client, "/v1/decisions/cash_loan", record, key)
        assert response.status_code == 200, response.text
        body = response.json()
        codes = [r["code"] for r in body["reasons"]]
        if body["decision"] == "approve":
            counts["approve"] += 1
            check_offer(body["offer"], CAP)
            counts["repriced"] += body["offer"]["repriced"]
            first_offer = first_offer or (body["decision_id"], body["offer"])
        else:
            assert "offer" not in body
            if codes and codes[0].startswith("OFFER_"):
                counts["offer_declined"] += 1
                assert body["outputs"]["decision"] == "decline"
            counts["other"] += 1
            declined_id = body["decision_id"]
    assert counts["approve"] >= 40 and counts["repriced"] >= 10, counts
    assert first_offer is not None and declined_id is not None
    decision_id, offer = first_offer
    stored = client.get(f"/v1/decisions/{decision_id}", headers=key).json()
    assert stored["offer"] == offer
    schedule = client.get(f"/v1/decisions/{decision_id}/schedule", headers=key)
    assert schedule.status_code == 200 and schedule.json()["offer"] == offer
    assert client.get(f"/v1/decisions/{declined_id}/schedule", headers=key).status_code == 404
    _, other = new_partner(client, "other")
    assert client.get(f"/v1/decisions/{decision_id}/schedule", headers=other).status_code == 404
    audit = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert audit["ok"] is True  # the stored offers are covered by the decisions' digests


def test_quote_without_a_decision(demo: tuple[TestClient, dict[str, str]]) -> None:
    client, key = demo
    record = None
    for candidate in synth_applications(300, seed=4).to_dicts():
        candidate["phone"] = candidate["deviceId"] = None  # no velocity: quotes never count
        quoted = post(
            client, "/v1/offers/quote", {"product": "cash_loan", "application": candidate}, key
        )
        assert quoted.status_code == 200, quoted.text
        if quoted.json()["offer"]:
            record = candidate
            break
    assert record is not None
    body = post(
        client,
        "/v1/offers/quote",
        {"product": "cash_loan", "application": record, "amount": "1000", "months": 6},
        key,
    ).json()
    assert "decision_id" not in body
    assert body["offer"]["amount"] == "1000.00" and body["offer"]["months"] == 6
    check_offer(body["offer"], CAP)
    too_much = post(
        client,
        "/v1/offers/quote",
        {"product": "cash_loan", "application": record, "amount": "900000000"},
        key,
    )
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    bad_term = post(
        client,
        "/v1/offers/quote",
        {"product": "cash_loan", "application": record, "months": 0},
        key,
    )
    assert bad_term.status_code == 422 and bad_term.json()["field"] == "months"
    unknown = post(client, "/v1/offers/quote", {"product": "nothing", "application": record}, key)
    assert unknown.status_code == 404
    invalid = post(
        client, "/v1/offers/quote", {"product": "cash_loan", "application": {"age": 30}}, key
    )
    assert invalid.status_code == 422


def test_a_deployment_overrides_the_cap(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        partner_id, key = new_partner(client, "acme")
        publish(client, CONSUMER_DOC)
        deploy(
            client, partner_id, "cash", strategy_id="consumer_loan", parameters={"rateCap": 0.18}
        )
        cap = Decimal("0.18")
        seen = 0
        for record in synth_applications(150, seed=8).to_dicts():
            body = post(client, "/v1/decisions/cash", record, key).json()
            if body["decision"] == "approve":
                check_offer(body["offer"], cap)
                assert body["offer"]["cap"] == "0.18"
                seen += 1
        assert seen >= 20
