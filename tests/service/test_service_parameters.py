"""Per-deployment parameter overrides: one policy, each partner's cut-offs.

The overrides are checked against every deployed version's declaration when the deployment is
made (a bad one is refused and nothing is deployed), applied to every arm, recorded with every
decision (and covered by its audit entry) and shown in the deployment's history.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from service_helpers import ADMIN, ROOT, new_partner, publish
from sqlalchemy import select, text

from ruleplus.store.tables import DecisionRecord

CONSUMER_DOC = (
    ROOT / "src" / "ruleplus" / "examples" / "strategies" / "consumer_loan.yaml"
).read_text(encoding="utf-8")
APPLICATION = {
    "applicantId": "A0000042",
    "age": 31,
    "monthlyIncome": 9800,
    "monthlyDebt": 1200,
    "loanAmount": 30000,
    "termMonths": 24,
    "creditScore": 702,
    "delinquencies24m": 0,
    "inquiries6m": 1,
    "utilization": 0.35,
    "employmentType": "salaried",
    "residentialStatus": "rent",
}


def _deploy(client: TestClient, partner_id: str, **extra: Any) -> Any:
    body = {
        "partner_id": partner_id,
        "product": "cash",
        "strategy_id": "consumer_loan",
        "champion": "1.0.0",
        **extra,
    }
    return client.post("/v1/admin/deployments", json=body, headers=ADMIN)


def _decide(client: TestClient, key: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/decisions/cash", json={**APPLICATION, **fields}, headers={**key, "X-Channel": "web"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_each_partner_decides_with_its_own_cut_offs(client: TestClient) -> None:
    publish(client, CONSUMER_DOC)
    lenient_id, lenient = new_partner(client, "lenient")
    strict_id, strict = new_partner(client, "strict")
    assert _deploy(client, lenient_id).status_code == 201
    response = _deploy(client, strict_id, parameters={"cutoff": 900, "challengerCutoff": 900})
    assert response.status_code == 201, response.text
    assert response.json()["parameters"] == {"cutoff": 900, "challengerCutoff": 900}

    assert _decide(client, lenient, applicationId="L-1")["decision"] == "approve"
    declined = _decide(client, strict, applicationId="S-1")
    assert declined["decision"] == "decline"
    assert [r["code"] for r in declined["reasons"]][-1] == "CUT"

    state = client.app.state.ruleplus  # type: ignore[attr-defined]
    with state.database.session() as session:
        rows = {r.application_id: r for r in session.execute(select(DecisionRecord)).scalars()}
    assert rows["L-1"].parameters is None
    assert rows["S-1"].parameters == {"cutoff": 900, "challengerCutoff": 900}
    assert client.get("/v1/admin/audit/verify", headers=ADMIN).json()["ok"] is True
    # the overrides a decision was made under are part of what its audit entry vouches for
    with state.database.engine.begin() as connection:
        connection.execute(
            text("UPDATE decisions SET parameters = NULL WHERE application_id = 'S-1'")
        )
    report = client.get("/v1/admin/audit/verify", headers=ADMIN).json()
    assert report["ok"] is False
    assert report["decision"] == rows["S-1"].id


def test_a_bad_override_is_refused_and_nothing_is_deployed(client: TestClient) -> None:
    publish(client, CONSUMER_DOC)
    partner_id, key = new_partner(client, "p")
    for parameters, message in (
        ({"cutoff": 1200}, "at most 900"),
        ({"cutoff": "high"}, "an integer"),
        ({"cut": 600}, "declares no parameter 'cut'"),
    ):
        response = _deploy(client, partner_id, parameters=parameters)
        assert response.status_code == 422, response.text
        assert message in response.text
        assert "version 1.0.0" in response.text
    listed = client.get("/v1/admin/deployments", headers=ADMIN).json()
    assert listed == [] or all(d["partner_id"] != partner_id for d in listed)
    missing = client.post(
        "/v1/decisions/cash", json=APPLICATION, headers={**key, "X-Channel": "web"}
    )
    assert missing.status_code == 404


def test_every_deployed_version_must_declare_the_override(client: TestClient) -> None:
    publish(client, CONSUMER_DOC)
    plain = (
        CONSUMER_DOC.replace('version: "1.0.0"', 'version: "0.9.0"')
        .replace(
            "  cutoff:           {type: integer, default: 600",
            "  cutoffOld:        {type: integer, default: 600",
        )
        .replace("score < cutoff\n", "score < cutoffOld\n")
    )
    publish(client, plain)
    partner_id, _ = new_partner(client, "p")
    response = _deploy(
        client,
        partner_id,
        parameters={"cutoff": 610},
        challengers=[{"version": "0.9.0", "share": 10}],
    )
    assert response.status_code == 422, response.text
    assert "version 0.9.0" in response.text
