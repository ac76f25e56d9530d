"""Partner endpoints: decide, read a decision, dry-run a mapping, list own deployments."""

from __future__ import annotations

import json
import re
import time
from collections.abc import MutableMapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Header, Request, Response

from ruleplus.errors import DataError
from ruleplus.service.auth import current_partner, state_of
from ruleplus.service.state import ServiceState
from ruleplus.serving.admin import deployment_info
from ruleplus.serving.decisions import DecisionRequest, response_body
from ruleplus.serving.mapping import FieldMapping
from ruleplus.store.repos import DecisionRepo, DeploymentRepo, MappingRepo
from ruleplus.store.tables import Partner

__all__ = ["answer_decision", "decide_in_gate", "decide_route", "router"]

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


def _product(raw: str) -> str:
    if not raw or len(raw) > 80:
        raise DataError("the product must be 1 to 80 characters", field="product")
    return raw


async def answer_decision(
    state: ServiceState,
    partner: Partner,
    product: str,
    raw: bytes,
    idempotency: str | None,
    channel: str | None,
    request_state: MutableMapping[str, Any],
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Decide one application: the body and extra headers of the 200 answer.

    The one implementation behind ``POST /v1/decisions/{product}``, whether the gate answers it
    directly (:func:`decide_in_gate`, the fast path) or the route does (the app mounted
    without the gate). Raises a ruleplus error for every refusal.
    """
    started = time.perf_counter()
    chosen_product = _product(product)
    key = idempotency_key(idempotency)
    chosen = _channel("*" if channel is None else channel)

    def build() -> DecisionRequest:  # parsing and digesting: off the event loop
        return DecisionRequest(partner.id, chosen_product, parse_object(raw), chosen, key)

    outcome = await state.decisions.decide_async(build, state.pool, len(raw))
    body = orjson.dumps(outcome.body)
    if outcome.replayed:
        return body, [(b"idempotent-replayed", b"true")]
    label = outcome.outcome or "none"
    state.metrics.decided(outcome.strategy_id, label, outcome.arm, time.perf_counter() - started)
    request_state["decision_id"] = outcome.decision_id
    return body, []


_DECIDE_PATH = re.compile(r"/v1/decisions/([^/]+)")


def decide_route(path: str, method: str) -> str | None:
    """The product when ``method path`` is a decision request, else None."""
    if method != "POST":
        return None
    match = _DECIDE_PATH.fullmatch(path)
    return match.group(1) if match else None


async def decide_in_gate(
    state: ServiceState, partner: Partner, scope: Any, raw: bytes, send: Any
) -> bool:
    """Answer a decision request from the gate, which has already authenticated the partner
    and read the body; False (nothing sent) for any other request.

    FastAPI's routing, dependency solving and request objects cost about a quarter of a
    decision's CPU and add nothing here. Ruleplus errors propagate to the gate, which answers
    them with the same problem handler as the app.
    """
    product = decide_route(str(scope.get("path", "")), str(scope.get("method", "")))
    if product is None:
        return False
    scope["route"] = _DECIDE_ROUTE  # what the access log and metrics label it with
    headers = {k: v for k, v in scope.get("headers", ()) if k in _DECIDE_HEADERS}
    idempotency = headers.get(b"idempotency-key")
    channel = headers.get(b"x-channel")
    body, extra = await answer_decision(
        state,
        partner,
        product,
        raw,
        None if idempotency is None else idempotency.decode("latin-1"),
        None if channel is None else channel.decode("utf-8", "replace"),
        scope.setdefault("state", {}),
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return True


_DECIDE_HEADERS = frozenset({b"idempotency-key", b"x-channel"})


@router.post(
    "/decisions/{product}",
    summary="Decide one application",
    status_code=200,
    openapi_extra={"requestBody": _DECIDE_BODY},
)
async def decide(
    product: str,
    request: Request,
    partner: Annotated[Partner, Depends(current_partner)],
    idempotency: Annotated[
        str | None, Header(alias="Idempotency-Key", description="1-200 visible ASCII characters")
    ] = None,
    channel: Annotated[
        str | None, Header(alias="X-Channel", description="the partner's channel (default *)")
    ] = None,
) -> Response:
    """Map, validate, decide and persist; answers after the decision is committed.

    A retry with the same ``Idempotency-Key`` (and the same product, channel and body) returns
    the stored decision and writes nothing; the same key with another request is 409. An
    ``identity`` object (``{"selfie": base64, "id_photo": base64}``) is verified first and its
    results (``face_match``, ``liveness_score``…) become inputs of the strategy; the images are
    not stored. (Behind the gate, :func:`decide_in_gate` answers it with the same code.)
    """
    raw = await request.body()
    state = state_of(request)
    scope_state: MutableMapping[str, Any] = request.scope.setdefault("state", {})
    body, extra = await answer_decision(
        state, partner, product, raw, idempotency, channel, scope_state
    )
    headers = {k.decode(): v.decode() for k, v in extra}
    return Response(body, media_type="application/json", headers=headers or None)


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


_DECIDE_ROUTE = next(r for r in router.routes if getattr(r, "endpoint", None) is decide)
