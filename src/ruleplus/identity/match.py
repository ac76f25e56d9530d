"""1:1 comparison: distance, similarity, decision.

Similarity is a fixed monotone map of the Euclidean distance between templates,
``similarity = clip(1 - distance / 2, 0, 1)``, so dlib's a-priori threshold of 0.6 (distance) is
a similarity of 0.7. The threshold is fixed before any evaluation; it is never tuned on the
evaluation pairs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distance", "distance_from_similarity", "similarity", "similarity_from_distance"]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two templates."""
    if a.shape != b.shape:
        raise ValueError(f"templates of different sizes: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))


def similarity_from_distance(d: float) -> float:
    """Map a distance to a similarity in [0, 1] (``1 - d/2``, clipped)."""
    return float(min(1.0, max(0.0, 1.0 - d / 2.0)))


def distance_from_similarity(s: float) -> float:
    """Inverse of :func:`similarity_from_distance` on its unclipped range."""
    return float(2.0 * (1.0 - s))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Similarity of two templates."""
    return similarity_from_distance(distance(a, b))
