"""Database engine, sessions and migrations (SQLite by default, PostgreSQL when configured)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ruleplus.errors import ConfigError
from ruleplus.store.audit import ensure_keyed

__all__ = ["Database", "migrate"]


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("ruleplus.store").joinpath("migrations"))
    )
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


_MIGRATION_LOCK = 0x52554C4D  # "RULM"


def migrate(url: str, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (idempotent).

    On PostgreSQL, processes starting together (``uvicorn --workers N``: each worker migrates
    at start-up) take turns under an advisory lock; the later ones find the schema current.
    """
    _ensure_sqlite_dir(url)
    if not url.startswith("postgresql"):
        command.upgrade(_alembic_config(url), revision)
        return
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            try:
                command.upgrade(_alembic_config(url), revision)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
    finally:
        engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    """Create the embedded database's folder (0700) and file (0600) before SQLite does: it would
    create the file with the process umask (0644: readable by every local user). SQLite gives
    its -wal and -shm files the database file's permissions."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        elif path.stat().st_mode & 0o077:
            path.chmod(0o600)


class Database:
    """An engine and a session factory for one database URL.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///var/ruleplus.db`` or
        ``postgresql+psycopg://postgres@127.0.0.1:5432/ruleplus``.
    pool_size : int, default=10
        Connections kept open (PostgreSQL).
    audit_key : bytes, optional
        The audit chain's HMAC key (``ruleplus.store.audit.derive_key(Settings.server_secret())``).
        Without it the database opens, but appending to or verifying the audit log raises
        :class:`ConfigError`.
    """

    def __init__(self, url: str, pool_size: int = 10, audit_key: bytes | None = None) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.url = url
        self._audit_key = audit_key
        _ensure_sqlite_dir(url)
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        elif url.startswith("postgresql"):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        else:
            raise ConfigError(
                "unsupported database URL; use sqlite:/// or postgresql://",
                key="RULEPLUS_DATABASE_URL",
            )
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default."""
        return self.url.startswith("sqlite")

    @property
    def audit_key(self) -> bytes:
        """The audit chain key; :class:`ConfigError` when the database was opened without it."""
        if not self._audit_key:
            raise ConfigError(
                "this database was opened without the audit key, which appending to or "
                "verifying the audit log needs: Database(url, audit_key=derive_key(secret))",
                key="RULEPLUS_SECRET_KEY",
            )
        return self._audit_key

    def migrate(self) -> None:
        """Apply migrations to this database."""
        migrate(self.url)

    def ensure_keyed(self, accept_broken: bool = False) -> str:
        """Create the signed audit head, or convert a legacy chain (after :meth:`migrate`).

        See :func:`ruleplus.store.audit.ensure_keyed` (and its return values).
        """
        with self.session() as session:
            return ensure_keyed(session, self.audit_key, accept_broken=accept_broken)

    def session(self) -> Session:
        """A new session (use as a context manager)."""
        return self.sessions()

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; synchronous=NORMAL is durable across process crashes
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
