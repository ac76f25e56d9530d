"""Evaluation of 1:1 verification on labelled pairs and of passive liveness on labelled images.

Pairs: every pair counts. A pair where either image yields no usable face (undecodable, no face)
is a non-match and is also counted as a failure to acquire (``fta``). Liveness: ISO/IEC 30107-3
names — APCER (attacks accepted as bona fide), BPCER (bona fide rejected), ACER (their mean); an
attack with no detectable face counts as rejected, a bona fide one as rejected (both also in
``fta``).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ruleplus.errors import IdentityError
from ruleplus.identity.engine import IdentityEngine
from ruleplus.identity.match import distance, similarity_from_distance

__all__ = ["evaluate_liveness", "evaluate_pairs", "read_liveness_labels", "read_pairs"]

_TRUE = {"yes", "y", "true", "t", "1", "same", "match", "genuine", "positive"}
_FALSE = {
    "no",
    "n",
    "false",
    "f",
    "0",
    "different",
    "diff",
    "nonmatch",
    "non-match",
    "impostor",
    "negative",
}
_LIVE = {
    "live",
    "real",
    "genuine",
    "bonafide",
    "bona_fide",
    "bona-fide",
    "true",
    "t",
    "1",
    "positive",
    "alive",
}
_SPOOF = {
    "spoof",
    "fake",
    "attack",
    "presentation_attack",
    "pa",
    "false",
    "f",
    "0",
    "negative",
    "print",
    "replay",
    "screen",
    "mask",
    "photo",
}
Transform = Callable[[np.ndarray, str], np.ndarray]


def _label(value: str, true: set[str], false: set[str], what: str) -> bool:
    key = value.strip().lower()
    if key in true:
        return True
    if key in false:
        return False
    raise IdentityError("image_invalid", f"cannot read the {what} label {value!r}")


def read_pairs(path: Path) -> list[tuple[str, str, bool]]:
    """Read ``file_x,file_y,Decision`` (or any 3 columns: two files and a same/different label)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    known = {"decision", "label", "same", "match", "is_same", "issame", "target", "y"}
    if any(h in known for h in header) or "file_x" in header:
        li = next((i for i, h in enumerate(header) if h in known), 2)
        files = [i for i in range(len(header)) if i != li][:2]
        rows = rows[1:]
    else:
        li, files = 2, [0, 1]
    return [
        (r[files[0]].strip(), r[files[1]].strip(), _label(r[li], _TRUE, _FALSE, "pair"))
        for r in rows
    ]


def _analyze_file(
    engine: IdentityEngine, path: Path, transform: Transform | None
) -> tuple[np.ndarray | None, float, str | None]:
    t0 = time.perf_counter()
    try:
        image = engine.load(path)
        if transform is not None:
            image = transform(image, path.name)
        analysis = engine.analyze(image, multiple="largest")
        return analysis.template, (time.perf_counter() - t0) * 1e3, None
    except IdentityError as exc:
        return None, (time.perf_counter() - t0) * 1e3, exc.code


def evaluate_pairs(
    engine: IdentityEngine,
    pairs_csv: Path,
    images_dir: Path,
    transform: Transform | None = None,
    details: bool = False,
) -> dict[str, Any]:
    """Accuracy, FAR, FRR, FTA at the engine's fixed threshold over every pair.

    Parameters
    ----------
    engine : IdentityEngine
    pairs_csv : Path
    images_dir : Path
    transform : callable, optional
        ``(image, file_name) -> image`` applied after decoding (degradations).
    details : bool, default=False
        Add ``pairs``: ``[file_x, file_y, same, distance or None]`` for every pair, and
        ``separability``: the best accuracy any single threshold could reach on these pairs — a
        diagnostic of the embedding (chosen on the pairs themselves, so never a claim).

    Returns
    -------
    dict
        ``accuracy``, ``far``, ``frr``, ``fta`` (pairs), ``fta_images``, ``threshold``
        (similarity), ``distance_threshold``, ``n``, ``median_ms`` (median per pair of the time
        to process both images), confusion counts.
    """
    pairs = read_pairs(pairs_csv)
    cache: dict[str, tuple[np.ndarray | None, float, str | None]] = {}
    for a, b, _ in pairs:
        for name in (a, b):
            if name not in cache:
                cache[name] = _analyze_file(engine, Path(images_dir) / name, transform)
    limit = float(engine.embedder.threshold)
    tp = tn = fp = fn = fta = 0
    times = []
    scored: list[list[Any]] = []
    for a, b, same in pairs:
        (ta, ma, _), (tb, mb, _) = cache[a], cache[b]
        times.append(ma + mb)
        if ta is None or tb is None:
            fta += 1
            decided = False
            scored.append([a, b, same, None])
        else:
            d = distance(ta, tb)
            decided = d <= limit
            scored.append([a, b, same, d])
        if same:
            tp, fn = tp + decided, fn + (not decided)
        else:
            fp, tn = fp + decided, tn + (not decided)
    n = len(pairs)
    genuine, impostor = tp + fn, tn + fp
    extra: dict[str, Any] = {}
    if details:
        extra = {"pairs": scored, "separability": _separability(scored)}
    return {
        "n": n,
        "accuracy": (tp + tn) / n if n else 0.0,
        "far": fp / impostor if impostor else 0.0,
        "frr": fn / genuine if genuine else 0.0,
        "fta": fta / n if n else 0.0,
        "fta_pairs": fta,
        "fta_images": sorted(k for k, v in cache.items() if v[0] is None),
        "threshold": similarity_from_distance(limit),
        "distance_threshold": limit,
        "median_ms": statistics.median(times) if times else 0.0,
        "genuine": genuine,
        "impostor": impostor,
        "tp": tp,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "model": engine.embedder.name,
        **extra,
    }


