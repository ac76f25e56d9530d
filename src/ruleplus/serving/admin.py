"""Management actions shared by the HTTP API and the CLI; each one is audited.

Every function opens its own transaction, applies the change through the repositories and
appends one audit entry in the same transaction, so a change and its record stand or fall
together. Secrets (API keys) never reach the audit log; listed values appear only masked.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Any

from ruleplus.decision import ArtifactResolver, check_parameter_overrides, load_document_text
from ruleplus.errors import ConflictError
from ruleplus.serving import strategies
from ruleplus.serving.mapping import FieldMapping
from ruleplus.store import Database
from ruleplus.store.artifacts import ArtifactStore
from ruleplus.store.audit import GENESIS, append, head_mac, read_head, verify_log
from ruleplus.store.repos import (
    DeploymentRepo,
    DeploymentSpec,
    ListRepo,
    MappingRepo,
    PartnerRepo,
    StrategyRepo,
)
from ruleplus.store.secrets import mask

__all__ = [
    "add_list_entry",
    "audit_head",
    "check_maker",
    "create_partner",
    "deploy",
    "publish_strategy",
    "put_artifact",
    "put_mapping",
    "remove_list_entry",
    "revoke_keys",
    "rollback",
    "rotate_key",
    "transition_strategy",
    "verify_audit",
]


def create_partner(
    db: Database, name: str, actor: str = "admin", rate_limit_per_s: float | None = None
) -> dict[str, Any]:
    """Create a partner; the plaintext key is returned once and stored only as a digest."""
    with db.session() as session:
        partner, key = PartnerRepo(session).create(name, rate_limit_per_s)
        append(
            session,
            db.audit_key,
            actor,
            "create",
            "partner",
            partner.id,
            {"name": name, "rate_limit_per_s": rate_limit_per_s},
        )
        return {"partner_id": partner.id, "name": partner.name, "api_key": key}


def rotate_key(
    db: Database, partner_id: str, actor: str = "admin", keep_old: bool = False
) -> dict[str, Any]:
    """Issue a new key (revoking the old ones unless ``keep_old``)."""
    with db.session() as session:
        key = PartnerRepo(session).rotate(partner_id, keep_old=keep_old)
        append(
            session,
            db.audit_key,
            actor,
            "rotate-key",
            "partner",
            partner_id,
            {"new_key_prefix": key[:10], "kept_old": keep_old},
        )
        return {"partner_id": partner_id, "api_key": key}


def revoke_keys(
    db: Database, partner_id: str, actor: str = "admin", prefix: str | None = None
) -> dict[str, Any]:
    """Revoke the partner's keys (all, or the one with ``prefix``)."""
    with db.session() as session:
        PartnerRepo(session).get(partner_id)
        count = PartnerRepo(session).revoke(partner_id, prefix)
        append(
            session,
            db.audit_key,
            actor,
            "revoke-keys",
            "partner",
            partner_id,
            {"prefix": prefix, "revoked": count},
        )
        return {"partner_id": partner_id, "revoked": count}


