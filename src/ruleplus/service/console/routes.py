"""The console's JSON API (``/console/api``): sessions, users, strategies, deployments,
partners, decisions and the identity demo.

Every change calls the audited action the admin API and the CLI call, with the signed-in user
as the actor; reads are the same repositories' queries. Roles: viewers read, analysts draft
and simulate, approvers publish and deploy (never a version they drafted), admins manage
users and partners.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import difflib
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import String, cast, select

from ruleplus.errors import DataError, NotFoundError, ServiceUnavailableError, StrategyError
from ruleplus.service.auth import state_of
from ruleplus.service.console.documents import check_document, document_text, parse_document
from ruleplus.service.console.session import (
    Approver,
    Drafter,
    Manager,
    Viewer,
    clear_cookie,
    set_cookie,
)
from ruleplus.service.routers.admin import NewDeployment
from ruleplus.serving import admin, users
from ruleplus.serving.admin import deployment_info
from ruleplus.serving.mapping import FieldMapping
from ruleplus.serving.sensitive import PREFIX
from ruleplus.store.repos import DeploymentRepo, MappingRepo, PartnerRepo
from ruleplus.store.secrets import mask
from ruleplus.store.tables import DecisionRecord, StrategyVersion

__all__ = ["router"]

router = APIRouter(prefix="/console/api", tags=["console"], include_in_schema=False)

# inputs shown masked in the explorer even when the strategy did not mark them sensitive
_PERSONAL = re.compile(
    r"phone|mobile|id_?number|id_?card|email|bank_?card|card_?no|name$|birth|ip_?address|device",
    re.I,
)


class Credentials(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024)


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    role: Literal["viewer", "analyst", "approver", "admin"]
    password: str = Field(min_length=1, max_length=1024)


class RoleChange(BaseModel):
    role: Literal["viewer", "analyst", "approver", "admin"]


class Password(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class Draft(BaseModel):
    document: dict[str, Any]


class ConsolePartner(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    rate_limit_per_s: float | None = Field(None, gt=0, le=1e9, allow_inf_nan=False)


class KeyChange(BaseModel):
    keep_old: bool = False
    prefix: str | None = Field(None, max_length=16)


class MappingDocument(BaseModel):
    document: dict[str, Any]


class DryRun(BaseModel):
    document: dict[str, Any]
    payload: dict[str, Any]


class Binding(BaseModel):
    partner_id: str = Field(max_length=40)
    product: str = Field(max_length=80)
    channel: str = Field("*", max_length=80)


class IdentityImages(BaseModel):
    selfie: str = Field(min_length=1, max_length=4_000_000)
    id_photo: str = Field(min_length=1, max_length=4_000_000)


# -- sessions -------------------------------------------------------------------------------


@router.post("/login")
def login(body: Credentials, request: Request, response: Response) -> dict[str, Any]:
    state = state_of(request)
    opened = users.login(state.database, body.name, body.password)
    set_cookie(request, response, opened)
    return {"user": opened.identity.to_dict(), "csrf": opened.csrf}


@router.post("/logout")
def logout(request: Request, response: Response, user: Viewer) -> dict[str, Any]:
    users.logout(state_of(request).database, user)
    clear_cookie(request, response)
    return {"signed_out": True}


@router.get("/session")
def session(request: Request, user: Viewer) -> dict[str, Any]:
    """The signed-in user and a fresh CSRF token (a reopened page has lost the old one)."""
    csrf = users.rotate_csrf(state_of(request).database, user)
    return {"user": user.to_dict(), "csrf": csrf}


# -- users (administrators) -----------------------------------------------------------------


@router.get("/users")
def list_users(request: Request, user: Manager) -> list[dict[str, Any]]:
    return users.list_users(state_of(request).database)


@router.post("/users", status_code=201)
def create_user(body: NewUser, request: Request, user: Manager) -> dict[str, Any]:
    db = state_of(request).database
    return users.create_user(db, body.name, body.role, body.password, user.name)


@router.post("/users/{name}/role")
def set_role(name: str, body: RoleChange, request: Request, user: Manager) -> dict[str, Any]:
    return users.set_role(state_of(request).database, name, body.role, user.name)


@router.post("/users/{name}/{action}")
def user_action(
    name: str, action: Literal["disable", "unlock"], request: Request, user: Manager
) -> dict[str, Any]:
    db = state_of(request).database
    if action == "disable":
        return users.disable_user(db, name, user.name)
    return users.unlock_user(db, name, user.name)


@router.post("/users/{name}/password/reset")
def reset_password(name: str, body: Password, request: Request, user: Manager) -> dict[str, Any]:
    return users.reset_password(state_of(request).database, name, body.password, user.name)


# -- strategies -----------------------------------------------------------------------------


def _version_info(row: StrategyVersion) -> dict[str, Any]:
    return {
        "strategy_id": row.strategy_id,
        "version": row.version,
        "status": row.status,
        "digest": row.digest,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "created_by": row.created_by,
        "approved_by": row.approved_by,
    }


def _title(text: str) -> str | None:
    try:
        data = parse_document(text)
    except Exception:  # a stored document always parsed once; a title is only decoration
        return None
    title = data.get("title") if isinstance(data, dict) else None
    return str(title) if title else None


@router.get("/strategies")
def list_strategies(request: Request, user: Viewer) -> list[dict[str, Any]]:
    """Strategies with their versions, newest first."""
    grouped: dict[str, dict[str, Any]] = {}
    with state_of(request).database.session() as db:
        rows = db.execute(select(StrategyVersion).order_by(StrategyVersion.id.desc())).scalars()
        for row in rows:
            entry = grouped.setdefault(
                row.strategy_id,
                {"strategy_id": row.strategy_id, "title": _title(row.document), "versions": []},
            )
            entry["versions"].append(_version_info(row))
    return list(grouped.values())


def _stored(request: Request, strategy_id: str, version: str) -> StrategyVersion:
    with state_of(request).database.session() as db:
        row = db.execute(
            select(StrategyVersion).where(
                StrategyVersion.strategy_id == strategy_id, StrategyVersion.version == version
            )
        ).scalar_one_or_none()
    if row is None:
        raise NotFoundError("no such strategy version", strategy=strategy_id, version=version)
    return row


@router.get("/strategies/{strategy_id}/diff")
def diff(strategy_id: str, old: str, new: str, request: Request, user: Viewer) -> dict[str, Any]:
    """Both documents (the console lays them side by side and marks changed cells) and the
    unified diff of their texts."""
    a, b = _stored(request, strategy_id, old), _stored(request, strategy_id, new)
    unified = "".join(
        difflib.unified_diff(
            a.document.splitlines(keepends=True),
            b.document.splitlines(keepends=True),
            fromfile=f"{strategy_id}@{old}",
            tofile=f"{strategy_id}@{new}",
        )
    )
    return {
        "old": {**_version_info(a), "document": parse_document(a.document)},
        "new": {**_version_info(b), "document": parse_document(b.document)},
        "unified": unified,
    }


@router.get("/strategies/{strategy_id}/{version}")
def get_strategy(strategy_id: str, version: str, request: Request, user: Viewer) -> dict[str, Any]:
    row = _stored(request, strategy_id, version)
    return {**_version_info(row), "document": parse_document(row.document), "text": row.document}


@router.post("/strategies/check")
def check(body: Draft, request: Request, user: Viewer) -> dict[str, Any]:
    """Validate an edited document with the engine (nothing is stored)."""
    return check_document(body.document, state_of(request).resolver)


@router.post("/strategies/drafts", status_code=201)
def submit_draft(body: Draft, request: Request, user: Drafter) -> dict[str, Any]:
    """Store an edited document as a new version, validated: it waits for an approver."""
    state = state_of(request)
    checked = check_document(body.document, state.resolver)
    if not checked["valid"]:
        first = checked["errors"][0]
        raise StrategyError(
            first["message"],
            node=first.get("node"),
            line=first.get("line"),
            field=".".join(str(p) for p in first.get("path") or []) or None,
        )
    text = document_text(body.document)
    out = admin.publish_strategy(
        state.database, text, user.name, publish=False, artifacts=state.resolver
    )
    return {**out, "warnings": checked["warnings"]}


@router.post("/strategies/{strategy_id}/{version}/{action}")
def transition(
    strategy_id: str,
    version: str,
    action: Literal["publish", "retire"],
    request: Request,
    user: Approver,
) -> dict[str, Any]:
    """Approve (publish) or retire a version; publishing is maker-checker."""
    state = state_of(request)
    out = admin.transition_strategy(
        state.database,
        strategy_id,
        version,
        action,
        user.name,
        artifacts=state.resolver,
        maker_checker=True,
    )
    state.changed()
    return out


# -- deployments ----------------------------------------------------------------------------


@router.get("/deployments")
def list_deployments(request: Request, user: Viewer) -> list[dict[str, Any]]:
    with state_of(request).database.session() as db:
        rows = DeploymentRepo(db).list()
        return [
            dict(
                deployment_info(d),
                active=d.active,
                parameters=d.parameters,
                created_at=d.created_at.isoformat() if d.created_at else None,
            )
            for d in rows
        ]


@router.post("/deployments", status_code=201)
def deploy(body: NewDeployment, request: Request, user: Approver) -> dict[str, Any]:
    """Deploy a champion with challengers (shares), shadows and parameter overrides."""
    state = state_of(request)
    spec = body.spec()
    out = admin.deploy(state.database, spec, actor=user.name)
    state.changed()
    return out


@router.post("/deployments/rollback")
def rollback(body: Binding, request: Request, user: Approver) -> dict[str, Any]:
    state = state_of(request)
    out = admin.rollback(state.database, body.partner_id, body.product, body.channel, user.name)
    state.changed()
    return out


# -- partners and mappings ------------------------------------------------------------------


@router.get("/partners")
def list_partners(request: Request, user: Viewer) -> list[dict[str, Any]]:
    with state_of(request).database.session() as db:
        repo = PartnerRepo(db)
        return [
            {
                "partner_id": p.id,
                "name": p.name,
                "status": p.status,
                "rate_limit_per_s": p.rate_limit_per_s,
                "keys": [{"prefix": k.prefix, "status": k.status} for k in repo.keys(p.id)],
            }
            for p in repo.list()
        ]


@router.post("/partners", status_code=201)
def create_partner(body: ConsolePartner, request: Request, user: Manager) -> dict[str, Any]:
    """Create a partner; its API key is in this answer only."""
    state = state_of(request)
    return admin.create_partner(state.database, body.name, user.name, body.rate_limit_per_s)


@router.post("/partners/{partner_id}/{action}")
def partner_keys(
    partner_id: str,
    action: Literal["rotate-key", "revoke-keys"],
    body: KeyChange,
    request: Request,
    user: Manager,
) -> dict[str, Any]:
    state = state_of(request)
    if action == "rotate-key":
        out = admin.rotate_key(state.database, partner_id, user.name, body.keep_old)
    else:
        out = admin.revoke_keys(state.database, partner_id, user.name, body.prefix)
    state.changed()
    return out


@router.get("/partners/{partner_id}/mappings/{product}")
def get_mapping(partner_id: str, product: str, request: Request, user: Viewer) -> dict[str, Any]:
    with state_of(request).database.session() as db:
        PartnerRepo(db).get(partner_id)
        row = MappingRepo(db).latest(partner_id, product)
        if row is None:
            return {"partner_id": partner_id, "product": product, "version": None, "document": {}}
        return {
            "partner_id": partner_id,
            "product": product,
            "version": row.version,
            "document": row.document,
        }


@router.put("/partners/{partner_id}/mappings/{product}")
def put_mapping(
    partner_id: str, product: str, body: MappingDocument, request: Request, user: Manager
) -> dict[str, Any]:
    state = state_of(request)
    out = admin.put_mapping(state.database, partner_id, product, body.document, user.name)
    state.changed()
    return out


@router.post("/mappings/dry-run")
def dry_run_mapping(body: DryRun, user: Viewer) -> dict[str, Any]:
    """What a mapping makes of a pasted partner payload (nothing is stored or decided)."""
    mapping = FieldMapping(body.document)
    record, problems = mapping.apply(body.payload)
    return {"application": record, "problems": [p.to_dict() for p in problems]}


# -- decisions ------------------------------------------------------------------------------


def _masked(name: str, value: Any) -> Any:
    if isinstance(value, str) and value.startswith(PREFIX):
        return "•••• (" + value[len(PREFIX) : len(PREFIX) + 8] + "…)"
    if isinstance(value, dict):
        return {k: _masked(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(name, v) for v in value]
    if value is not None and _PERSONAL.search(name):
        return mask(str(value))
    return value


def _summary(row: DecisionRecord) -> dict[str, Any]:
    return {
        "decision_id": row.id,
        "partner_id": row.partner_id,
        "product": row.product,
        "channel": row.channel,
        "decision": row.outcome,
        "reasons": [r.get("code") for r in row.reasons if isinstance(r, dict)],
        "strategy_id": row.strategy_id,
        "strategy_version": row.strategy_version,
        "arm": row.arm,
        "latency_ms": row.latency_ms,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


@router.get("/decisions")
def search_decisions(
    request: Request,
    user: Viewer,
    decision_id: Annotated[str | None, Query(max_length=40)] = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    product: Annotated[str | None, Query(max_length=80)] = None,
    outcome: Annotated[str | None, Query(max_length=80)] = None,
    reason: Annotated[str | None, Query(max_length=40, pattern=r"^[\w.-]+$")] = None,
    arm: Annotated[str | None, Query(max_length=60)] = None,
    partner_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Stored decisions, newest first, filtered."""
    query = select(DecisionRecord).order_by(DecisionRecord.created_at.desc())
    if decision_id:
        query = query.where(DecisionRecord.id == decision_id)
    if start:
        query = query.where(DecisionRecord.created_at >= start)
    if end:
        query = query.where(DecisionRecord.created_at < end)
    if product:
        query = query.where(DecisionRecord.product == product)
    if outcome:
        query = query.where(DecisionRecord.outcome == outcome)
    if arm:
        query = query.where(DecisionRecord.arm == arm)
    if partner_id:
        query = query.where(DecisionRecord.partner_id == partner_id)
    if reason:  # codes are word characters only (pattern above): safe inside the LIKE
        query = query.where(cast(DecisionRecord.reasons, String).like(f'%"{reason}"%'))
    with state_of(request).database.session() as db:
        rows = db.execute(query.offset(offset).limit(limit + 1)).scalars().all()
    return {"items": [_summary(r) for r in rows[:limit]], "more": len(rows) > limit}


