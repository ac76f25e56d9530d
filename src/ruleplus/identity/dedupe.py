"""Duplicate faces in a batch of photos: the same person behind different applications.

A lender reviewing a batch (a partner's day of applications, a suspected fraud ring) wants every
pair of photos that show one person, whatever names came with them. Each photo's main face is
embedded once; all pairs are compared exactly, in blocks, with the engine's fixed threshold;
matches are joined into groups. Groups are connected components, so they can chain (A~B and B~C
puts A and C together even when A and C do not match): every group lists its matching pairs, and
its ``min_similarity`` says how far apart its members may be.

Exact comparison is quadratic; at 20,000 photos that is 2·10⁸ distances, a few seconds with
numpy. Larger sets belong in the gallery (an HNSW index), not here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ruleplus.errors import IdentityError
from ruleplus.identity.engine import IdentityEngine
from ruleplus.identity.match import similarity_from_distance

__all__ = ["IMAGE_SUFFIXES", "find_duplicates", "image_files"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
_MAX_PHOTOS = 20_000
_BLOCK = 1024


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (by suffix), sorted by name."""
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _matching_pairs(templates: np.ndarray, limit: float) -> list[tuple[int, int, float]]:
    """All ``(i, j, distance)`` with ``i < j`` and distance ``<= limit``, exactly, in blocks."""
    x = templates.astype(np.float64)
    norms = (x**2).sum(axis=1)
    pairs: list[tuple[int, int, float]] = []
    for start in range(0, len(x), _BLOCK):
        block = x[start : start + _BLOCK]
        d2 = norms[start : start + _BLOCK, None] + norms[None, :] - 2.0 * block @ x.T
        rows, cols = np.nonzero(d2 <= limit * limit + 1e-9)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                pairs.append((i, c, float(np.linalg.norm(x[i] - x[c]))))
    return [p for p in pairs if p[2] <= limit]


def _groups(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[list[int]]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    return [m for m in members.values() if len(m) > 1]


def find_duplicates(
    engine: IdentityEngine,
    photos: Sequence[Path],
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Find the photos that show the same person.

    Parameters
    ----------
    engine : IdentityEngine
        Its embedder's threshold decides a match.
    photos : sequence of Path
        Each photo's largest face is used.
    progress : callable, optional
        Called with the number of photos embedded so far.

    Returns
    -------
    dict
        ``n``, ``embedded``, ``threshold`` (similarity), ``distance_threshold``, ``groups``
        (largest first: ``files``, ``pairs`` with similarities, ``min_similarity``), ``failures``
        (``file``, ``code``: no face, unreadable…) — no template is ever returned.

    Raises
    ------
    IdentityError
        ``image_invalid`` when more than 20,000 photos are given (use the gallery).
    """
    if len(photos) > _MAX_PHOTOS:
        raise IdentityError(
            "image_invalid",
            f"{len(photos):,} photos; dedupe takes at most "
            f"{_MAX_PHOTOS:,} — enroll larger sets in the gallery",
        )
    names: list[str] = []
    vectors: list[np.ndarray] = []
    failures: list[dict[str, str]] = []
    for count, path in enumerate(photos, 1):
        try:
            template = engine.analyze(path, multiple="largest").template
            assert template is not None  # analyze embeds every face it returns
            vectors.append(template)
            names.append(Path(path).name)
        except IdentityError as exc:
            failures.append({"file": Path(path).name, "code": exc.code})
        if progress is not None:
            progress(count)
    limit = float(engine.embedder.threshold)
    pairs = _matching_pairs(np.vstack(vectors), limit) if len(vectors) > 1 else []
    by_member: dict[int, list[tuple[int, int, float]]] = {}
    for pair in pairs:
        by_member.setdefault(pair[0], []).append(pair)
    groups: list[dict[str, Any]] = []
    for members in _groups(len(names), pairs):
        inside = set(members)
        links = sorted(
            (p for i in members for p in by_member.get(i, []) if p[1] in inside), key=lambda p: p[2]
        )
        groups.append(
            {
                "files": [names[i] for i in sorted(members, key=lambda i: names[i])],
                "pairs": [
                    {
                        "a": names[i],
                        "b": names[j],
                        "similarity": round(similarity_from_distance(d), 4),
                    }
                    for i, j, d in links
                ],
                "min_similarity": round(similarity_from_distance(max(d for *_, d in links)), 4),
            }
        )
    groups.sort(key=lambda g: (-len(g["files"]), g["files"][0]))
    return {
        "n": len(photos),
        "embedded": len(names),
        "threshold": similarity_from_distance(limit),
        "distance_threshold": limit,
        "groups": groups,
        "failures": failures,
    }
