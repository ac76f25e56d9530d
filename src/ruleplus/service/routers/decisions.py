"""Partner endpoints: decide, read a decision, dry-run a mapping, list own deployments."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Header, Path, Request, Response

from ruleplus.errors import DataError
from ruleplus.service.auth import current_partner, state_of
from ruleplus.serving.admin import deployment_info
from ruleplus.serving.decisions import DecisionRequest, Outcome, response_body
from ruleplus.serving.mapping import FieldMapping
from ruleplus.store.repos import DecisionRepo, DeploymentRepo, MappingRepo
from ruleplus.store.tables import Partner

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["decisions"])

Application = Annotated[
    dict[str, Any],
    Body(
        description="the application, in the partner's own field names",
        examples=[{"applicantId": "A1", "creditScore": 713}],
    ),
]


_NON_FINITE = re.compile(rb"(?<![\w\"])-?(?:NaN|Infinity)(?![\w\"])")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")

_DECIDE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "the application, in the partner's own field names; an optional "
                "identity object {selfie, id_photo} (base64) is verified first",
            },
            "example": {"applicantId": "A1", "creditScore": 713},
        }
    },
}


def parse_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body; anything else is a clear 422.

    orjson refuses what JSON does not allow and Python's parser accepts: NaN and Infinity,
    numbers too large for a double, unpaired surrogates (which no database can store).
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if "infinity" in str(exc) or _NON_FINITE.search(raw):
            hint = "; numbers must be finite: NaN and Infinity are not JSON"
        raise DataError(f"the body is not valid JSON: {exc}{hint}", field="body") from None
    if not isinstance(value, dict):
        raise DataError("the body must be a JSON object", field="body")
    return value


def idempotency_key(raw: str | None) -> str | None:
    """The ``Idempotency-Key`` header, checked: absent is None; present must be 1–200 visible
    ASCII characters (an empty key would make every keyless retry a conflict)."""
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(raw):
        raise DataError(
            "Idempotency-Key must be 1 to 200 visible ASCII characters", field="Idempotency-Key"
        )
    return raw


def _channel(raw: str) -> str:
    if not raw or len(raw) > 80 or not raw.isprintable():
        raise DataError("X-Channel must be 1 to 80 printable characters", field="X-Channel")
    return raw


@router.post(
    "/decisions/{product}",
    summary="Decide one application",
    status_code=200,
    openapi_extra={"requestBody": _DECIDE_BODY},
)
async def decide(
    product: Annotated[str, Path(max_length=80)],
    request: Request,
    partner: Annotated[Partner, Depends(current_partner)],
    idempotency: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    channel: Annotated[str, Header(alias="X-Channel", max_length=80)] = "*",
) -> Response:
    """Map, validate, decide and persist; answers after the decision is committed.

    A retry with the same ``Idempotency-Key`` (and the same product, channel and body) returns
    the stored decision and writes nothing; the same key with another request is 409. An
    ``identity`` object (``{"selfie": base64, "id_photo": base64}``) is verified first and its
    results (``face_match``, ``liveness_score``…) become inputs of the strategy; the images are
    not stored.
    """
    state = state_of(request)
    started = time.perf_counter()
    key = idempotency_key(idempotency)
    raw = await request.body()
    chosen = _channel(channel)

    def work() -> Outcome:  # parsing, digesting and deciding: all off the event loop
        return state.decisions.decide(
            DecisionRequest(partner.id, product, parse_object(raw), chosen, key)
        )

    outcome = await asyncio.get_running_loop().run_in_executor(state.pool, work)
    if outcome.replayed:
        return Response(
            orjson.dumps(outcome.body),
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    elapsed = time.perf_counter() - started
    label = outcome.outcome or "none"
    state.metrics.latency.labels(outcome.strategy_id, label).observe(elapsed)
    state.metrics.decisions.labels(outcome.strategy_id, label, outcome.arm).inc()
    request.state.decision_id = outcome.decision_id
    return Response(orjson.dumps(outcome.body), media_type="application/json")


@router.get("/decisions/{decision_id}", summary="Read one of your decisions")
def get_decision(
    decision_id: str, request: Request, partner: Annotated[Partner, Depends(current_partner)]
) -> dict[str, Any]:
    """The stored decision (another partner's decision is simply not found)."""
    with state_of(request).database.session() as session:
        row = DecisionRepo(session).get(partner.id, decision_id)
        body = response_body(row)
        body["application"] = row.application
        return body


@router.post("/mappings/{product}/dry-run", summary="Try your field mapping on a payload")
def dry_run(
    product: str,
    request: Request,
    application: Application,
    partner: Annotated[Partner, Depends(current_partner)],
    channel: Annotated[str, Header(alias="X-Channel", max_length=80)] = "*",
) -> dict[str, Any]:
    """The canonical application your payload maps to, and every problem the strategy finds."""
    state = state_of(request)
    with state.database.session() as session:
        mapping_row = MappingRepo(session).latest(partner.id, product)
        deployment = DeploymentRepo(session).live(partner.id, product, channel)
    mapping = FieldMapping(mapping_row.document) if mapping_row else None
    mapped, problems = mapping.apply(application) if mapping else (dict(application), [])
    strategy = None
    if deployment is not None:
        strategy = state.decisions.strategy(deployment.strategy_id, deployment.champion)
        problems = problems + strategy.validate_record(mapped)
    return {
        "application": json.loads(json.dumps(mapped, default=str)),
        "mapping_version": mapping_row.version if mapping_row else None,
        "strategy": {"id": strategy.id, "version": strategy.version} if strategy else None,
        "valid": not problems,
        "errors": [p.to_dict() for p in problems],
    }


@router.get("/deployments", summary="Your live and past deployments")
def my_deployments(
    request: Request, partner: Annotated[Partner, Depends(current_partner)]
) -> list[dict[str, Any]]:
    """Deployments bound to your products."""
    with state_of(request).database.session() as session:
        return [
            dict(deployment_info(d), active=d.active)
            for d in DeploymentRepo(session).list(partner.id)
        ]