def _separability(scored: list[list[Any]]) -> float:
    """Best accuracy over all thresholds (pairs without a distance count as non-matches)."""
    if not scored:
        return 0.0
    dist = np.array([np.inf if d is None else d for *_, d in scored])
    same = np.array([s for _, _, s, _ in scored], bool)
    order = np.argsort(dist, kind="stable")
    dist, same = dist[order], same[order]
    # threshold just below the first pair: every pair rejected; then accept one more at a time
    correct = int((~same).sum()) + np.concatenate([[0], np.cumsum(np.where(same, 1, -1))])
    finite = np.concatenate([[True], np.isfinite(dist)])
    # ties: only cut between distinct distances
    cut = np.concatenate([[True], np.r_[dist[1:] != dist[:-1], True]])
    return float(correct[finite & cut].max() / len(scored))


_LABEL_NAMES = (
    "labels",
    "label",
    "labels.csv",
    "label.csv",
    "labels.txt",
    "label.txt",
    "labels.tsv",
    "labels.json",
    "label.json",
    "ground_truth.csv",
    "gt.csv",
)


def _find_label_file(directory: Path) -> Path | None:
    for name in _LABEL_NAMES:
        if (directory / name).is_file():
            return directory / name
    found = sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and p.stem.lower().startswith("label")
        and p.suffix.lower() in {".csv", ".txt", ".tsv", ".json", ""}
    )
    return found[0] if found else None


_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def read_liveness_labels(directory: Path) -> dict[str, bool]:
    """Return ``{file name: live}`` from the folder's label file.

    The label file (``labels.csv``, ``labels.txt``, ``labels.json``…) holds one ``file,label`` per
    line (comma, tab or spaces; header optional) or a JSON object ``{file: label}``; labels such as
    live/real/bonafide/1 and spoof/fake/attack/0. Without a label file, Silent-Face names are used
    (``*_T*`` live, ``*_F*`` spoof).
    """
    directory = Path(directory)
    label_file = _find_label_file(directory)
    labels: dict[str, bool] = {}
    if label_file is not None and label_file.suffix.lower() == ".json":
        data = json.loads(label_file.read_text(encoding="utf-8"))
        items = (
            data.items()
            if isinstance(data, dict)
            else (
                (d.get("file") or d.get("image") or d.get("filename"), d.get("label")) for d in data
            )
        )
        for name, value in items:
            labels[str(name)] = _label(str(value), _LIVE, _SPOOF, "liveness")
        return labels
    if label_file is not None:
        text = label_file.read_text(encoding="utf-8-sig")
        for line in text.splitlines():
            parts = [p for p in line.replace("\t", ",").replace(";", ",").split(",")]
            if len(parts) < 2:
                parts = line.split()
            parts = [p.strip() for p in parts if p.strip()]
            if len(parts) < 2:
                continue
            name, value = parts[0], parts[-1]
            if Path(name).suffix.lower() not in _IMAGE_SUFFIXES and not (directory / name).exists():
                name, value = parts[-1], parts[0]
                if Path(name).suffix.lower() not in _IMAGE_SUFFIXES:
                    continue  # header
            labels[name] = _label(value, _LIVE, _SPOOF, "liveness")
        return labels
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in _IMAGE_SUFFIXES:
            tag = path.stem.rsplit("_", 1)[-1][:1].upper()
            if tag in ("T", "F"):
                labels[path.name] = tag == "T"
    if not labels:
        raise IdentityError("image_invalid", f"no label file found in {directory}")
    return labels


def evaluate_liveness(
    engine: IdentityEngine, directory: Path, transform: Transform | None = None
) -> dict[str, Any]:
    """APCER, BPCER and ACER of passive liveness over a labelled folder.

    Parameters
    ----------
    engine : IdentityEngine
    directory : Path
    transform : callable, optional
        ``(image, file_name) -> image`` applied after decoding.
    """
    labels = read_liveness_labels(Path(directory))
    attacks = bona = attacks_accepted = bona_rejected = fta = 0
    items, times = [], []
    for name, live in sorted(labels.items()):
        path = Path(directory) / name
        t0 = time.perf_counter()
        try:
            image = engine.load(path)
            if transform is not None:
                image = transform(image, name)
            analysis = engine.liveness(image, multiple="largest")
            assert analysis.liveness is not None
            score, predicted, error = analysis.liveness.score, analysis.liveness.live, None
        except IdentityError as exc:
            score, predicted, error = None, False, exc.code
            fta += 1
        times.append((time.perf_counter() - t0) * 1e3)
        if live:
            bona += 1
            bona_rejected += not predicted
        else:
            attacks += 1
            attacks_accepted += predicted
        items.append(
            {
                "file": name,
                "label": "live" if live else "spoof",
                "score": None if score is None else round(score, 4),
                "live": predicted,
                "error": error,
            }
        )
    apcer = attacks_accepted / attacks if attacks else 0.0
    bpcer = bona_rejected / bona if bona else 0.0
    threshold = engine.liveness_model.threshold if engine.liveness_model else None
    return {
        "n": len(items),
        "attacks": attacks,
        "bona_fide": bona,
        "apcer": apcer,
        "bpcer": bpcer,
        "acer": (apcer + bpcer) / 2,
        "fta": fta,
        "threshold": threshold,
        "median_ms": statistics.median(times) if times else 0.0,
        "items": items,
    }
