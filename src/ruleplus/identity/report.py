"""HTML report of a 1:1 evaluation: distance histograms, error rates against the threshold, and
the pairs decided wrongly.

Presentation only: it draws what :func:`ruleplus.identity.evaluate.evaluate_pairs` computed with
``details=True``. The charts are the model factory's inline-SVG ones, so the file is
self-contained, needs no JavaScript and loads nothing from the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ruleplus.charts import BLUE, GREY, RED, REPORT_CSS, bar_chart, line_chart
from ruleplus.charts import escape as _e

__all__ = ["render_pairs_report"]


def _cell(value: Any) -> str:
    return format(value, ".4g") if isinstance(value, float) else str(value)


def _rates(
    genuine: np.ndarray, impostor: np.ndarray, grid: np.ndarray
) -> tuple[list[float], list[float]]:
    """FAR and FRR at every threshold of ``grid`` (pairs without a distance never match)."""
    far = [float(np.mean(impostor <= t)) if impostor.size else 0.0 for t in grid]
    frr = [float(np.mean(~(genuine <= t))) if genuine.size else 0.0 for t in grid]
    return far, frr


def render_pairs_report(report: dict[str, Any], title: str = "1:1 verification") -> str:
    """Return one self-contained HTML page for an ``evaluate_pairs(..., details=True)`` result.

    Raises
    ------
    ValueError
        When ``report`` has no per-pair ``pairs`` (run the evaluation with ``details=True``).
    """
    if "pairs" not in report:
        raise ValueError("the report has no per-pair distances: evaluate with details=True")
    limit = float(report["distance_threshold"])
    rows = report["pairs"]
    genuine = np.array([np.inf if d is None else d for _, _, same, d in rows if same], float)
    impostor = np.array([np.inf if d is None else d for _, _, same, d in rows if not same], float)
    finite = np.concatenate([genuine[np.isfinite(genuine)], impostor[np.isfinite(impostor)]])
    top = max(1.4, float(finite.max()) + 0.05) if finite.size else 1.4
    edges = np.arange(0.0, top + 0.05, 0.05)
    labels = [f"{a:.2f}" for a in edges[:-1]]
    hist_g = np.histogram(genuine[np.isfinite(genuine)], edges)[0].astype(float).tolist()
    hist_i = np.histogram(impostor[np.isfinite(impostor)], edges)[0].astype(float).tolist()
    grid = np.linspace(0.0, top, 141)
    far, frr = _rates(genuine, impostor, grid)
    rates = line_chart(
        [
            ("FAR", grid.tolist(), far, RED),
            ("FRR", grid.tolist(), frr, BLUE),
            (f"threshold {limit:g}", [limit, limit], [0.0, 1.0], GREY),
        ],
        "distance threshold",
        "rate",
    )
    histogram = bar_chart(
        labels, [("same person", hist_g, BLUE), ("different people", hist_i, RED)], "pairs"
    )
    summary_keys = (
        "n",
        "accuracy",
        "far",
        "frr",
        "fta",
        "threshold",
        "distance_threshold",
        "separability",
        "median_ms",
        "model",
    )
    summary = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(_cell(report[k]))}</td></tr>"
        for k in summary_keys
        if k in report
    )
    wrong = [(a, b, same, d) for a, b, same, d in rows if (d is not None and d <= limit) != same]
    wrong.sort(key=lambda r: abs((r[3] if r[3] is not None else 9.0) - limit))
    errors = "".join(
        f"<tr><td>{_e(a)}</td><td>{_e(b)}</td><td>{'same' if same else 'different'}</td>"
        f"<td>{'no face' if d is None else format(d, '.4f')}</td></tr>"
        for a, b, same, d in wrong
    )
    return "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{_e(title)}</title><style>{REPORT_CSS}</style></head><body>",
            f"<h1>{_e(title)}</h1>",
            "<p class='note'>Distances are Euclidean between templates; a pair matches at or below "
            "the threshold. Separability is the best accuracy any threshold could reach on these "
            "pairs — a diagnostic, never a claim. Pairs where a face was not found count as "
            "non-matches.</p>",
            f"<table>{summary}</table>",
            "<div class='grid'>",
            f"<div><h2>Distances</h2>{histogram}</div>",
            f"<div><h2>Error rates against the threshold</h2>{rates}</div>",
            "</div>",
            f"<h2>Pairs decided wrongly ({len(wrong)})</h2>",
            "<table><tr><th>file x</th><th>file y</th><th>truth</th><th>distance</th></tr>"
            f"{errors}</table>"
            if wrong
            else "<p>None.</p>",
            "</body></html>",
        ]
    )
