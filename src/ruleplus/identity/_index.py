"""Nearest-neighbour indexes over templates: HNSW (hnswlib) and exact (numpy) behind one API.

Labels are integers chosen by the caller. Removing a label overwrites its vector in the index
with random data before marking it deleted, so no biometric data stays in memory.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["FlatIndex", "HnswIndex", "make_index"]


class FlatIndex:
    """Exact search by brute force (float32 matrix, squared L2 via one matrix product).

    Parameters
    ----------
    dim : int
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._vecs = np.zeros((0, dim), np.float32)
        self._norms = np.zeros(0, np.float32)
        self._labels = np.zeros(0, np.int64)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._labels.size)

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under ``labels``."""
        vectors = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        with self._lock:
            self._vecs = np.vstack([self._vecs, vectors])
            self._norms = np.concatenate([self._norms, (vectors**2).sum(1)])
            self._labels = np.concatenate([self._labels, np.asarray(labels, np.int64)])

    def remove(self, label: int) -> None:
        """Remove ``label`` (its row is zeroed, then dropped)."""
        with self._lock:
            keep = self._labels != label
            self._vecs[~keep] = 0
            self._vecs, self._norms, self._labels = (
                self._vecs[keep],
                self._norms[keep],
                self._labels[keep],
            )

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(labels, distances)`` of the ``k`` nearest (Euclidean), nearest first."""
        q = np.asarray(vector, np.float32).ravel()
        with self._lock:
            if not len(self._labels):
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            d2 = self._norms - 2.0 * (self._vecs @ q) + float(q @ q)
            k = min(k, d2.size)
            idx = np.argpartition(d2, k - 1)[:k]
            idx = idx[np.argsort(d2[idx])]
            return self._labels[idx], np.sqrt(np.maximum(d2[idx], 0))


class HnswIndex:
    """Approximate search with hnswlib (L2 space).

    Parameters
    ----------
    dim : int
    capacity : int, default=1024
        Initial size; grows by doubling.
    m : int, default=16
        Graph degree.
    ef_construction : int, default=100
    ef_search : int, optional
        Search beam; by default it grows with the index, ``clip(size / 500, 128, 2048)``
        (``benchmarks/identity.py`` measures recall and latency at 1,000,000 templates.)
    threads : int, default=-1
        Threads used for bulk adds (-1: all cores).
    """

    def __init__(
        self,
        dim: int,
        capacity: int = 1024,
        m: int = 16,
        ef_construction: int = 100,
        ef_search: int | None = None,
        threads: int = -1,
    ) -> None:
        import hnswlib

        self.dim = dim
        self.ef_search = ef_search
        self.threads = threads
        self._index = hnswlib.Index(space="l2", dim=dim)
        self._index.init_index(
            max_elements=max(16, capacity),
            M=m,
            ef_construction=ef_construction,
            allow_replace_deleted=True,
        )
        self._index.set_ef(ef_search or 128)
        self._live = 0
        self._rng = np.random.default_rng()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._live

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under ``labels`` (reusing the slots of deleted ones)."""
        vectors = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        labels = np.asarray(labels, np.int64)
        with self._lock:
            needed = self._index.get_current_count() + len(labels)
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
            self._index.add_items(vectors, labels, num_threads=self.threads, replace_deleted=True)
            self._live += len(labels)

    def remove(self, label: int) -> None:
        """Overwrite the vector of ``label`` with noise, then mark it deleted."""
        with self._lock:
            noise = self._rng.normal(size=(1, self.dim)).astype(np.float32)
            self._index.add_items(noise, np.array([label]), replace_deleted=False)
            self._index.mark_deleted(label)
            self._live -= 1

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(labels, distances)`` of the ``k`` nearest (Euclidean), nearest first."""
        with self._lock:
            k = min(k, self._live)
            if k <= 0:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            ef = self.ef_search or min(2048, max(128, self._live // 500))
            self._index.set_ef(max(ef, k))
            labels, d2 = self._index.knn_query(np.asarray(vector, np.float32).reshape(1, -1), k=k)
        return labels[0].astype(np.int64), np.sqrt(np.maximum(d2[0], 0))


def make_index(kind: str, dim: int, **kwargs: int) -> FlatIndex | HnswIndex:
    """Return an index of ``kind`` (``"hnsw"`` or ``"flat"``)."""
    if kind == "flat":
        return FlatIndex(dim)
    if kind == "hnsw":
        return HnswIndex(dim, **kwargs)
    raise ValueError(f"unknown index kind {kind!r}")
