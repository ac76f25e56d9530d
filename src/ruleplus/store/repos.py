"""Repositories: every query a partner can trigger is filtered on that partner."""

from __future__ import annotations

import builtins
import difflib
import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ruleplus.errors import AuthenticationError, ConflictError, NotFoundError
from ruleplus.store.secrets import mask, value_digest
from ruleplus.store.tables import (
    ApiKey,
    DecisionRecord,
    Deployment,
    ListEntry,
    Mapping,
    Partner,
    StrategyVersion,
    utcnow,
)
from ruleplus.store.transitions import next_status

__all__ = [
    "Challenger",
    "DecisionRepo",
    "DeploymentRepo",
    "DeploymentSpec",
    "ListRepo",
    "MappingRepo",
    "PartnerRepo",
    "StrategyDraft",
    "StrategyRepo",
    "key_digest",
    "new_id",
]

KEY_PREFIX = "rpk_"


def new_id(prefix: str) -> str:
    """A random id with a readable prefix, e.g. ``p_3f2a…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def key_digest(api_key: str | bytes) -> str:
    """SHA-256 of an API key (what is stored); the key as text or as its ASCII bytes."""
    return hashlib.sha256(api_key if isinstance(api_key, bytes) else api_key.encode()).hexdigest()


class PartnerRepo:
    """Partners and their API keys."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, name: str, rate_limit_per_s: float | None = None) -> tuple[Partner, str]:
        """Create a partner and its first key; returns the plaintext key once."""
        if self.session.execute(select(Partner).where(Partner.name == name)).scalar_one_or_none():
            raise ConflictError(f"a partner named {name!r} already exists", partner=name)
        partner = Partner(id=new_id("p"), name=name, rate_limit_per_s=rate_limit_per_s)
        self.session.add(partner)
        self.session.flush()
        return partner, self.issue_key(partner.id)

    def issue_key(self, partner_id: str) -> str:
        """A new active key for the partner (plaintext returned once, digest stored)."""
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        self.session.add(
            ApiKey(
                id=new_id("k"), partner_id=partner_id, prefix=plain[:10], digest=key_digest(plain)
            )
        )
        self.session.flush()
        return plain

    def get(self, partner_id: str) -> Partner:
        """The partner, or NotFoundError."""
        partner = self.session.get(Partner, partner_id)
        if partner is None:
            raise NotFoundError("no such partner", partner=partner_id)
        return partner

    def list(self) -> list[Partner]:
        """All partners, oldest first."""
        return list(self.session.execute(select(Partner).order_by(Partner.created_at)).scalars())

    def rotate(self, partner_id: str, keep_old: bool = False) -> str:
        """Issue a new key; revoke the others unless ``keep_old``."""
        self.get(partner_id)
        if not keep_old:
            self.revoke(partner_id)
        return self.issue_key(partner_id)

    def revoke(self, partner_id: str, prefix: str | None = None) -> int:
        """Revoke the partner's active keys (all, or the one with this prefix)."""
        query = update(ApiKey).where(ApiKey.partner_id == partner_id, ApiKey.status == "active")
        if prefix:
            query = query.where(ApiKey.prefix == prefix)
        result = self.session.execute(query.values(status="revoked", revoked_at=utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)

    def keys(self, partner_id: str) -> builtins.list[ApiKey]:
        """The partner's keys (digests only)."""
        return list(
            self.session.execute(select(ApiKey).where(ApiKey.partner_id == partner_id)).scalars()
        )

    def authenticate(self, api_key: str | None) -> Partner:
        """The active partner owning an active key, else AuthenticationError."""
        if not api_key:
            raise AuthenticationError("missing X-API-Key header")
        row = self.session.execute(
            select(ApiKey, Partner)
            .join(Partner, Partner.id == ApiKey.partner_id)
            .where(ApiKey.digest == key_digest(api_key))
        ).first()
        if row is None:
            raise AuthenticationError("unknown API key")
        key, partner = row
        if key.status != "active":
            raise AuthenticationError("this API key was revoked")
        if partner.status != "active":
            raise AuthenticationError("this partner is disabled")
        return partner


@dataclass(frozen=True)
class StrategyDraft:
    """A strategy document ready to store: its text and what parsing it told.

    The store keeps documents but does not read them (that is the core's job, one layer up):
    :func:`ruleplus.serving.strategies.read_draft` builds drafts.

    Parameters
    ----------
    strategy_id, version : str
        From the document.
    text : str
        The document itself, stored and hashed as it is.
    format : {"yaml", "json"}
        What the text is written in.
    """

    strategy_id: str
    version: str
    text: str
    format: str


class StrategyRepo:
    """Strategy versions and their lifecycle (draft -> validated -> published -> retired)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_draft(self, draft: StrategyDraft) -> StrategyVersion:
        """Store a new version as a draft (an identical one already stored is returned).

        What is stored (and hashed) is the text that was parsed, so a version cannot change
        after it is published.

        Raises
        ------
        ConflictError
            The id and version exist with other content.
        """
        existing = self.find(draft.strategy_id, draft.version)
        if existing is not None:
            if existing.document == draft.text:
                return existing
            raise ConflictError(
                f"strategy {draft.strategy_id} version {draft.version} exists with other "
                "content; bump the version",
                strategy=draft.strategy_id,
                version=draft.version,
            )
        row = StrategyVersion(
            strategy_id=draft.strategy_id,
            version=draft.version,
            document=draft.text,
            format=draft.format,
            digest=hashlib.sha256(draft.text.encode()).hexdigest(),
        )
        self.session.add(row)
        self.session.flush()
        return row

    def find(self, strategy_id: str, version: str) -> StrategyVersion | None:
        """The version, or None."""
        return self.session.execute(
            select(StrategyVersion).where(
                StrategyVersion.strategy_id == strategy_id, StrategyVersion.version == version
            )
        ).scalar_one_or_none()

    def get(self, strategy_id: str, version: str) -> StrategyVersion:
        """The version, or NotFoundError."""
        row = self.find(strategy_id, version)
        if row is None:
            raise NotFoundError("no such strategy version", strategy=strategy_id, version=version)
        return row

    def versions(self, strategy_id: str | None = None) -> list[StrategyVersion]:
        """Versions, newest first."""
        query = select(StrategyVersion).order_by(StrategyVersion.id.desc())
        if strategy_id:
            query = query.where(StrategyVersion.strategy_id == strategy_id)
        return list(self.session.execute(query).scalars())

    def transition(
        self,
        strategy_id: str,
        version: str,
        action: str,
        check: Callable[[StrategyVersion], object] | None = None,
    ) -> StrategyVersion:
        """Apply a lifecycle action; validating runs ``check`` (it compiles the document, so
        errors surface here, before the status changes).

        Raises
        ------
        ConflictError
            The action is not allowed from the current status, or the version is live.
        TypeError
            ``validate`` without a ``check``.
        """
        row = self.get(strategy_id, version)
        new_status = next_status(row.status, action)
        if action == "validate":
            if check is None:
                raise TypeError("validating a strategy version needs its check")
            check(row)
        if action == "retire" and row.status == "published":
            live = self.session.execute(
                select(func.count())
                .select_from(Deployment)
                .where(
                    Deployment.active.is_(True),
                    Deployment.strategy_id == strategy_id,
                    Deployment.champion == version,
                )
            ).scalar()
            if live:
                raise ConflictError(
                    "the version is the champion of a live deployment; deploy another first",
                    strategy=strategy_id,
                    version=version,
                )
        row.status = new_status
        if new_status == "published":
            row.published_at = utcnow()
        self.session.flush()
        return row

    def diff(self, strategy_id: str, old: str, new: str) -> str:
        """Unified diff between two versions' documents."""
        a, b = self.get(strategy_id, old), self.get(strategy_id, new)
        return "".join(
            difflib.unified_diff(
                a.document.splitlines(keepends=True),
                b.document.splitlines(keepends=True),
                fromfile=f"{strategy_id}@{old}",
                tofile=f"{strategy_id}@{new}",
            )
        )


@dataclass(frozen=True)
class Arm:
    """One arm of a deployment."""

    name: str
    version: str
    share: float


@dataclass(frozen=True)
class Challenger:
    """A challenger version and the percentage of traffic it decides.

    Parameters
    ----------
    version : str
        A published version of the deployment's strategy.
    share : float
        Percentage of applications (0 < share; all challengers together < 100).
    """

    version: str
    share: float


@dataclass(frozen=True)
class DeploymentSpec:
    """Everything a deployment is, as one value (HTTP, CLI, serving and store all pass it).

    Parameters
    ----------
    partner_id, product : str
        The binding: whose applications, for which product.
    strategy_id, champion : str
        The strategy and its version that decides (and answers).
    channel : str, default="*"
        The partner's channel; ``*`` serves every channel without a deployment of its own.
    challengers : tuple of Challenger, default=()
        Versions that decide a share of the traffic instead of the champion.
    shadows : tuple of str, default=()
        Versions evaluated on every application and stored, never answered.
    split_key : str, default="applicantId"
        The input field whose hash assigns an application to champion or challenger.
    salt : str, default=""
        Salt of that hash (default ``"<product>:<channel>"``): a new salt reshuffles the split.
    parameters : mapping or None, default=None
        Overrides of the strategy's declared parameters for this binding (the partner's own
        cut-offs); checked against every deployed version's declaration before it is stored.
    """

    partner_id: str
    product: str
    strategy_id: str
    champion: str
    channel: str = "*"
    challengers: tuple[Challenger, ...] = ()
    shadows: tuple[str, ...] = ()
    split_key: str = "applicantId"
    salt: str = ""
    parameters: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        shares = [c.share for c in self.challengers]
        if any(not s > 0 for s in shares) or sum(shares) >= 100:
            raise ConflictError(
                "challenger shares must be positive percentages summing to less than 100"
            )

    @classmethod
    def build(
        cls,
        partner_id: str,
        product: str,
        strategy_id: str,
        champion: str,
        *,
        challengers: Sequence[dict[str, Any]] = (),
        shadows: Sequence[str] = (),
        parameters: dict[str, Any] | None = None,
        **options: str,
    ) -> DeploymentSpec:
        """A spec from plain values (challengers as ``{"version", "share"}`` mappings)."""
        return cls(
            partner_id,
            product,
            strategy_id,
            str(champion),
            challengers=tuple(
                Challenger(str(c["version"]), float(c["share"])) for c in challengers
            ),
            shadows=tuple(str(s) for s in shadows),
            parameters=dict(parameters) if parameters else None,
            **options,
        )


class DeploymentRepo:
    """Deployments: (partner, product, channel) -> champion, challengers, shadows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def deploy(self, spec: DeploymentSpec) -> Deployment:
        """Make a new deployment live for the binding (the previous one stays as history)."""
        strategies = StrategyRepo(self.session)
        versions = [spec.champion, *(c.version for c in spec.challengers), *spec.shadows]
        for version in versions:
            stored = strategies.get(spec.strategy_id, version)
            if stored.status != "published":
                raise ConflictError(
                    f"version {version} is {stored.status}; only published versions can be "
                    "deployed",
                    strategy=spec.strategy_id,
                    version=version,
                )
        row = Deployment(
            partner_id=spec.partner_id,
            product=spec.product,
            channel=spec.channel,
            strategy_id=spec.strategy_id,
            champion=spec.champion,
            challengers=[{"version": c.version, "share": c.share} for c in spec.challengers],
            shadows=list(spec.shadows),
            split_key=spec.split_key,
            salt=spec.salt or f"{spec.product}:{spec.channel}",
            parameters=dict(spec.parameters) if spec.parameters else None,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def live(self, partner_id: str, product: str, channel: str) -> Deployment | None:
        """The live deployment: the exact channel first, then ``*``."""
        for ch in dict.fromkeys([channel, "*"]):
            row = self.session.execute(
                select(Deployment)
                .where(
                    Deployment.partner_id == partner_id,
                    Deployment.product == product,
                    Deployment.channel == ch,
                    Deployment.active.is_(True),
                )
                .order_by(Deployment.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is not None:
                return row
        return None

    def live_products(self, limit: int) -> list[tuple[str, str]]:
        """The (partner, product) pairs with a live deployment, the most recently deployed
        first, at most ``limit``."""
        newest = func.max(Deployment.id)
        rows = self.session.execute(
            select(Deployment.partner_id, Deployment.product)
            .where(Deployment.active.is_(True))
            .group_by(Deployment.partner_id, Deployment.product)
            .order_by(newest.desc())
            .limit(limit)
        )
        return [(str(partner), str(product)) for partner, product in rows]

    def live_channels(self, partner_id: str, product: str) -> dict[str, Deployment]:
        """Every live deployment of (partner, product), by channel (one query; a caller picks
        the exact channel or ``*`` in memory, so unknown channels cost nothing to cache)."""
        rows = self.session.execute(
            select(Deployment)
            .where(
                Deployment.partner_id == partner_id,
                Deployment.product == product,
                Deployment.active.is_(True),
            )
            .order_by(Deployment.id)
        ).scalars()
        return {row.channel: row for row in rows}  # the newest row of each channel wins

    def rollback(self, partner_id: str, product: str, channel: str = "*") -> Deployment:
        """Retire the live deployment; the previous one becomes live again."""
        current = (
            self.session.execute(
                select(Deployment)
                .where(
                    Deployment.partner_id == partner_id,
                    Deployment.product == product,
                    Deployment.channel == channel,
                    Deployment.active.is_(True),
                )
                .order_by(Deployment.id.desc())
                .limit(2)
            )
            .scalars()
            .all()
        )
        if len(current) < 2:
            raise ConflictError(
                "nothing to roll back to for this product and channel",
                partner=partner_id,
                product=product,
                channel=channel,
            )
        current[0].active = False
        self.session.flush()
        return current[1]

    def list(self, partner_id: str | None = None) -> list[Deployment]:
        """Deployments (a partner's only, when given), newest first."""
        query = select(Deployment).order_by(Deployment.id.desc())
        if partner_id:
            query = query.where(Deployment.partner_id == partner_id)
        return list(self.session.execute(query).scalars())


class MappingRepo:
    """Per-partner field mappings, versioned."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, partner_id: str, product: str, document: dict[str, Any]) -> Mapping:
        """Store a new version (the newest is the one used)."""
        last = (
            self.session.execute(
                select(func.max(Mapping.version)).where(
                    Mapping.partner_id == partner_id, Mapping.product == product
                )
            ).scalar()
            or 0
        )
        row = Mapping(partner_id=partner_id, product=product, version=last + 1, document=document)
        self.session.add(row)
        self.session.flush()
        return row

    def latest(self, partner_id: str, product: str) -> Mapping | None:
        """The newest version for the partner and product, if any."""
        return self.session.execute(
            select(Mapping)
            .where(Mapping.partner_id == partner_id, Mapping.product == product)
            .order_by(Mapping.version.desc())
            .limit(1)
        ).scalar_one_or_none()


class DecisionRepo:
    """Stored decisions, always read through the owning partner."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, partner_id: str, decision_id: str) -> DecisionRecord:
        """The partner's decision, or NotFoundError (also for another partner's decision)."""
        row = self.session.get(DecisionRecord, decision_id)
        if row is None or row.partner_id != partner_id:
            raise NotFoundError("no such decision", decision=decision_id)
        return row

    def by_idempotency_key(self, partner_id: str, key: str) -> DecisionRecord | None:
        """The decision stored under this partner's idempotency key, if any."""
        return self.session.execute(
            select(DecisionRecord).where(
                DecisionRecord.partner_id == partner_id, DecisionRecord.idempotency_key == key
            )
        ).scalar_one_or_none()

    def count(self, partner_id: str | None = None) -> int:
        """How many decisions are stored (for one partner, when given)."""
        query = select(func.count()).select_from(DecisionRecord)
        if partner_id:
            query = query.where(DecisionRecord.partner_id == partner_id)
        return int(self.session.execute(query).scalar() or 0)


class ListRepo:
    """Watch lists of ID numbers, phones, devices…, stored as keyed digests.

    Each entry belongs to a scope: ``global`` (the lender's own list) or one partner's id.
    """

    def __init__(self, session: Session, secret: bytes) -> None:
        self.session = session
        self.secret = secret

    def _find(self, scope: str, list_type: str, digest: str) -> ListEntry | None:
        return self.session.execute(
            select(ListEntry).where(
                ListEntry.scope == scope,
                ListEntry.list_type == list_type,
                ListEntry.digest == digest,
            )
        ).scalar_one_or_none()

    def add(self, list_type: str, value: str, reason: str = "", scope: str = "global") -> ListEntry:
        """Add a value (idempotent)."""
        digest = value_digest(self.secret, list_type, value)
        row = self._find(scope, list_type, digest)
        if row is None:
            row = ListEntry(
                scope=scope,
                list_type=list_type,
                digest=digest,
                hint=mask(value)[-8:],
                reason=reason,
            )
            self.session.add(row)
            self.session.flush()
        return row

    def remove(self, list_type: str, value: str, scope: str = "global") -> bool:
        """Remove a value; True when it was listed."""
        row = self._find(scope, list_type, value_digest(self.secret, list_type, value))
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def digests(self) -> dict[tuple[str, str], set[str]]:
        """Every list's digests by ``(scope, list type)`` (for an in-memory lookup cache)."""
        out: dict[tuple[str, str], set[str]] = {}
        for scope, list_type, digest in self.session.execute(
            select(ListEntry.scope, ListEntry.list_type, ListEntry.digest)
        ):
            out.setdefault((scope, list_type), set()).add(digest)
        return out
