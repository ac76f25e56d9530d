"""Relational model of the platform (SQLAlchemy 2). Migrations live in ``migrations/``.

Every partner-owned row carries ``partner_id``; repositories always filter on it, so one partner
can never read another's decisions, mappings or deployments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "Base",
    "CollectionEvent",
    "ConsoleSession",
    "ConsoleUser",
    "DecisionRecord",
    "Deployment",
    "ListEntry",
    "Mapping",
    "Outcome",
    "Partner",
    "StrategyVersion",
    "VelocityEvent",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """Timezone-aware current time (stored as UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base; JSON columns map to JSON (PostgreSQL: json, SQLite: text)."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Partner(Base):
    """A partner platform or channel (a tenant)."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    rate_limit_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """An API key, stored as a SHA-256 digest (keys are 256-bit random: no slow hash needed)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StrategyVersion(Base):
    """One version of a strategy document; immutable once published."""

    __tablename__ = "strategy_versions"
    __table_args__ = (UniqueConstraint("strategy_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy_id: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    document: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(10), default="yaml")
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # maker-checker: who drafted the version and who approved (published) it
    created_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class Deployment(Base):
    """Binds (partner, product, channel) to a champion, challengers and shadows.

    The newest active row for a binding is the live one; older rows are its history, which is
    what a rollback goes back to.
    """

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_binding", "partner_id", "product", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    product: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(80), default="*")
    strategy_id: Mapped[str] = mapped_column(String(120))
    champion: Mapped[str] = mapped_column(String(60))
    challengers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    shadows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    split_key: Mapped[str] = mapped_column(String(120), default="applicantId")
    salt: Mapped[str] = mapped_column(String(120), default="")
    # overrides of the strategy's declared ``parameters`` for this binding (validated on write)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Mapping(Base):
    """A partner's field mapping for a product, versioned."""

    __tablename__ = "mappings"
    __table_args__ = (UniqueConstraint("partner_id", "product", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    product: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DecisionRecord(Base):
    """A decision as it was made: input, outputs, reasons, trace, version, arm, latency."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("partner_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    product: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(80))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    application: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(80), nullable=True)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    trace: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    shadow: Mapped[list[Any]] = mapped_column(JSON, default=list)
    strategy_id: Mapped[str] = mapped_column(String(120))
    strategy_version: Mapped[str] = mapped_column(String(60))
    arm: Mapped[str] = mapped_column(String(60))
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # the partner's application id (outcomes join on it); NULL when the request named none
    application_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    # the parameter values that differed from the strategy's defaults (NULL: none)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # the offer of an approved decision (limit, price, schedule); NULL: no offer
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class AuditEntry(Base):
    """Append-only, HMAC-chained log of management changes and decisions.

    ``n`` is the entry's position in the chain (1, 2, 3… with no holes, unlike ``seq``, which a
    PostgreSQL sequence may skip); it is NULL only for entries not yet re-signed since
    before keyed auditing (see :func:`ruleplus.store.audit.ensure_keyed`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    n: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The signed head of the audit chain: one row (``id`` 1), moved with every append.

    ``mac`` is an HMAC over ``count`` and ``last_hash``, so cutting entries off the end of the
    chain (or rolling the head back by hand) is detected.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class ListEntry(Base):
    """A watch-list entry (ID number, phone, device…), stored as a keyed digest, never in clear.

    ``scope`` is ``global`` for the lender's own lists, or the id of the partner the entry was
    listed for; a strategy's list signal reads one scope (``partner`` by default).
    """

    __tablename__ = "watch_lists"
    __table_args__ = (UniqueConstraint("scope", "list_type", "digest", name="uq_watch_list_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(40), default="global", server_default="global")
    list_type: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VelocityEvent(Base):
    """One event for the database velocity backend (Redis keeps its own sorted sets)."""

    __tablename__ = "velocity_events"
    __table_args__ = (Index("ix_velocity_key_time", "counter", "digest", "at_ms"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    counter: Mapped[str] = mapped_column(String(200))  # scoped: p:<partner>:<name> or g:<name>
    digest: Mapped[str] = mapped_column(String(64))
    at_ms: Mapped[int] = mapped_column(BigInteger)


class Outcome(Base):
    """A performance outcome of a past decision (e.g. 90+ days past due within 12 months).

    One row per (partner, decision, name): recording the same outcome again with the same value
    is a no-op, with another value an audited correction.
    """

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("partner_id", "decision_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(40), index=True)
    application_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name: Mapped[str] = mapped_column(String(80))
    value: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsoleUser(Base):
    """An analysts' console user; the password is stored as an argon2 hash only."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsoleSession(Base):
    """A console login session; the cookie's token and the CSRF token are stored as digests."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[str] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class CollectionEvent(Base):
    """What happened to a delinquent account: an action taken, a promise to pay, a payment."""

    __tablename__ = "collection_events"
    __table_args__ = (Index("ix_collection_events_account", "partner_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    account_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # action | promise | payment | outcome
    action: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount: Mapped[Any | None] = mapped_column(Numeric(18, 2), nullable=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
