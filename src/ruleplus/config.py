"""Typed settings: environment first, then a ``ruleplus.toml`` file, then the default.

Modelled on Starlette's ``Config``: one small object holding every setting of every process
(CLI, service, benchmarks), each key read once, and an error that names the key when a value is
malformed. Key *files* (the administrator key, the server secret, the face-template key) are
created on first use by :func:`load_or_create_key`, the one place that writes them.

Each setting has one name: ``data_dir`` in ``ruleplus.toml`` (or its ``[ruleplus]`` table) and
``RULEPLUS_DATA_DIR`` in the environment (``shared`` is the one short name, for
``RULEPLUS_SHARED``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruleplus.errors import ConfigError

__all__ = ["Settings", "get_settings", "load_or_create_key"]

log = logging.getLogger("ruleplus.config")

_ENV_PREFIX = "RULEPLUS_"
_TRUE = ("on", "1", "true", "yes")
_FALSE = ("off", "0", "false", "no")


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse settings file: {exc}", file=str(path)) from exc
    section = data.get("ruleplus", data)
    if not isinstance(section, dict):
        raise ConfigError("the [ruleplus] section must be a table", file=str(path))
    return section


def load_or_create_key(path: Path, make: Callable[[], str]) -> str:
    """The key stored in ``path``, created (0600, in a 0700 folder) with ``make()`` when absent.

    Two processes starting together agree: the file is created exclusively, and the loser
    reads the winner's key. A key file readable by others is reported, not silently used.

    Parameters
    ----------
    path : Path
        The key file.
    make : callable
        Returns a new key as text (called only when the file does not exist).
    """
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(make() + "\n")
            log.info("created a new key file at %s", path)
    if path.stat().st_mode & 0o077:
        log.warning("key file %s is readable by others; chmod 600 it", path)
    text = path.read_text().strip()
    if not text:
        raise ConfigError("the key file is empty; delete it to create a new key", file=str(path))
    return text


@dataclass(frozen=True)
class Settings:
    """ruleplus settings (see the module docstring for where each is read).

    Parameters
    ----------
    shared_dir : Path, default=``../shared``
        Third-party reference data, weights and conformance suites (``RULEPLUS_SHARED``).
    data_dir : Path, default=``./var``
        Where the embedded database, key files and artifacts live (``RULEPLUS_DATA_DIR``).
    database_url : str, default=SQLite file under ``data_dir``
        SQLAlchemy URL (``RULEPLUS_DATABASE_URL``).
    model_dir : Path, default=``data_dir / "models"``
        Where face-model weights are installed and loaded from (``RULEPLUS_MODEL_DIR``).
    admin_key : str or None, default=None
        ``RULEPLUS_ADMIN_KEY``; when unset the key in ``data_dir/admin.key`` (created 0600).
    secret_key : str or None, default=None
        ``RULEPLUS_SECRET_KEY``, the server secret behind keyed digests and the audit chain;
        when unset the key in ``data_dir/secret.key``. Every worker must share it.
    template_key : str or None, default=None
        ``RULEPLUS_TEMPLATE_KEY``, 32 bytes (hex or base64) encrypting face templates; when
        unset the key in ``data_dir/template.key``.
    redis_url : str or None, default=None
        ``RULEPLUS_REDIS_URL``: velocity counters, rate limits and liveness challenges shared
        through Redis (else in the database / the process).
    rate_limit : float, default=2000
        ``RULEPLUS_RATE_LIMIT``: default requests per second per partner.
    max_body_bytes : int, default=1048576
        ``RULEPLUS_MAX_BODY_BYTES``: larger decision requests get 413.
    identity : bool, default=True
        ``RULEPLUS_IDENTITY=off`` leaves the identity endpoints unavailable.
    public_ops : bool, default=False
        ``RULEPLUS_PUBLIC_OPS=on``: ``/metrics`` and ``/docs`` answer without the administrator
        key (``serve --demo`` turns it on; keep it off in production).
    workers : int, default=128
        ``RULEPLUS_DECISION_THREADS``: the worker pool deciding applications off the event loop.
    partner_inflight : int, default=96
        ``RULEPLUS_PARTNER_INFLIGHT``: most requests of one partner in progress at once.
    rate_cap : Decimal, default=0.24
        ``RULEPLUS_RATE_CAP``: the cap on an offer's fee-inclusive annualised rate (IRR method)
        where a strategy's offer names none; an offer above it is re-priced or declined.
    """

    shared_dir: Path = Path("../shared")
    data_dir: Path = Path("var")
    database_url: str = "sqlite:///var/ruleplus.db"
    model_dir: Path = Path("var/models")
    admin_key: str | None = None
    secret_key: str | None = None
    template_key: str | None = None
    redis_url: str | None = None
    rate_limit: float = 2000.0
    max_body_bytes: int = 1 << 20
    identity: bool = True
    public_ops: bool = False
    workers: int = 128
    partner_inflight: int = 96
    rate_cap: Decimal = Decimal("0.24")

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        file: Path | None = None,
        **overrides: Any,
    ) -> Settings:
        """Read settings from ``env`` (default ``os.environ``), then ``file``, then defaults.

        Parameters
        ----------
        env : mapping, optional
            Environment to read; defaults to ``os.environ``.
        file : Path, optional
            Settings file; defaults to ``RULEPLUS_CONFIG`` or ``./ruleplus.toml``.
        **overrides
            Values that win over both (``None`` means "not overridden").
        """
        env = dict(os.environ if env is None else env)
        file = file or Path(env.get(f"{_ENV_PREFIX}CONFIG", "ruleplus.toml"))
        source = _Source(env, _read_file(file), file)
        data_dir = source.path("data_dir", Path("var"))
        values: dict[str, Any] = {
            "shared_dir": source.path("shared", Path("../shared")),
            "data_dir": data_dir,
            "database_url": source.text("database_url", f"sqlite:///{data_dir / 'ruleplus.db'}"),
            "model_dir": source.path("model_dir", data_dir / "models"),
            "admin_key": source.optional("admin_key"),
            "secret_key": source.optional("secret_key"),
            "template_key": source.optional("template_key"),
            "redis_url": source.optional("redis_url"),
            "rate_limit": source.number("rate_limit", 2000.0),
            "max_body_bytes": int(source.number("max_body_bytes", float(1 << 20))),
            "identity": source.flag("identity", True),
            "public_ops": source.flag("public_ops", False),
            "workers": int(source.number("decision_threads", 128)),
            "partner_inflight": int(source.number("partner_inflight", 96)),
            "rate_cap": source.rate("rate_cap", Decimal("0.24")),
        }
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}", key=sorted(unknown)[0])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The settings of the environment ``env`` (``overrides`` win); see :meth:`load`."""
        return cls.load(env=env, **overrides)

    def resolved_admin_key(self) -> str:
        """The administrator key: ``admin_key``, else the key file (created when absent)."""
        if self.admin_key:
            return self.admin_key
        return load_or_create_key(
            self.data_dir / "admin.key", lambda: "rpa_" + secrets.token_urlsafe(32)
        )

    def server_secret(self) -> bytes:
        """The server secret: ``secret_key``, else the key file (created when absent)."""
        if self.secret_key:
            return self.secret_key.encode()
        return load_or_create_key(
            self.data_dir / "secret.key", lambda: secrets.token_hex(32)
        ).encode()


