"""The HTML validation report: one self-contained file, charts drawn as inline SVG.

Presentation only: it draws what :func:`ruleplus.modeling.validation.validation_data` computed
and computes nothing a model computes. Inline SVG (rather than a plotting library) keeps the file
small, needs no JavaScript and nothing from the network when it is opened.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = ["render_report"]

_W, _H = 440, 280
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 52, 16, 16, 40
_BLUE, _RED, _GREY, _GREEN = "#2f6db5", "#c0392b", "#999999", "#2e8b57"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _e(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return format(value, spec)
    return _e(value)


def _axes(x0: float, x1: float, y0: float, y1: float, xlabel: str, ylabel: str) -> list[str]:
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    out = [
        f'<rect x="{_PAD_L}" y="{_PAD_T}" width="{iw}" height="{ih}" fill="none" stroke="#ccc"/>'
    ]
    for k in range(5):
        fx = x0 + (x1 - x0) * k / 4
        fy = y0 + (y1 - y0) * k / 4
        px = _PAD_L + iw * k / 4
        py = _PAD_T + ih - ih * k / 4
        out.append(
            f'<text x="{px:.1f}" y="{_H - _PAD_B + 14}" font-size="10" '
            f'text-anchor="middle">{fx:.3g}</text>'
        )
        out.append(
            f'<text x="{_PAD_L - 4}" y="{py + 3:.1f}" font-size="10" '
            f'text-anchor="end">{fy:.3g}</text>'
        )
    out.append(
        f'<text x="{_PAD_L + iw / 2}" y="{_H - 6}" font-size="11" '
        f'text-anchor="middle">{_e(xlabel)}</text>'
    )
    out.append(
        f'<text x="12" y="{_PAD_T + ih / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {_PAD_T + ih / 2})">{_e(ylabel)}</text>'
    )
    return out


def _scale(
    v: float, lo: float, hi: float, start: float, length: float, flip: bool = False
) -> float:
    frac = 0.0 if hi == lo else (v - lo) / (hi - lo)
    return start + length * (1 - frac if flip else frac)


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for i, (name, color) in enumerate(items):
        x = _PAD_L + 8 + i * 120
        out.append(f'<rect x="{x}" y="{_PAD_T + 6}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{x + 14}" y="{_PAD_T + 15}" font-size="11">{_e(name)}</text>')
    return out


def _svg(parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif">' + "".join(parts) + "</svg>"
    )


def line_chart(
    series: Sequence[tuple[str, Sequence[float], Sequence[float], str]],
    xlabel: str,
    ylabel: str,
    diagonal: bool = False,
) -> str:
    """Lines ``(name, xs, ys, colour)`` on shared axes."""
    xs = [x for _, sx, _, _ in series for x in sx]
    ys = [y for _, _, sy, _ in series for y in sy]
    x0, x1 = min(xs, default=0.0), max(xs, default=1.0)
    y0, y1 = min(min(ys, default=0.0), 0.0), max(ys, default=1.0)
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    parts = _axes(x0, x1, y0, y1, xlabel, ylabel)
    if diagonal:
        parts.append(
            f'<line x1="{_PAD_L}" y1="{_PAD_T + ih}" x2="{_PAD_L + iw}" y2="{_PAD_T}" '
            f'stroke="{_GREY}" stroke-dasharray="4 3"/>'
        )
    for _, sx, sy, color in series:
        points = " ".join(
            f"{_scale(x, x0, x1, _PAD_L, iw):.1f},{_scale(y, y0, y1, _PAD_T, ih, True):.1f}"
            for x, y in zip(sx, sy, strict=False)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    parts += _legend([(name, color) for name, _, _, color in series])
    return _svg(parts)


def bar_chart(
    labels: Sequence[str],
    groups: Sequence[tuple[str, Sequence[float], str]],
    ylabel: str,
    line: tuple[str, Sequence[float | None], str] | None = None,
) -> str:
    """Grouped bars per label, with an optional line on its own scale (e.g. event rate)."""
    values = [v for _, vs, _ in groups for v in vs]
    y0, y1 = min(min(values, default=0.0), 0.0), max(max(values, default=1.0), 1e-12)
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    parts = _axes(0, len(labels), y0, y1, "", ylabel)
    parts = [p for p in parts if 'text-anchor="middle">' not in p or "rotate" in p]
    slot = iw / max(len(labels), 1)
    width = slot * 0.8 / max(len(groups), 1)
    zero = _scale(0.0, y0, y1, _PAD_T, ih, True)
    for g, (_, vs, color) in enumerate(groups):
        for i, v in enumerate(vs):
            x = _PAD_L + slot * i + slot * 0.1 + width * g
            y = _scale(v, y0, y1, _PAD_T, ih, True)
            top, height = min(y, zero), abs(zero - y)
            parts.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill="{color}" opacity="0.8"><title>{_e(labels[i])}: {v:.4g}</title></rect>'
            )
    for i, label in enumerate(labels):
        text = label if len(label) <= 14 else label[:13] + "…"
        x = _PAD_L + slot * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{_H - _PAD_B + 12}" font-size="9" text-anchor="end" '
            f'transform="rotate(-30 {x:.1f} {_H - _PAD_B + 12})">{_e(text)}</text>'
        )
    legend = [(name, color) for name, _, color in groups]
    if line is not None:
        name, raw, color = line
        known = [(i, v) for i, v in enumerate(raw) if v is not None]  # empty bins have no rate
        values = [v for _, v in known]
        lo, hi = min(values, default=0.0), max(values, default=1.0)
        lo, hi = min(lo, 0.0), hi if hi > lo else lo + 1.0
        points = " ".join(
            f"{_PAD_L + slot * (i + 0.5):.1f},{_scale(v, lo, hi, _PAD_T, ih, True):.1f}"
            for i, v in known
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, v in known:
            cx = _PAD_L + slot * (i + 0.5)
            cy = _scale(v, lo, hi, _PAD_T, ih, True)
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{color}">'
                f"<title>{_e(name)}: {v:.4g}</title></circle>"
            )
        parts.append(
            f'<text x="{_W - _PAD_R}" y="{_PAD_T + 28}" font-size="10" text-anchor="end" '
            f'fill="{color}">{_e(name)} max {hi:.3g}</text>'
        )
        legend.append((name, color))
    parts += _legend(legend)
    return _svg(parts)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for _, title, _ in columns)
    body = []
    for row in rows:
        cells = "".join(f"<td>{_fmt(row.get(key), spec)}</td>" for key, _, spec in columns)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:10px 0 4px}
table{border-collapse:collapse;font-size:12px;margin:6px 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid #eee;padding:8px}
.kpi{display:inline-block;margin-right:24px;font-size:13px}.kpi b{font-size:20px;display:block}
.note{color:#666;font-size:12px}
"""


