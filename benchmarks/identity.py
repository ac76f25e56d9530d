"""Identity benchmark: 1:1 accuracy (clean and degraded, with and without enhancement), passive
liveness on the shared samples (and mild degradations), verify latency on one core, and 1:N
search over 1,000,000 synthetic templates against brute force.

    python benchmarks/identity.py            # rich tables
    python benchmarks/identity.py --json     # machine-readable
    python benchmarks/identity.py --n 100000 --skip-pairs   # quicker

Reads ``$RULEPLUS_SHARED/data/faces`` and the model files from ``$RULEPLUS_SHARED/models/face``
(or ``--model-dir``). The threshold is dlib's a-priori 0.6; nothing is tuned on these pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ruleplus.config import Settings
from ruleplus.identity.degrade import ALL_DEGRADATIONS, DEGRADATIONS
from ruleplus.identity.engine import IdentityEngine
from ruleplus.identity.evaluate import evaluate_liveness, evaluate_pairs


def _pin(cores: set[int] | None) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores or set(range(os.cpu_count() or 1)))


def _transform(name: str, boxes: dict[str, Any], strength: float = 1.0) -> Any:
    """``(image, file) -> image`` for degradation ``name`` (``clean``: identity)."""
    if name == "clean":
        return None
    fn = ALL_DEGRADATIONS[name]

    def transform(image: np.ndarray, file: str) -> Any:
        seed = zlib.crc32(file.encode()) & 0xFFFF
        if name == "backlight":
            return fn(image, strength, seed, box=boxes.get(file))
        return fn(image, strength, seed)

    return transform


def _boxes(engine: IdentityEngine, pairs: Path) -> dict[str, Any]:
    boxes: dict[str, Any] = {}
    for image_path in sorted(pairs.glob("*.jpg")):
        faces = engine.detector.detect(engine.load(image_path))
        boxes[image_path.name] = faces[0].box if faces else None
    return boxes


def bench_pairs(engine: IdentityEngine, pairs: Path) -> list[dict[str, Any]]:
    """Accuracy on the shared pairs: clean, the issue's four degradations and nine more (a
    stand-in for unseen ones), enhancement off and on. ``separability`` is the best accuracy any
    threshold could reach — a diagnostic of the embedding, never a claim."""
    boxes = _boxes(engine, pairs)
    rows = []
    for condition in ["clean", *ALL_DEGRADATIONS]:
        for enhance in (False, True):
            if condition == "clean" and enhance:
                continue
            engine.enhance = enhance
            r = evaluate_pairs(
                engine, pairs / "master.csv", pairs, _transform(condition, boxes), details=True
            )
            rows.append(
                {
                    "condition": condition,
                    "enhance": enhance,
                    "named_in_issue": condition in DEGRADATIONS,
                    **{
                        k: r[k]
                        for k in (
                            "n",
                            "accuracy",
                            "far",
                            "frr",
                            "fta",
                            "threshold",
                            "median_ms",
                            "separability",
                        )
                    },
                }
            )
    engine.enhance = True
    return rows


SWEEP = ("blur", "noise", "low_light", "backlight", "motion_blur", "strong_light", "jpeg")
STRENGTHS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


def bench_sweep(engine: IdentityEngine, pairs: Path) -> list[dict[str, Any]]:
    """Accuracy against degradation strength (enhancement on): where 99% stops holding."""
    boxes = _boxes(engine, pairs)
    rows = []
    for condition in SWEEP:
        for strength in STRENGTHS:
            r = evaluate_pairs(
                engine,
                pairs / "master.csv",
                pairs,
                _transform(condition, boxes, strength),
                details=True,
            )
            rows.append(
                {
                    "condition": condition,
                    "strength": strength,
                    **{k: r[k] for k in ("accuracy", "far", "frr", "fta", "separability")},
                }
            )
    return rows


def write_html(report: dict[str, Any], path: Path) -> None:
    """One self-contained page: error rate against strength per degradation, and the tables."""
    from ruleplus.charts import REPORT_CSS, line_chart

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    parts = [
        "<!doctype html><meta charset='utf-8'><title>ruleplus identity benchmark</title>",
        f"<style>{REPORT_CSS}</style>",
        "<h1>Identity benchmark</h1>",
        f"<p>{json.dumps(report['machine'])}; threshold: {json.dumps(report['threshold'])}</p>",
    ]
    if "sweep" in report:
        series = []
        for i, condition in enumerate(SWEEP):
            rows = [r for r in report["sweep"] if r["condition"] == condition]
            series.append(
                (
                    condition,
                    [r["strength"] for r in rows],
                    [100 * (1 - r["accuracy"]) for r in rows],
                    colours[i % len(colours)],
                )
            )
        parts += [
            "<h2>Error rate (%) against degradation strength, enhancement on</h2>",
            "<p>300 shared pairs, a-priori threshold; 1% is the issue's target.</p>",
            line_chart(series, "strength (1 = the benchmark's default)", "error %"),
        ]
    if "pairs" in report:
        parts.append(
            "<h2>Accuracy per condition</h2><table><tr><th>condition</th>"
            "<th>enhance</th><th>accuracy</th><th>FAR</th><th>FRR</th><th>FTA</th>"
            "<th>separability</th></tr>"
        )
        for r in report["pairs"]:
            parts.append(
                f"<tr><td>{r['condition']}</td><td>{r['enhance']}</td>"
                f"<td>{r['accuracy']:.4f}</td><td>{r['far']:.4f}</td>"
                f"<td>{r['frr']:.4f}</td><td>{r['fta']:.3f}</td>"
                f"<td>{r['separability']:.4f}</td></tr>"
            )
        parts.append("</table>")
    path.write_text("\n".join(parts), encoding="utf-8")


def bench_liveness(engine: IdentityEngine, folder: Path) -> list[dict[str, Any]]:
    """APCER/BPCER/ACER on T1/F1/F2: clean, and every degradation at strength 0.5 (mild) and 1."""
    rows = []
    for condition in ["clean", *ALL_DEGRADATIONS]:
        fn = ALL_DEGRADATIONS.get(condition)
        for strength in (0.5, 1.0) if fn is not None else (0.0,):
            transform = None if fn is None else (lambda im, _n, fn=fn, s=strength: fn(im, s))
            r = evaluate_liveness(engine, folder, transform)
            rows.append(
                {
                    "condition": condition if fn is None else f"{condition} ×{strength:g}",
                    "named_in_issue": condition in DEGRADATIONS,
                    "strength": strength,
                    "apcer": r["apcer"],
                    "bpcer": r["bpcer"],
                    "acer": r["acer"],
                    "scores": {i["file"]: i["score"] for i in r["items"]},
                }
            )
    return rows


def _to_640x480(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = min(640 / w, 480 / h)
    small = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 127, np.uint8)
    y, x = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def bench_latency(engine: IdentityEngine, shared: Path, rounds: int) -> dict[str, Any]:
    """Median verify time of two 640×480 JPEGs on one core, with the ResNet run by PyTorch,
    by ONNX Runtime (exported) and by dlib itself (the peer), in the same run.

    Each call decodes, detects, checks quality, scores the selfie's liveness and embeds both.
    """
    from ruleplus.identity import weights as m
    from ruleplus.identity.embed import DlibEmbedder

    selfie = (shared / "data/faces/liveness/image_T1.jpg").read_bytes()
    idp = _to_640x480(engine.load(shared / "data/faces/pairs/img2.jpg"))
    id_photo = bytes(cv2.imencode(".jpg", idp)[1].tobytes())
    model_dir = shared / "models/face"
    files = (m.resolve_model(m.DLIB_RESNET, model_dir), m.resolve_model(m.DLIB_SP5, model_dir))
    runtimes = {
        "torch": DlibEmbedder(*files, runtime="torch"),
        "dlib": DlibEmbedder(*files, runtime="dlib"),
    }
    try:
        import tempfile

        from ruleplus.identity._dlib_resnet import export_onnx

        scratch = Path(tempfile.mkdtemp(prefix="ruleplus-bench-"))
        runtimes["onnx"] = DlibEmbedder(
            *files, runtime="onnx", onnx_path=export_onnx(files[0], scratch)
        )
    except ImportError:  # onnx / onnxruntime not installed
        pass
    _pin({0})
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    result: dict[str, Any] = {"rounds": rounds}
    original = engine.embedder
    try:
        for name, embedder in runtimes.items():
            engine.embedder = embedder
            engine.verify(selfie, id_photo)
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                engine.verify(selfie, id_photo)
                times.append((time.perf_counter() - t0) * 1e3)
            result[name] = {
                "median_ms": statistics.median(times),
                "p90_ms": float(np.percentile(times, 90)),
                "min_ms": min(times),
            }
    finally:
        engine.embedder = original
        _pin(None)
    result.update(result["torch"])
    return result


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    out = rng.standard_normal((n, dim), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def bench_search(n: int, queries: int, seed: int = 7) -> dict[str, Any]:
    """HNSW (hnswlib) vs brute force on ``n`` random 128-d unit templates.

    Mated probes are gallery templates plus noise (distance ≈ 0.6, like a genuine pair relative to
    random impostors at ≈ 1.41); non-mated probes are fresh random vectors (the hard case).
    """
    import hnswlib

    dim = 128
    rng = np.random.default_rng(seed)
    base = _unit(rng, n, dim)
    mates = rng.choice(n, queries, replace=False)
    mated = base[mates] + rng.standard_normal((queries, dim), dtype=np.float32) * 0.053
    mated /= np.linalg.norm(mated, axis=1, keepdims=True)
    random_probes = _unit(rng, queries, dim)
    norms = (base**2).sum(1)

    def exact(q: np.ndarray) -> np.ndarray:
        out = np.empty(len(q), np.int64)
        for s in range(0, len(q), 100):
            d2 = norms[None, :] - 2.0 * (q[s : s + 100] @ base.T)
            out[s : s + 100] = d2.argmin(1)
        return out

    truth_mated, truth_random = exact(mated), exact(random_probes)
    t0 = time.perf_counter()
    index = hnswlib.Index(space="l2", dim=dim)
    index.init_index(max_elements=n, M=16, ef_construction=100)
    index.add_items(base, np.arange(n), num_threads=os.cpu_count() or 1)
    build_s = time.perf_counter() - t0
    _pin({0})
    index.set_num_threads(1)
    rows = []
    for ef in (256, 1024, 2048):
        index.set_ef(ef)
        for name, probes, truth in (
            ("mated", mated, truth_mated),
            ("non-mated", random_probes, truth_random),
        ):
            times, found = [], []
            for q in probes:
                t = time.perf_counter()
                labels, _ = index.knn_query(q[None], k=1)
                times.append((time.perf_counter() - t) * 1e3)
                found.append(labels[0, 0])
            rows.append(
                {
                    "method": f"hnsw ef={ef}",
                    "probes": name,
                    "p50_ms": statistics.median(times),
                    "p99_ms": float(np.percentile(times, 99)),
                    "recall_at_1": float(np.mean(np.array(found) == truth)),
                }
            )
    rows += _faiss_ivf(base, mated, truth_mated)
    brute = []
    for q in mated[: min(50, queries)]:
        t = time.perf_counter()
        int(np.argmin(norms - 2.0 * (base @ q)))
        brute.append((time.perf_counter() - t) * 1e3)
    rows.append(
        {
            "method": "brute force (numpy, 1 core)",
            "probes": "mated",
            "p50_ms": statistics.median(brute),
            "p99_ms": float(np.percentile(brute, 99)),
            "recall_at_1": 1.0,
        }
    )
    _pin(None)
    return {
        "n": n,
        "dim": dim,
        "queries": queries,
        "build_s": build_s,
        "mate_is_exact_nn": float(np.mean(truth_mated == mates)),
        "rows": rows,
        "templates_gb": round(base.nbytes / 1e9, 2),
    }


def _faiss_ivf(base: np.ndarray, probes: np.ndarray, truth: np.ndarray) -> list[dict[str, Any]]:
    """Peer: faiss IVF-Flat (4096 lists, trained on 200k), when faiss-cpu is installed."""
    try:
        import faiss
    except ImportError:
        return []
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    nlist = max(16, min(4096, len(base) // 250))
    t0 = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatL2(base.shape[1]), base.shape[1], nlist)
    ivf.train(base[rng.choice(len(base), min(len(base), 200_000), replace=False)])
    ivf.add(base)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    rows = []
    for nprobe in (64, 256):
        ivf.nprobe = nprobe
        times, found = [], []
        for q in probes:
            t = time.perf_counter()
            _, labels = ivf.search(q[None], 1)
            times.append((time.perf_counter() - t) * 1e3)
            found.append(labels[0, 0])
        rows.append(
            {
                "method": f"faiss IVF{nlist} nprobe={nprobe} (peer, build {build:.0f} s)",
                "probes": "mated",
                "p50_ms": statistics.median(times),
                "p99_ms": float(np.percentile(times, 99)),
                "recall_at_1": float(np.mean(np.array(found) == truth)),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--n", type=int, default=1_000_000, help="gallery size for 1:N")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30, help="verify latency rounds")
    parser.add_argument("--skip-pairs", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--html", type=Path, help="also write an HTML report with charts")
    args = parser.parse_args(argv)
    shared = Settings.load().shared_dir
    model_dir = args.model_dir or shared / "models" / "face"
    engine = IdentityEngine.from_models(model_dir)
    report: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "opencv": cv2.__version__,
        },
        "threshold": {
            "distance": engine.embedder.threshold,
            "similarity": 1 - engine.embedder.threshold / 2,
            "how": "dlib's documented 0.6, fixed a priori",
        },
    }
    stages = [
        ("latency", lambda: bench_latency(engine, shared, args.rounds)),
        ("liveness", lambda: bench_liveness(engine, shared / "data/faces/liveness")),
    ]
    if not args.skip_pairs:
        stages.append(("pairs", lambda: bench_pairs(engine, shared / "data/faces/pairs")))
    if not args.skip_sweep:
        stages.append(("sweep", lambda: bench_sweep(engine, shared / "data/faces/pairs")))
    if not args.skip_search:
        stages.append(("search", lambda: bench_search(args.n, args.queries)))
    for name, run in stages:
        t0 = time.perf_counter()
        report[name] = run()
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.html:
        write_html(report, args.html)
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        _print(report)
    return 0


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"machine: {report['machine']}; threshold: {report['threshold']}")
    lat = report["latency"]
    console.print(
        f"verify 2×640×480 on one core: median {lat['median_ms']:.1f} ms, "
        f"p90 {lat['p90_ms']:.1f} ms ({lat['rounds']} rounds; target ≤ 300 ms); "
        f"ResNet by dlib: median {lat['dlib']['median_ms']:.1f} ms"
        + (f", by ONNX Runtime: {lat['onnx']['median_ms']:.1f} ms" if "onnx" in lat else "")
    )
    if "pairs" in report:
        table = Table(title="1:1 accuracy on the 300 shared pairs (target ≥ 0.99)")
        for col in (
            "condition",
            "enhance",
            "accuracy",
            "far",
            "frr",
            "fta",
            "separability",
            "median_ms",
        ):
            table.add_column(col)
        for r in report["pairs"]:
            table.add_row(
                r["condition"]
                + ("" if r["named_in_issue"] or r["condition"] == "clean" else " (extra)"),
                str(r["enhance"]),
                f"{r['accuracy']:.4f}",
                f"{r['far']:.4f}",
                f"{r['frr']:.4f}",
                f"{r['fta']:.3f}",
                f"{r['separability']:.4f}",
                f"{r['median_ms']:.0f}",
            )
        console.print(table)
    if "sweep" in report:
        table = Table(title="accuracy against degradation strength (enhancement on)")
        table.add_column("condition")
        for strength in STRENGTHS:
            table.add_column(f"{strength:g}")
        for condition in SWEEP:
            cells = {
                r["strength"]: r["accuracy"] for r in report["sweep"] if r["condition"] == condition
            }
            table.add_row(condition, *(f"{cells[x]:.4f}" for x in STRENGTHS))
        console.print(table)
    table = Table(title="passive liveness (T1 live, F1/F2 spoof)")
    for col in ("condition", "APCER", "BPCER", "ACER", "scores"):
        table.add_column(col)
    for r in report["liveness"]:
        table.add_row(
            r["condition"],
            f"{r['apcer']:.2f}",
            f"{r['bpcer']:.2f}",
            f"{r['acer']:.2f}",
            json.dumps(r["scores"]),
        )
    console.print(table)
    if "search" in report:
        s = report["search"]
        table = Table(
            title=f"1:N over {s['n']:,} templates (build {s['build_s']:.0f} s, "
            f"target p50 ≤ 10 ms, recall@1 ≥ 0.99)"
        )
        for col in ("method", "probes", "p50_ms", "p99_ms", "recall@1"):
            table.add_column(col)
        for r in s["rows"]:
            table.add_row(
                r["method"],
                r["probes"],
                f"{r['p50_ms']:.3f}",
                f"{r['p99_ms']:.3f}",
                f"{r['recall_at_1']:.4f}",
            )
        console.print(table)


if __name__ == "__main__":
    raise SystemExit(main())
