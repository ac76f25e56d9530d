"""Management actions shared by the HTTP API and the CLI; each one is audited.

Every function opens its own transaction, applies the change through the repositories and
appends one audit entry in the same transaction, so a change and its record stand or fall
together. Secrets (API keys) never reach the audit log; listed values appear only masked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ruleplus.mapping import FieldMapping
from ruleplus.runtime.writer import record_digest
from ruleplus.store import Database
from ruleplus.store.audit import append, verify_chain
from ruleplus.store.models import AuditEntry, DecisionRecord
from ruleplus.store.repos import DeploymentRepo, ListRepo, MappingRepo, PartnerRepo, StrategyRepo
from ruleplus.store.secrets import mask

__all__ = [
    "add_list_entry",
    "create_partner",
    "deploy",
    "publish_strategy",
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
            actor,
            "revoke-keys",
            "partner",
            partner_id,
            {"prefix": prefix, "revoked": count},
        )
        return {"partner_id": partner_id, "revoked": count}


def publish_strategy(
    db: Database, text: str, actor: str = "admin", publish: bool = True
) -> dict[str, Any]:
    """Store a strategy document as a draft, validate it, and (by default) publish it."""
    with db.session() as session:
        repo = StrategyRepo(session)
        row = repo.add_draft(text)
        if row.status == "draft":
            repo.transition(row.strategy_id, row.version, "validate")
        if publish and row.status == "validated":
            repo.transition(row.strategy_id, row.version, "publish")
        append(
            session,
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
    db: Database, strategy_id: str, version: str, action: str, actor: str = "admin"
) -> dict[str, Any]:
    """Apply one lifecycle action (validate, publish, retire)."""
    with db.session() as session:
        row = StrategyRepo(session).transition(strategy_id, version, action)
        append(
            session, actor, action, "strategy", f"{strategy_id}@{version}", {"status": row.status}
        )
        return {"strategy_id": strategy_id, "version": version, "status": row.status}


def deploy(
    db: Database,
    partner_id: str,
    product: str,
    strategy_id: str,
    champion: str,
    *,
    channel: str = "*",
    challengers: list[dict[str, Any]] | None = None,
    shadows: list[str] | None = None,
    split_key: str = "applicantId",
    salt: str = "",
    actor: str = "admin",
) -> dict[str, Any]:
    """Make a deployment live for (partner, product, channel)."""
    with db.session() as session:
        PartnerRepo(session).get(partner_id)
        row = DeploymentRepo(session).deploy(
            partner_id,
            product,
            strategy_id,
            champion,
            channel=channel,
            challengers=challengers,
            shadows=shadows,
            split_key=split_key,
            salt=salt,
        )
        info = deployment_info(row)
        append(session, actor, "deploy", "deployment", str(row.id), info)
        return info


def rollback(
    db: Database, partner_id: str, product: str, channel: str = "*", actor: str = "admin"
) -> dict[str, Any]:
    """Go back to the previous deployment of (partner, product, channel)."""
    with db.session() as session:
        row = DeploymentRepo(session).rollback(partner_id, product, channel)
        info = deployment_info(row)
        append(session, actor, "rollback", "deployment", str(row.id), info)
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
            actor,
            "load-mapping",
            "mapping",
            f"{partner_id}/{product}@{row.version}",
            {"fields": sorted(document.get("fields", {}))},
        )
        return {"partner_id": partner_id, "product": product, "version": row.version}


def add_list_entry(
    db: Database, secret: bytes, list_type: str, value: str, reason: str = "", actor: str = "admin"
) -> dict[str, Any]:
    """Put a value on a watch list (stored as a keyed digest)."""
    with db.session() as session:
        ListRepo(session, secret).add(list_type, value, reason)
        append(
            session,
            actor,
            "list-add",
            "watch-list",
            list_type,
            {"value": mask(value), "reason": reason},
        )
    return {"list": list_type, "value": mask(value), "listed": True}


def remove_list_entry(
    db: Database, secret: bytes, list_type: str, value: str, actor: str = "admin"
) -> dict[str, Any]:
    """Take a value off a watch list."""
    with db.session() as session:
        removed = ListRepo(session, secret).remove(list_type, value)
        append(
            session,
            actor,
            "list-remove",
            "watch-list",
            list_type,
            {"value": mask(value), "removed": removed},
        )
    return {"list": list_type, "value": mask(value), "listed": False, "removed": removed}


def verify_audit(db: Database) -> dict[str, Any]:
    """Check the hash chain, then that every decision still matches its audited digest."""
    with db.session() as session:
        checked, broken = verify_chain(session)
        if broken is not None:
            return {
                "ok": False,
                "entries": checked,
                "first_broken_seq": broken.seq,
                "problem": broken.problem,
            }
        vouched = {
            e.entity_id: (e.seq, e.payload.get("record"))
            for e in session.execute(
                select(AuditEntry).where(AuditEntry.entity == "decision")
            ).scalars()
        }
        for record in session.execute(select(DecisionRecord)).scalars():
            seq, expected = vouched.get(record.id, (None, None))
            if expected is None:
                return {
                    "ok": False,
                    "entries": checked,
                    "decision": record.id,
                    "problem": "decision has no audit entry",
                }
            if record_digest(record) != expected:
                return {
                    "ok": False,
                    "entries": checked,
                    "first_broken_seq": seq,
                    "decision": record.id,
                    "problem": "decision row does not match its audited digest "
                    "(the row was altered)",
                }
        return {"ok": True, "entries": checked}
