"""Persistence of gallery templates: a protocol, an in-memory store and a SQLAlchemy store.

The SQL store keeps templates only as AES-GCM ciphertext (:mod:`._crypto`) in a table
``face_templates`` (id, tenant_id, subject_id, model, template, created_at) on its own
``MetaData``; the associated data binds each ciphertext to its row, so a blob moved to another
row or tenant does not decrypt.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ruleplus.identity.template_cipher import TemplateCipher

__all__ = ["GalleryStore", "InMemoryGalleryStore", "SqlGalleryStore", "StoredTemplate"]


@dataclass(frozen=True)
class StoredTemplate:
    """One enrolled template."""

    id: str
    tenant_id: str
    subject_id: str
    model: str
    template: np.ndarray = field(repr=False)
    created_at: datetime


@runtime_checkable
class GalleryStore(Protocol):
    """Where templates live; every method is scoped by tenant."""

    def add(
        self, tenant_id: str, subject_id: str, model: str, template: np.ndarray
    ) -> StoredTemplate:
        """Store a template and return it with its new id."""
        ...

    def delete(
        self, tenant_id: str, *, subject_id: str | None = None, template_id: str | None = None
    ) -> list[str]:
        """Delete a subject's templates or one template; return the deleted ids."""
        ...

    def iter_tenant(self, tenant_id: str, model: str) -> Iterator[StoredTemplate]:
        """Yield every template of a tenant made by ``model``."""
        ...

    def tenants(self) -> list[str]:
        """Return the tenants that have templates."""
        ...


def _aad(tenant_id: str, template_id: str, subject_id: str, model: str) -> bytes:
    return "\x00".join((tenant_id, template_id, subject_id, model)).encode()


class InMemoryGalleryStore:
    """A store in a dict (tests, single-process demos)."""

    def __init__(self) -> None:
        self._rows: dict[str, StoredTemplate] = {}
        self._lock = threading.Lock()

    def add(
        self, tenant_id: str, subject_id: str, model: str, template: np.ndarray
    ) -> StoredTemplate:
        """Store a template and return it with its new id."""
        row = StoredTemplate(
            str(uuid.uuid4()),
            tenant_id,
            subject_id,
            model,
            np.array(template, dtype=np.float32),
            datetime.now(UTC),
        )
        with self._lock:
            self._rows[row.id] = row
        return row

    def delete(
        self, tenant_id: str, *, subject_id: str | None = None, template_id: str | None = None
    ) -> list[str]:
        """Delete a subject's templates or one template; return the deleted ids."""
        with self._lock:
            ids = [
                r.id
                for r in self._rows.values()
                if r.tenant_id == tenant_id
                and (subject_id is None or r.subject_id == subject_id)
                and (template_id is None or r.id == template_id)
            ]
            for i in ids:
                self._rows[i].template.fill(0)
                del self._rows[i]
        return ids

    def iter_tenant(self, tenant_id: str, model: str) -> Iterator[StoredTemplate]:
        """Yield every template of a tenant made by ``model``."""
        with self._lock:
            rows = [r for r in self._rows.values() if r.tenant_id == tenant_id and r.model == model]
        yield from rows

    def tenants(self) -> list[str]:
        """Return the tenants that have templates."""
        with self._lock:
            return sorted({r.tenant_id for r in self._rows.values()})


class SqlGalleryStore:
    """Templates in a SQL table, encrypted with AES-GCM.

    Parameters
    ----------
    engine : sqlalchemy.Engine or str
        An engine or a database URL.
    cipher : TemplateCipher
    table_name : str, default="face_templates"
    schema : str, optional
    create : bool, default=True
        Create the table when it does not exist.
    """

    def __init__(
        self,
        engine: Any,
        cipher: TemplateCipher,
        table_name: str = "face_templates",
        schema: str | None = None,
        create: bool = True,
    ) -> None:
        import sqlalchemy as sa

        self._sa = sa
        self.engine = sa.create_engine(engine) if isinstance(engine, str) else engine
        self.cipher = cipher
        self.metadata = sa.MetaData(schema=schema)
        self.table = sa.Table(
            table_name,
            self.metadata,
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("tenant_id", sa.String(128), nullable=False),
            sa.Column("subject_id", sa.String(256), nullable=False),
            sa.Column("model", sa.String(64), nullable=False),
            sa.Column("template", sa.LargeBinary, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Index(f"ix_{table_name}_tenant_subject", "tenant_id", "subject_id"),
        )
        if create:
            self.metadata.create_all(self.engine)

    def add(
        self, tenant_id: str, subject_id: str, model: str, template: np.ndarray
    ) -> StoredTemplate:
        """Encrypt and insert a template; return it with its new id."""
        row_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        blob = self.cipher.encrypt(template, _aad(tenant_id, row_id, subject_id, model))
        with self.engine.begin() as conn:
            conn.execute(
                self.table.insert().values(
                    id=row_id,
                    tenant_id=tenant_id,
                    subject_id=subject_id,
                    model=model,
                    template=blob,
                    created_at=now,
                )
            )
        return StoredTemplate(
            row_id, tenant_id, subject_id, model, np.array(template, dtype=np.float32), now
        )

    def delete(
        self, tenant_id: str, *, subject_id: str | None = None, template_id: str | None = None
    ) -> list[str]:
        """Delete a subject's templates or one template; return the deleted ids."""
        t = self.table
        cond = t.c.tenant_id == tenant_id
        if subject_id is not None:
            cond = cond & (t.c.subject_id == subject_id)
        if template_id is not None:
            cond = cond & (t.c.id == template_id)
        with self.engine.begin() as conn:
            ids = [r[0] for r in conn.execute(self._sa.select(t.c.id).where(cond))]
            if ids:
                conn.execute(t.delete().where(t.c.id.in_(ids)))
        return ids

    def iter_tenant(self, tenant_id: str, model: str) -> Iterator[StoredTemplate]:
        """Decrypt and yield every template of a tenant made by ``model``."""
        t = self.table
        query = self._sa.select(t).where((t.c.tenant_id == tenant_id) & (t.c.model == model))
        with self.engine.connect() as conn:
            rows = conn.execute(query.execution_options(yield_per=10_000))
            for r in rows:
                aad = _aad(r.tenant_id, r.id, r.subject_id, r.model)
                vec = self.cipher.decrypt(r.template, aad)
                yield StoredTemplate(r.id, r.tenant_id, r.subject_id, r.model, vec, r.created_at)

    def tenants(self) -> list[str]:
        """Return the tenants that have templates."""
        t = self.table
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(self._sa.select(t.c.tenant_id).distinct()))

    def drop(self) -> None:
        """Drop the table (tests)."""
        self.metadata.drop_all(self.engine)
