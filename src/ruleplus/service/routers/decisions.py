"""Partner endpoints: decide, read a decision, dry-run a mapping, list own deployments."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse

from ruleplus.errors import DataError, FieldProblem, RuleplusError
from ruleplus.mapping import FieldMapping
from ruleplus.runtime.admin import deployment_info
from ruleplus.runtime.decisions import request_digest, response_body
from ruleplus.service.auth import current_partner, state_of
from ruleplus.service.identity import identity_facts
from ruleplus.store.models import Partner
from ruleplus.store.repos import DecisionRepo, DeploymentRepo, MappingRepo

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["decisions"])

Application = Annotated[
    dict[str, Any],
    Body(
        description="the application, in the partner's own field names",
        examples=[{"applicantId": "A1", "creditScore": 713}],
    ),
]


@router.post("/decisions/{product}", summary="Decide one application", status_code=200)
async def decide(
    product: str,
    request: Request,
    application: Application,
    partner: Annotated[Partner, Depends(current_partner)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    channel: Annotated[str, Header(alias="X-Channel", max_length=80)] = "*",
) -> JSONResponse:
    """Map, validate, decide and persist; answers after the decision is committed.

    A retry with the same ``Idempotency-Key`` returns the stored decision and writes nothing.
    An ``identity`` object (``{"selfie": base64, "id_photo": base64}``) is verified first and
    its results (``face_match``, ``liveness_score``…) become inputs of the strategy; the images
    are not stored.
    """
    state = state_of(request)
    started = time.perf_counter()
    if not isinstance(application, dict):
        raise DataError("the body must be a JSON object")
    service = state.decisions
    digest = request_digest(application)
    identity = application.get("identity") if "identity" in application else None
    try:
        if idempotency_key and (
            identity is not None or service.records_events(partner.id, product, channel)
        ):
            replay = await asyncio.to_thread(service.replay, partner.id, idempotency_key, digest)
            if replay is not None:
                return JSONResponse(replay.body, headers={"Idempotent-Replayed": "true"})
        facts: dict[str, Any] | None = None
        stored: dict[str, Any] | None = None
        if identity is not None:
            facts, summary = await asyncio.to_thread(identity_facts, state, identity)
            application = {k: v for k, v in application.items() if k != "identity"}
            stored = {**application, "identity": summary}
        row, _decision = service.prepare(
            partner.id, product, channel, application, idempotency_key, facts, stored
        )
    except RuleplusError:
        # a retry is answered from the store even if the deployment or strategy changed since
        if idempotency_key:
            replay = await asyncio.to_thread(service.replay, partner.id, idempotency_key, digest)
            if replay is not None:
                return JSONResponse(replay.body, headers={"Idempotent-Replayed": "true"})
        raise
    # no read up front: the unique (partner, idempotency key) on insert tells a retry apart
    result = await asyncio.wrap_future(state.writer.submit(row))
    if not result.stored:  # an earlier or concurrent request holds the key: answer with it
        replay = await asyncio.to_thread(
            service.replay, partner.id, idempotency_key or "", row["request_digest"]
        )
        assert replay is not None
        return JSONResponse(replay.body, headers={"Idempotent-Replayed": "true"})
    elapsed = time.perf_counter() - started
    outcome = row["outcome"] or "none"
    state.metrics.latency.labels(row["strategy_id"], outcome).observe(elapsed)
    state.metrics.decisions.labels(row["strategy_id"], outcome, row["arm"]).inc()
    request.state.decision_id = row["id"]
    return JSONResponse(response_body(row))


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
        "errors": [_problem(p) for p in problems],
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


def _problem(p: FieldProblem) -> dict[str, str]:
    return {"field": p.field, "problem": p.problem}