class _Source:
    """One lookup order for every key: environment, then file, then default."""

    def __init__(self, env: dict[str, str], file_values: dict[str, Any], file: Path) -> None:
        self.env, self.file_values, self.file = env, file_values, file

    def raw(self, key: str) -> tuple[object, str]:
        """The raw value of ``key`` and the name to report it under."""
        name = _ENV_PREFIX + key.upper()
        if name in self.env:
            return self.env[name], name
        return self.file_values.get(key), key

    def _string(self, key: str) -> tuple[str | None, str]:
        value, where = self.raw(key)
        if value is None or isinstance(value, str):
            return value, where
        raise ConfigError("expected a string", key=where, file=str(self.file))

    def text(self, key: str, default: str) -> str:
        value, where = self._string(key)
        if value is None:
            return default
        if not value.strip():
            raise ConfigError("must not be empty", key=where)
        return value

    def path(self, key: str, default: Path) -> Path:
        return Path(self.text(key, str(default)))

    def optional(self, key: str) -> str | None:
        value, _ = self._string(key)
        return value or None

    def number(self, key: str, default: float) -> float:
        value, where = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError("expected a number", key=where)
        try:
            number = float(value)
        except ValueError:
            raise ConfigError("expected a number", key=where) from None
        if not math.isfinite(number) or number < 0:
            raise ConfigError("expected a finite number, 0 or more", key=where)
        return number

    def rate(self, key: str, default: Decimal) -> Decimal:
        """A rate as a fraction from 0 to 1 (``0.24``), exact (read through its text)."""
        value, where = self.raw(key)
        if value is None:
            return default
        number = self.number(key, 0.0)
        if not 0 < number <= 1:
            raise ConfigError("expected a rate as a fraction above 0, at most 1 (0.24)", key=where)
        return Decimal(str(value).strip() if isinstance(value, str) else repr(number))

    def flag(self, key: str, default: bool) -> bool:
        value, where = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"expected one of {', '.join(_TRUE + _FALSE)}", key=where)


def get_settings() -> Settings:
    """Return the settings of this process (read from the environment on each call)."""
    return Settings.load()