def publish_strategy(
    db: Database,
    text: str,
    actor: str = "admin",
    publish: bool = True,
    artifacts: ArtifactResolver | None = None,
    strategy_id: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Store a strategy document as a draft, validate it, and (by default) publish it.

    ``artifacts`` resolves its ``call.strategy`` / ``model.artifact`` references (the
    service's content-addressed store); without it a strategy with references is refused.
    ``strategy_id`` and ``version`` name a GoRules JDM graph, which names no strategy itself
    (see :func:`ruleplus.serving.strategies.read_draft`).
    """
    with db.session() as session:
        row = strategies.add_draft(session, text, strategy_id, version)
        if row.created_by is None:  # the maker (an identical re-upload keeps the first)
            row.created_by = actor
        if row.status == "draft":
            strategies.transition(session, row.strategy_id, row.version, "validate", artifacts)
        if publish and row.status == "validated":
            strategies.transition(session, row.strategy_id, row.version, "publish")
            row.approved_by = actor
        append(
            session,
            db.audit_key,
            actor,
            "publish" if publish else "upload",
            "strategy",
            f"{row.strategy_id}@{row.version}",
            {"digest": row.digest, "status": row.status},
        )
        return {
            "strategy_id": row.strategy_id,
            "version": row.version,
            "status": row.status,
            "digest": row.digest,
        }


def transition_strategy(
    db: Database,
    strategy_id: str,
    version: str,
    action: str,
    actor: str = "admin",
    artifacts: ArtifactResolver | None = None,
    maker_checker: bool = False,
) -> dict[str, Any]:
    """Apply one lifecycle action (validate, publish, retire).

    With ``maker_checker`` (the console's users), ``publish`` is refused to the user who
    drafted the version: a second person approves it. The approver is recorded either way.
    """
    with db.session() as session:
        if maker_checker and action == "publish":
            check_maker(StrategyRepo(session).get(strategy_id, version).created_by, actor)
        row = strategies.transition(session, strategy_id, version, action, artifacts)
        if action == "publish":
            row.approved_by = actor
        append(
            session,
            db.audit_key,
            actor,
            action,
            "strategy",
            f"{strategy_id}@{version}",
            {"status": row.status},
        )
        return {"strategy_id": strategy_id, "version": version, "status": row.status}


def check_maker(created_by: str | None, approver: str) -> None:
    """Maker-checker: a version is approved by someone other than who drafted it.

    Raises
    ------
    ConflictError
        ``approver`` drafted the version, or nobody is recorded as its maker.
    """
    if created_by is None or created_by == approver:
        raise ConflictError(
            "maker-checker: a version is published by a different approver than the user who "
            f"drafted it (drafted by {created_by or 'unknown'})",
            action="publish",
        )


def deploy(db: Database, spec: DeploymentSpec, actor: str = "admin") -> dict[str, Any]:
    """Make a deployment live for (partner, product, channel).

    Parameter overrides must be declared, with fitting values, by every version deployed
    (champion, challengers and shadows): a challenger that does not declare the champion's
    cut-off would silently ignore the partner's value.
    """
    with db.session() as session:
        PartnerRepo(session).get(spec.partner_id)
        if spec.parameters:
            spec = replace(spec, parameters=_checked_overrides(session, spec))
        row = DeploymentRepo(session).deploy(spec)
        info = deployment_info(row)
        append(session, db.audit_key, actor, "deploy", "deployment", str(row.id), info)
        return info


def _checked_overrides(session: Any, spec: DeploymentSpec) -> dict[str, Any]:
    versions = [spec.champion, *(c.version for c in spec.challengers), *spec.shadows]
    strategies = StrategyRepo(session)
    checked = [
        check_parameter_overrides(
            load_document_text(
                strategies.get(spec.strategy_id, version).document,
                name=f"{spec.strategy_id}@{version}",
            ).doc.parameters,
            spec.parameters,
            strategy=spec.strategy_id,
            version=version,
        )
        for version in dict.fromkeys(versions)
    ]
    return checked[0]  # stored as the champion's declaration reads them


def rollback(
    db: Database, partner_id: str, product: str, channel: str = "*", actor: str = "admin"
) -> dict[str, Any]:
    """Go back to the previous deployment of (partner, product, channel)."""
    with db.session() as session:
        row = DeploymentRepo(session).rollback(partner_id, product, channel)
        info = deployment_info(row)
        append(session, db.audit_key, actor, "rollback", "deployment", str(row.id), info)
        return info


def deployment_info(row: Any) -> dict[str, Any]:
    """JSON form of a deployment."""
    return {
        "deployment_id": row.id,
        "partner_id": row.partner_id,
        "product": row.product,
        "channel": row.channel,
        "strategy_id": row.strategy_id,
        "champion": row.champion,
        "challengers": list(row.challengers),
        "shadows": list(row.shadows),
        "split_key": row.split_key,
        "salt": row.salt,
        "parameters": dict(row.parameters or {}),
    }


def put_mapping(
    db: Database, partner_id: str, product: str, document: dict[str, Any], actor: str = "admin"
) -> dict[str, Any]:
    """Validate and store a new version of a partner's field mapping."""
    FieldMapping(document)
    with db.session() as session:
        PartnerRepo(session).get(partner_id)
        row = MappingRepo(session).put(partner_id, product, document)
        append(
            session,
            db.audit_key,
            actor,
            "load-mapping",
            "mapping",
            f"{partner_id}/{product}@{row.version}",
            {"fields": sorted(document.get("fields", {}))},
        )
        return {"partner_id": partner_id, "product": product, "version": row.version}


def add_list_entry(
    db: Database,
    secret: bytes,
    list_type: str,
    value: str,
    reason: str = "",
    actor: str = "admin",
    partner_id: str | None = None,
) -> dict[str, Any]:
    """Put a value on a watch list (stored as a keyed digest): the lender's own list, or the
    list of one partner when ``partner_id`` is given."""
    scope = partner_id or "global"
    with db.session() as session:
        if partner_id is not None:
            PartnerRepo(session).get(partner_id)
        ListRepo(session, secret).add(list_type, value, reason, scope=scope)
        append(
            session,
            db.audit_key,
            actor,
            "list-add",
            "watch-list",
            list_type,
            {"value": mask(value), "reason": reason, "scope": scope},
        )
    return {"list": list_type, "value": mask(value), "listed": True, "scope": scope}


def remove_list_entry(
    db: Database,
    secret: bytes,
    list_type: str,
    value: str,
    actor: str = "admin",
    partner_id: str | None = None,
) -> dict[str, Any]:
    """Take a value off a watch list (the lender's own, or ``partner_id``'s)."""
    scope = partner_id or "global"
    with db.session() as session:
        removed = ListRepo(session, secret).remove(list_type, value, scope=scope)
        append(
            session,
            db.audit_key,
            actor,
            "list-remove",
            "watch-list",
            list_type,
            {"value": mask(value), "removed": removed, "scope": scope},
        )
    return {
        "list": list_type,
        "value": mask(value),
        "listed": False,
        "removed": removed,
        "scope": scope,
    }


def put_artifact(
    db: Database, store: ArtifactStore, content: bytes, actor: str = "admin"
) -> dict[str, Any]:
    """Store a file (a model, a sub-strategy) by its SHA-256; strategies reference it as the
    returned ``sha256:`` ref. Audited; storing the same bytes again changes nothing."""
    ref = store.put(content)
    with db.session() as session:
        append(
            session,
            db.audit_key,
            actor,
            "put-artifact",
            "artifact",
            ref,
            {"bytes": len(content)},
        )
    return {"ref": ref, "bytes": len(content)}


def verify_audit(db: Database, expect_head: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the audit log: every entry's position, link and MAC, the signed head, and every
    decision against its entry both ways (a row altered, a row without entry, a deleted row).

    Reads in one snapshot (REPEATABLE READ on PostgreSQL), streaming.

    Parameters
    ----------
    db : Database
        Opened with its audit key.
    expect_head : dict, optional
        A head recorded earlier outside the database (``audit_head``): the chain must still
        contain it, which is what detects a rollback of both the entries and the head.

    Returns
    -------
    dict
        ``{"ok": True, "entries": n}``, or ``ok`` False with ``problem`` and, where they apply,
        ``first_broken_seq``, ``decision`` and ``head``.
    """
    key = db.audit_key
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:  # pysqlite opens no transaction for reads: one BEGIN holds one snapshot
            connection.exec_driver_sql("BEGIN")
        try:
            return verify_log(connection, key, expect_head).to_dict()
        finally:
            connection.rollback()


def audit_head(db: Database) -> dict[str, Any]:
    """The signed head (``count``, ``last_hash``, ``mac``) to record outside the database, and
    whether its MAC verifies with this server's key."""
    with db.session() as session:
        head = read_head(session)
    if head is None:
        return {"count": 0, "last_hash": GENESIS, "mac": None, "verified": False}
    verified = hmac.compare_digest(
        head["mac"], head_mac(db.audit_key, head["count"], head["last_hash"])
    )
    return {**head, "verified": verified}
