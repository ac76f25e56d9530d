"""What one running service holds: database, writer, decision service, limits and metrics."""

from __future__ import annotations

import math
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruleplus.config import Settings
from ruleplus.errors import ConfigError
from ruleplus.fraud import DatabaseVelocity, RedisVelocity, VelocityStore
from ruleplus.service.gate import GateLimits
from ruleplus.service.metrics import ServiceMetrics
from ruleplus.service.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from ruleplus.serving.decisions import DecisionService
from ruleplus.store import Database
from ruleplus.store.artifacts import ArtifactStore
from ruleplus.store.audit import derive_key
from ruleplus.store.secrets import load_secret
from ruleplus.store.tables import Partner
from ruleplus.store.writer import DecisionWriter

__all__ = ["ServiceConfig", "ServiceState"]


@dataclass(frozen=True)
class ServiceConfig:
    """Service settings (environment first, then defaults).

    Parameters
    ----------
    database_url : str
        ``RULEPLUS_DATABASE_URL`` (default: SQLite under the data directory).
    data_dir : Path
        ``RULEPLUS_DATA_DIR`` (default ``./var``).
    admin_key : str or None
        ``RULEPLUS_ADMIN_KEY``; when unset, one is created in ``data_dir/admin.key`` (0600).
    redis_url : str or None
        ``RULEPLUS_REDIS_URL``: velocity counters in Redis (else in the database).
    rate_limit : float, default=2000
        ``RULEPLUS_RATE_LIMIT``: default requests per second per partner.
    max_body_bytes : int, default=1048576
        ``RULEPLUS_MAX_BODY_BYTES``: larger requests get 413.
    model_dir : Path
        ``RULEPLUS_MODEL_DIR``: installed face models (identity endpoints).
    identity : bool, default=True
        ``RULEPLUS_IDENTITY=off`` leaves the identity endpoints unavailable.
    public_ops : bool, default=False
        ``RULEPLUS_PUBLIC_OPS=on``: ``/metrics`` and ``/docs`` answer without the administrator
        key (``serve --demo`` turns it on; keep it off in production).
    workers : int, default=128
        ``RULEPLUS_DECISION_THREADS``: the worker pool deciding applications off the event loop.
    partner_inflight : int, default=96
        ``RULEPLUS_PARTNER_INFLIGHT``: most requests of one partner in progress at once.
    """

    database_url: str
    data_dir: Path
    model_dir: Path = Path("var/models")
    identity: bool = True
    admin_key: str | None = None
    redis_url: str | None = None
    rate_limit: float = 2000.0
    max_body_bytes: int = 1 << 20
    public_ops: bool = False
    workers: int = 128
    partner_inflight: int = 96

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> ServiceConfig:
        """Read the environment (``overrides`` win)."""
        env = dict(os.environ if env is None else env)
        base = Settings.load(env=env)

        def number(key: str, default: float) -> float:
            raw = env.get(key)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError("expected a number", key=key) from None
            if not math.isfinite(value) or value < 0:
                raise ConfigError("expected a finite number, 0 or more", key=key)
            return value

        values: dict[str, Any] = {
            "database_url": base.database_url,
            "data_dir": base.data_dir,
            "model_dir": base.model_dir,
            "identity": env.get("RULEPLUS_IDENTITY", "on").lower()
            not in ("off", "0", "false", "no"),
            "admin_key": env.get("RULEPLUS_ADMIN_KEY") or None,
            "redis_url": env.get("RULEPLUS_REDIS_URL") or None,
            "rate_limit": number("RULEPLUS_RATE_LIMIT", 2000.0),
            "max_body_bytes": int(number("RULEPLUS_MAX_BODY_BYTES", float(1 << 20))),
            "public_ops": env.get("RULEPLUS_PUBLIC_OPS", "off").lower()
            in ("on", "1", "true", "yes"),
            "workers": int(number("RULEPLUS_DECISION_THREADS", 128)),
            "partner_inflight": int(number("RULEPLUS_PARTNER_INFLIGHT", 96)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _admin_key(config: ServiceConfig) -> str:
    if config.admin_key:
        return config.admin_key
    path = config.data_dir / "admin.key"
    if not path.exists():
        config.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("rpa_" + secrets.token_urlsafe(32))
    return path.read_text().strip()


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

    @classmethod
    def build(cls, config: ServiceConfig) -> ServiceState:
        """Open the database (migrated), start the writer, wire the decision service."""
        secret = load_secret(config.data_dir)
        database = Database(config.database_url, audit_key=derive_key(secret))
        database.migrate()
        database.ensure_keyed()  # a new log's signed head, or the legacy chain re-signed once
        writer = DecisionWriter(database)
        writer.start()
        velocity: VelocityStore = (
            RedisVelocity(config.redis_url) if config.redis_url else DatabaseVelocity(database)
        )
        artifacts = ArtifactStore(config.data_dir / "artifacts")
        state = cls(
            config,
            database,
            writer,
            DecisionService(database, writer, velocity, secret, artifacts=artifacts),
            secret,
            _admin_key(config),
            (
                RedisRateLimiter(config.redis_url, config.rate_limit)
                if config.redis_url
                else MemoryRateLimiter(config.rate_limit)
            ),
            ServiceMetrics(),
            pool=ThreadPoolExecutor(max(1, config.workers), thread_name_prefix="ruleplus-decide"),
            artifacts=artifacts,
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
