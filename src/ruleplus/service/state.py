"""What one running service holds: database, writer, decision service, limits and metrics."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ruleplus.config import Settings
from ruleplus.decision import NO_ARTIFACTS, ArtifactResolver, StoredArtifacts
from ruleplus.errors import ConfigError
from ruleplus.fraud import DatabaseVelocity, RedisVelocity, VelocityStore
from ruleplus.service.gate import GateLimits
from ruleplus.service.metrics import ServiceMetrics
from ruleplus.service.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from ruleplus.serving.decisions import DecisionService
from ruleplus.store import Database
from ruleplus.store.artifacts import ArtifactStore
from ruleplus.store.audit import derive_key
from ruleplus.store.tables import Partner
from ruleplus.store.writer import DecisionWriter

__all__ = ["ServiceConfig", "ServiceState"]


ServiceConfig = Settings
"""The service reads :class:`ruleplus.config.Settings`; the old name stays importable."""

_UNWRITABLE = {
    "bad-head": "the audit log's signed head does not verify with this server's secret: start "
    "with the secret the log was written with (RULEPLUS_SECRET_KEY, or data_dir/secret.key), "
    "or see `ruleplus audit verify`",
    "no-head": "the audit log has keyed entries but no signed head (it was deleted): run "
    "`ruleplus audit verify` before serving",
    "legacy-broken": "the legacy audit chain is broken and cannot be re-signed: run "
    "`ruleplus audit verify`, then `ruleplus audit rekey --accept-broken` once understood",
}


@dataclass
class ServiceState:
    """Shared objects of one service process."""

    config: ServiceConfig
    database: Database
    writer: DecisionWriter
    decisions: DecisionService
    secret: bytes
    admin_key: str
    limiter: RateLimiter
    metrics: ServiceMetrics
    started: float = field(default_factory=time.time)
    identity: Any = None
    partners: dict[str, tuple[float, Partner]] = field(default_factory=dict)
    """Authenticated API keys by digest (the gate's two-second cache)."""
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(128, thread_name_prefix="ruleplus-decide")
    )
    """Where decisions run: their blocking work never runs on the event loop."""
    artifacts: ArtifactStore | None = None
    """Content-addressed files (models, sub-strategies) that strategies reference."""
    resolver: ArtifactResolver = NO_ARTIFACTS
    """How strategies compiled here resolve their references (in ``artifacts``)."""

    @classmethod
    def build(cls, config: ServiceConfig) -> ServiceState:
        """Open the database (migrated), start the writer, wire the decision service."""
        secret = config.server_secret()
        database = Database(config.database_url, audit_key=derive_key(secret))
        database.migrate()
        # a new log's signed head, or the legacy chain re-signed once; a log this server
        # cannot append to refuses the start rather than answering every decision with a 500
        refusal = _UNWRITABLE.get(database.ensure_keyed())
        if refusal is not None:
            database.dispose()
            raise ConfigError(refusal, key="RULEPLUS_SECRET_KEY")
        writer = DecisionWriter(database)
        writer.start()
        velocity: VelocityStore = (
            RedisVelocity(config.redis_url) if config.redis_url else DatabaseVelocity(database)
        )
        artifacts = ArtifactStore(config.data_dir / "artifacts")
        resolver = StoredArtifacts(artifacts)
        state = cls(
            config,
            database,
            writer,
            DecisionService(
                database, writer, velocity, secret, artifacts=resolver, rate_cap=config.rate_cap
            ),
            secret,
            config.resolved_admin_key(),
            (
                RedisRateLimiter(config.redis_url, config.rate_limit)
                if config.redis_url
                else MemoryRateLimiter(config.rate_limit)
            ),
            ServiceMetrics(),
            pool=ThreadPoolExecutor(max(1, config.workers), thread_name_prefix="ruleplus-decide"),
            artifacts=artifacts,
            resolver=resolver,
        )
        return state

    def changed(self) -> None:
        """A management change happened: drop cached partners, deployments, mappings, lists."""
        self.partners.clear()
        self.decisions.invalidate()

    def close(self) -> None:
        """Flush the writer and close connections."""
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.writer.stop()
        self.database.dispose()


def gate_limits(config: ServiceConfig) -> GateLimits:
    """The gate's limits from the settings."""
    return GateLimits(
        partner_body=config.max_body_bytes,
        partner_inflight=max(1, config.partner_inflight),
        public_ops=config.public_ops,
    )
