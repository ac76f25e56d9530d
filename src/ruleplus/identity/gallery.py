"""1:N gallery: enroll, search and delete templates per tenant.

Templates persist in a :class:`GalleryStore` (encrypted at rest in SQL); each tenant's
nearest-neighbour index is rebuilt from the store the first time the tenant is used after
start-up (or all at once with :meth:`Gallery.load`). Deleting removes the row, the index entry
(its vector overwritten) and the in-memory label map.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ruleplus.errors import IdentityError
from ruleplus.identity._index import FlatIndex, HnswIndex, make_index
from ruleplus.identity.gallery_store import GalleryStore
from ruleplus.identity.match import similarity_from_distance

__all__ = ["Gallery", "SearchHit"]


@dataclass(frozen=True)
class SearchHit:
    """One search result."""

    template_id: str
    subject_id: str
    distance: float
    similarity: float
    match: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "template_id": self.template_id,
            "subject_id": self.subject_id,
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
            "match": self.match,
        }


class _Tenant:
    def __init__(self, index: FlatIndex | HnswIndex) -> None:
        self.index = index
        self.by_label: dict[int, tuple[str, str]] = {}
        self.by_id: dict[str, int] = {}


class Gallery:
    """Per-tenant 1:N search over a template store.

    Parameters
    ----------
    store : GalleryStore
    model : str
        Embedder name; only its templates are indexed.
    dim : int
        Template length.
    threshold : float
        Distance at or below which a hit is a match.
    index : {"hnsw", "flat"}, default="hnsw"
    """

    def __init__(
        self, store: GalleryStore, model: str, dim: int, threshold: float, index: str = "hnsw"
    ) -> None:
        self.store = store
        self.model = model
        self.dim = dim
        self.threshold = threshold
        self.index_kind = index
        self._tenants: dict[str, _Tenant] = {}
        self._labels = itertools.count(1)
        self._lock = threading.RLock()

    def _tenant(self, tenant_id: str) -> _Tenant:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                tenant = _Tenant(make_index(self.index_kind, self.dim))
                rows = list(self.store.iter_tenant(tenant_id, self.model))
                if rows:
                    labels = np.array([next(self._labels) for _ in rows], np.int64)
                    tenant.index.add(labels, np.stack([r.template for r in rows]))
                    for label, row in zip(labels.tolist(), rows, strict=True):
                        tenant.by_label[label] = (row.id, row.subject_id)
                        tenant.by_id[row.id] = label
                self._tenants[tenant_id] = tenant
            return tenant

    def load(self) -> int:
        """Rebuild every tenant's index from the store; return the number of templates."""
        with self._lock:
            self._tenants.clear()
            return sum(len(self._tenant(t).by_id) for t in self.store.tenants())

    def _check(self, template: np.ndarray) -> np.ndarray:
        vec = np.asarray(template, np.float32).ravel()
        if vec.size != self.dim or not np.isfinite(vec).all():
            raise IdentityError(
                "template_invalid", f"expected a finite template of {self.dim} values"
            )
        return vec

    def enroll(self, tenant_id: str, subject_id: str, template: np.ndarray) -> str:
        """Store a template for ``subject_id`` and index it; return its id."""
        vec = self._check(template)
        with self._lock:
            tenant = self._tenant(tenant_id)
            row = self.store.add(tenant_id, subject_id, self.model, vec)
            label = next(self._labels)
            tenant.index.add(np.array([label]), vec[None])
            tenant.by_label[label] = (row.id, subject_id)
            tenant.by_id[row.id] = label
            return row.id

    def search(self, tenant_id: str, template: np.ndarray, k: int = 5) -> list[SearchHit]:
        """Return the ``k`` nearest templates of the tenant, nearest first."""
        vec = self._check(template)
        with self._lock:
            tenant = self._tenant(tenant_id)
            labels, dists = tenant.index.search(vec, k)
            hits = []
            for label, dist in zip(labels.tolist(), dists.tolist(), strict=True):
                if label not in tenant.by_label:
                    continue
                template_id, subject_id = tenant.by_label[label]
                hits.append(
                    SearchHit(
                        template_id,
                        subject_id,
                        float(dist),
                        similarity_from_distance(float(dist)),
                        float(dist) <= self.threshold,
                    )
                )
            return hits

    def delete(
        self, tenant_id: str, *, subject_id: str | None = None, template_id: str | None = None
    ) -> list[str]:
        """Delete a subject (all templates) or one template, everywhere; return the ids."""
        if subject_id is None and template_id is None:
            raise IdentityError("not_found", "name a subject_id or a template_id to delete")
        with self._lock:
            tenant = self._tenant(tenant_id)
            ids = self.store.delete(tenant_id, subject_id=subject_id, template_id=template_id)
            for row_id in ids:
                label = tenant.by_id.pop(row_id, None)
                if label is not None:
                    tenant.by_label.pop(label, None)
                    tenant.index.remove(label)
            return ids

    def count(self, tenant_id: str) -> int:
        """Number of templates of a tenant."""
        return len(self._tenant(tenant_id).by_id)