def _metrics_block(data: dict[str, Any]) -> str:
    m = data["metrics"]
    items = [
        ("AUC", m["auc"]),
        ("Gini", m["gini"]),
        ("KS", m["ks"]),
        ("rows", m["n"]),
        ("bad rate", m["bad_rate"]),
    ]
    if data.get("psi"):
        items.append(("PSI vs train", data["psi"]["value"]))
    out = "".join(f'<span class="kpi">{_e(k)}<b>{_fmt(v)}</b></span>' for k, v in items)
    rows = []
    for label, key in (("training", "train_metrics"), ("test (at fit)", "fit_test_metrics")):
        if data.get(key):
            rows.append({"sample": label, **data[key]})
    rows.append({"sample": "this data", **m, "psi": data.get("psi", {}).get("value")})
    cols = [
        ("sample", "sample", ""),
        ("n", "rows", ""),
        ("bad_rate", "bad rate", ".4f"),
        ("auc", "AUC", ".4f"),
        ("gini", "Gini", ".4f"),
        ("ks", "KS", ".4f"),
        ("psi", "PSI", ".4f"),
    ]
    return f"<div>{out}</div>" + _table(rows, cols)


def render_report(data: dict[str, Any]) -> str:
    """The report as HTML text (see :func:`~ruleplus.modeling.validation.validation_data`)."""
    kind = data["kind"]
    sections: list[str] = []
    sections.append(f"<h2>Discrimination</h2>{_metrics_block(data)}")
    roc = data["roc"]
    ks = data["ks_curve"]
    gap = ks["gap"]
    at = max(range(len(gap)), key=lambda i: gap[i]) if gap else 0
    charts = [
        line_chart(
            [("ROC", roc["fpr"], roc["tpr"], _BLUE)],
            "false-positive rate (goods)",
            "true-positive rate (bads)",
            diagonal=True,
        ),
        line_chart(
            [
                ("bads", ks["population"], ks["cum_bads"], _RED),
                ("goods", ks["population"], ks["cum_goods"], _GREEN),
            ],
            f"share of population, riskiest first (KS {gap[at]:.3f} at {ks['population'][at]:.2f})",
            "cumulative share",
        ),
    ]
    hist = data["score_hist"]
    mids = [(a + b) / 2 for a, b in zip(hist["edges"][:-1], hist["edges"][1:], strict=True)]
    charts.append(
        line_chart(
            [("goods", mids, hist["goods"], _GREEN), ("bads", mids, hist["bads"], _RED)],
            data.get("score_label", "score"),
            "share of class",
        )
    )
    sections.append(
        '<div class="grid">' + "".join(f'<div class="card">{c}</div>' for c in charts) + "</div>"
    )
    gains_cols = [
        ("band", "band", ""),
        ("min_score", "min PD", ".4f"),
        ("max_score", "max PD", ".4f"),
        ("count", "rows", ".0f"),
        ("bads", "bads", ".0f"),
        ("bad_rate", "bad rate", ".4f"),
        ("cum_bads_share", "cum. bads", ".3f"),
        ("cum_goods_share", "cum. goods", ".3f"),
        ("ks", "KS", ".3f"),
        ("lift", "lift", ".2f"),
        ("cum_lift", "cum. lift", ".2f"),
    ]
    sections.append(
        "<h2>Gains table (deciles of predicted PD, riskiest first)</h2>"
        + _table(data["gains"], gains_cols)
    )
    cal_cols = [
        ("band", "band", ""),
        ("count", "rows", ".0f"),
        ("predicted_pd", "predicted PD", ".4f"),
        ("observed_bad_rate", "observed bad rate", ".4f"),
        ("difference", "difference", ".4f"),
        ("z", "z", ".2f"),
    ]
    cal = data["calibration"]
    cal_chart = bar_chart(
        [str(r["band"]) for r in cal],
        [
            ("predicted PD", [r["predicted_pd"] for r in cal], _BLUE),
            ("observed bad rate", [r["observed_bad_rate"] for r in cal], _RED),
        ],
        "rate",
    )
    sections.append(
        "<h2>Calibration by score band</h2>"
        + '<div class="grid"><div class="card">'
        + cal_chart
        + "</div><div>"
        + _table(cal, cal_cols)
        + "</div></div>"
    )
    if data.get("psi"):
        psi = data["psi"]
        table = psi["table"]
        chart = bar_chart(
            [r["bin"] for r in table],
            [
                ("train", [r["expected_share"] for r in table], _GREY),
                ("this data", [r["actual_share"] for r in table], _BLUE),
            ],
            "share of rows",
        )
        cols = [
            ("bin", "PD band", ""),
            ("expected_share", "train share", ".4f"),
            ("actual_share", "this data", ".4f"),
            ("psi", "PSI", ".5f"),
        ]
        sections.append(
            f"<h2>Population stability: PSI {psi['value']:.4f} ({_e(psi['reading'])})</h2>"
            f'<div class="grid"><div class="card">{chart}</div>'
            f"<div>{_table(table, cols)}</div></div>"
        )
    if kind == "scorecard":
        sc = data.get("scaling", {})
        sections.append(
            "<h2>Characteristics: bins, event rate and WOE</h2>"
            f'<p class="note">Points: PDO {_fmt(sc.get("pdo"))}, '
            f"base odds {_fmt(sc.get('base_odds'))}"
            f" at {_fmt(sc.get('base_score'))}; base points {_fmt(sc.get('base_points'), '.2f')}. "
            "WOE = ln(good share / bad share); "
            "CSI compares this data's bin shares with training.</p>"
        )
        cards = []
        for f in data.get("features", []):
            chart = bar_chart(
                f["labels"],
                [("train share", f["train_share"], _GREY), ("this data", f["data_share"], _BLUE)],
                "share of rows",
                line=("train event rate", f["train_event_rate"], _RED),
            )
            woe_chart = bar_chart(f["labels"], [("WOE", f["woe"], _GREEN)], "WOE")
            rows = [
                {"bin": lab, "train": ts, "data": ds, "rate": er, "woe": w, "points": p}
                for lab, ts, ds, er, w, p in zip(
                    f["labels"],
                    f["train_share"],
                    f["data_share"],
                    f["train_event_rate"],
                    f["woe"],
                    f["points"],
                    strict=True,
                )
            ]
            cols = [
                ("bin", "bin", ""),
                ("train", "train share", ".3f"),
                ("data", "data share", ".3f"),
                ("rate", "event rate", ".4f"),
                ("woe", "WOE", ".3f"),
                ("points", "points", ".2f"),
            ]
            cards.append(
                f'<div class="card"><h3>{_e(f["name"])} — IV {f["iv"]:.3f}, '
                f"trend {_e(f['trend'])}, "
                f"CSI {f['csi']:.4f} ({_e(f['csi_reading'])})</h3>{chart}{woe_chart}"
                f"{_table(rows, cols)}</div>"
            )
        sections.append('<div class="grid">' + "".join(cards) + "</div>")
    else:
        imp = data.get("importance", [])
        chart = bar_chart(
            [r["feature"] for r in imp[:20]],
            [("gain share", [r["gain_share"] for r in imp[:20]], _BLUE)],
            "share of total gain",
        )
        cons = data.get("monotone_constraints", {})
        rows = [
            {
                "feature": r["feature"],
                "gain": r["gain_share"],
                "constraint": cons.get(r["feature"], 0),
            }
            for r in imp
        ]
        sections.append(
            f"<h2>Feature importance (best iteration {_fmt(data.get('best_iteration'))})</h2>"
            f'<div class="grid"><div class="card">{chart}</div><div>'
            + _table(
                rows,
                [
                    ("feature", "feature", ""),
                    ("gain", "gain share", ".4f"),
                    ("constraint", "monotone", ""),
                ],
            )
            + "</div></div>"
        )
    if data.get("dropped"):
        rows = [{"column": k, "why": v} for k, v in data["dropped"].items()]
        sections.append(
            "<h2>Columns left out</h2>"
            + _table(rows, [("column", "column", ""), ("why", "why", "")])
        )
    libs = ", ".join(f"{k} {v}" for k, v in (data.get("libraries") or {}).items())
    head = (
        f"<h1>Model validation report — {_e(kind)}</h1>"
        f'<p class="note">Artifact {_e(data.get("artifact", ""))}, '
        f"data {_e(data.get('data_path', ''))}, target {_e(data.get('target', ''))}; "
        f"fitted {_e(data.get('created', ''))} with {_e(libs)}. "
        f"Split at fit: {_e(data.get('split', ''))}.</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ruleplus model report</title><style>{_CSS}</style></head><body>"
        + head
        + "".join(sections)
        + "</body></html>\n"
    )
