"""Persistence: SQLAlchemy models, migrations, repositories and the audit chain."""

from __future__ import annotations

from ruleplus.store._db import Database, migrate
from ruleplus.store.audit import append as audit_append
from ruleplus.store.audit import verify_chain

__all__ = ["Database", "audit_append", "migrate", "verify_chain"]