@router.get("/decisions/{decision_id}")
def get_decision(decision_id: str, request: Request, user: Viewer) -> dict[str, Any]:
    """One decision: masked inputs, reasons in both languages, node traces, offer, and the
    strategy document the path is drawn on."""
    state = state_of(request)
    with state.database.session() as db:
        row = db.get(DecisionRecord, decision_id)
        if row is None:
            raise NotFoundError("no such decision", decision=decision_id)
        version = db.execute(
            select(StrategyVersion.document).where(
                StrategyVersion.strategy_id == row.strategy_id,
                StrategyVersion.version == row.strategy_version,
            )
        ).scalar_one_or_none()
    return {
        **_summary(row),
        "application": _masked("", row.application),
        "request": _masked("", row.request),
        "outputs": row.outputs,
        "reason_texts": row.reasons,
        "trace": row.trace,
        "shadow": row.shadow,
        "parameters": row.parameters,
        "offer": row.offer,
        "document": parse_document(version) if version else None,
    }


# -- identity demo --------------------------------------------------------------------------


def _image(data: str, name: str) -> bytes:
    try:
        return base64.b64decode(data.split(",", 1)[-1] if data.startswith("data:") else data)
    except (binascii.Error, ValueError):
        raise DataError(f"{name} is not a base64 image", field=name) from None


@router.post("/identity/verify")
async def identity_verify(body: IdentityImages, request: Request, user: Viewer) -> dict[str, Any]:
    """Face boxes, quality, liveness and match of a selfie and an ID photo (nothing stored)."""
    state = state_of(request)
    engine = state.identity
    if engine is None:
        raise ServiceUnavailableError(
            "identity verification is not available here (face models not installed: "
            "`ruleplus models install`)"
        )
    selfie, photo = _image(body.selfie, "selfie"), _image(body.id_photo, "id_photo")
    result = await asyncio.to_thread(
        engine.verify, selfie, photo, check_liveness=True, multiple="largest"
    )
    out: dict[str, Any] = result.to_dict()
    return out
