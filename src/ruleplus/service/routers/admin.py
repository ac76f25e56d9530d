"""Management endpoints (``X-Admin-Key``).

Partners, keys, strategies, deployments, mappings, watch lists and the audit log.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from ruleplus.errors import DataError, ServiceUnavailableError
from ruleplus.service.auth import require_admin, state_of
from ruleplus.serving import admin
from ruleplus.serving.admin import deployment_info
from ruleplus.store.repos import DeploymentRepo, DeploymentSpec, PartnerRepo, StrategyRepo

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin", tags=["management"])
Admin = Annotated[str, Depends(require_admin)]


class NewPartner(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    rate_limit_per_s: float | None = Field(None, gt=0, le=1e9, allow_inf_nan=False)


class RotateKey(BaseModel):
    keep_old: bool = False


class RevokeKeys(BaseModel):
    prefix: str | None = None


class StrategyUpload(BaseModel):
    document: str = Field(
        min_length=1,
        max_length=2_000_000,
        description="the YAML or JSON strategy text, or a GoRules JDM graph (JSON)",
    )
    publish: bool = True
    strategy_id: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-.]*$",
        description="the strategy a JDM graph becomes (a ruleplus document names its own)",
    )
    version: str | None = Field(None, min_length=1, max_length=60)


class Challenger(BaseModel):
    version: str
    share: float = Field(gt=0, lt=100, description="percent of traffic")


class NewDeployment(BaseModel):
    partner_id: str
    product: str = Field(min_length=1, max_length=80)
    channel: str = Field("*", min_length=1, max_length=80)
    strategy_id: str
    champion: str
    challengers: list[Challenger] = Field(default_factory=list)
    shadows: list[str] = Field(default_factory=list)
    split_key: str = "applicantId"
    salt: str = ""
    parameters: dict[str, int | float | str | bool] = Field(
        default_factory=dict,
        description="overrides of the strategy's declared parameters for this binding",
    )

    def spec(self) -> DeploymentSpec:
        """The deployment this body asks for (the admin API's and the console's)."""
        return DeploymentSpec.build(
            self.partner_id,
            self.product,
            self.strategy_id,
            self.champion,
            challengers=[c.model_dump() for c in self.challengers],
            shadows=self.shadows,
            channel=self.channel,
            split_key=self.split_key,
            salt=self.salt,
            parameters=self.parameters,
        )


class Binding(BaseModel):
    partner_id: str
    product: str
    channel: str = "*"


class MappingUpload(BaseModel):
    document: dict[str, Any]


class ListValue(BaseModel):
    value: str = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=200)
    partner_id: str | None = Field(
        None, max_length=40, description="list it for this partner only (default: the lender's)"
    )


@router.post("/partners", status_code=201, summary="Create a partner (the key is shown once)")
def create_partner(body: NewPartner, request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    return admin.create_partner(state.database, body.name, actor, body.rate_limit_per_s)


@router.get("/partners", summary="List partners")
def list_partners(request: Request, actor: Admin) -> list[dict[str, Any]]:
    with state_of(request).database.session() as session:
        repo = PartnerRepo(session)
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


@router.post(
    "/partners/{partner_id}/rotate-key",
    summary="Issue a new key (old ones revoked unless keep_old)",
)
def rotate_key(partner_id: str, body: RotateKey, request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    out = admin.rotate_key(state.database, partner_id, actor, body.keep_old)
    state.changed()
    return out


@router.post("/partners/{partner_id}/revoke-keys", summary="Revoke keys")
def revoke_keys(
    partner_id: str, body: RevokeKeys, request: Request, actor: Admin
) -> dict[str, Any]:
    state = state_of(request)
    out = admin.revoke_keys(state.database, partner_id, actor, body.prefix)
    state.changed()
    return out


@router.post(
    "/strategies", status_code=201, summary="Upload (and by default publish) a strategy version"
)
def upload_strategy(body: StrategyUpload, request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    return admin.publish_strategy(
        state.database,
        body.document,
        actor,
        body.publish,
        artifacts=state.resolver,
        strategy_id=body.strategy_id,
        version=body.version,
    )


@router.get("/strategies", summary="List strategy versions")
def list_strategies(
    request: Request, actor: Admin, strategy_id: str | None = None
) -> list[dict[str, Any]]:
    with state_of(request).database.session() as session:
        return [
            {
                "strategy_id": r.strategy_id,
                "version": r.version,
                "status": r.status,
                "digest": r.digest,
                "created_at": r.created_at.isoformat(),
            }
            for r in StrategyRepo(session).versions(strategy_id)
        ]


@router.get(
    "/strategies/{strategy_id}/diff", response_class=PlainTextResponse, summary="Diff two versions"
)
def diff(strategy_id: str, old: str, new: str, request: Request, actor: Admin) -> str:
    with state_of(request).database.session() as session:
        return StrategyRepo(session).diff(strategy_id, old, new)


@router.get("/strategies/{strategy_id}/{version}", summary="One strategy version with its document")
def get_strategy(strategy_id: str, version: str, request: Request, actor: Admin) -> dict[str, Any]:
    with state_of(request).database.session() as session:
        r = StrategyRepo(session).get(strategy_id, version)
        return {
            "strategy_id": r.strategy_id,
            "version": r.version,
            "status": r.status,
            "document": r.document,
        }


@router.post(
    "/strategies/{strategy_id}/{version}/{action}", summary="Lifecycle: validate, publish or retire"
)
def transition(
    strategy_id: str,
    version: str,
    action: Literal["validate", "publish", "retire"],
    request: Request,
    actor: Admin,
) -> dict[str, Any]:
    state = state_of(request)
    out = admin.transition_strategy(
        state.database, strategy_id, version, action, actor, artifacts=state.resolver
    )
    state.changed()
    return out


@router.post(
    "/deployments",
    status_code=201,
    summary="Deploy a champion with optional challengers and shadows",
)
def deploy(body: NewDeployment, request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    spec = body.spec()
    out = admin.deploy(state.database, spec, actor=actor)
    state.changed()
    return out


@router.post("/deployments/rollback", summary="Go back to the previous deployment")
def rollback(body: Binding, request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    out = admin.rollback(state.database, body.partner_id, body.product, body.channel, actor)
    state.changed()
    return out


@router.get("/deployments", summary="List deployments")
def list_deployments(
    request: Request, actor: Admin, partner_id: str | None = None
) -> list[dict[str, Any]]:
    with state_of(request).database.session() as session:
        return [
            dict(deployment_info(d), active=d.active)
            for d in DeploymentRepo(session).list(partner_id)
        ]


@router.put(
    "/partners/{partner_id}/mappings/{product}", summary="Load a new version of a field mapping"
)
def put_mapping(
    partner_id: str, product: str, body: MappingUpload, request: Request, actor: Admin
) -> dict[str, Any]:
    state = state_of(request)
    out = admin.put_mapping(state.database, partner_id, product, body.document, actor)
    state.changed()
    return out


@router.post("/lists/{list_type}", status_code=201, summary="Put a value on a watch list")
def add_to_list(list_type: str, body: ListValue, request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    out = admin.add_list_entry(
        state.database, state.secret, list_type, body.value, body.reason, actor, body.partner_id
    )
    state.changed()
    return out


@router.post("/lists/{list_type}/remove", summary="Take a value off a watch list")
def remove_from_list(
    list_type: str, body: ListValue, request: Request, actor: Admin
) -> dict[str, Any]:
    state = state_of(request)
    out = admin.remove_list_entry(
        state.database, state.secret, list_type, body.value, actor, body.partner_id
    )
    state.changed()
    return out


@router.post(
    "/artifacts",
    status_code=201,
    summary="Store a file (model, sub-strategy) by its SHA-256; strategies reference the ref",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_artifact(request: Request, actor: Admin) -> dict[str, Any]:
    state = state_of(request)
    content = await request.body()
    if not content:
        raise DataError("the body is the file to store; it is empty", field="body")
    if state.artifacts is None:
        raise ServiceUnavailableError("no artifact store is configured")
    store = state.artifacts
    return await asyncio.to_thread(admin.put_artifact, state.database, store, content, actor)


class ExpectedHead(BaseModel):
    """A head recorded earlier outside the database (the answer of ``GET /audit/head``)."""

    count: int = Field(ge=0, description="entries in the chain when the head was recorded")
    last_hash: str = Field(pattern="^[0-9a-f]{64}$", description="the last entry's hash")
    mac: str | None = Field(
        default=None, pattern="^[0-9a-f]{64}$", description="the head's MAC, checked when given"
    )


class VerifyAudit(BaseModel):
    expect_head: ExpectedHead | None = Field(
        default=None,
        description="the chain must still contain this head: detects a rollback of both the "
        "entries and the head stored with them",
    )


@router.get("/audit/verify", summary="Verify the audit hash chain and the audited decisions")
def verify(request: Request, actor: Admin) -> dict[str, Any]:
    return admin.verify_audit(state_of(request).database)


@router.post(
    "/audit/verify",
    summary="Verify the audit log against a head recorded outside the database",
)
def verify_against(body: VerifyAudit, request: Request, actor: Admin) -> dict[str, Any]:
    expected = body.expect_head.model_dump(exclude_none=True) if body.expect_head else None
    return admin.verify_audit(state_of(request).database, expected)


@router.get("/audit/head", summary="The signed head of the audit log, to record elsewhere")
def head(request: Request, actor: Admin) -> dict[str, Any]:
    return admin.audit_head(state_of(request).database)
