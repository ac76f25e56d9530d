"""Charts as inline SVG for the HTML reports (model validation, identity evaluation).

Hand-written rather than a plotting library so that a report is one small self-contained file
that needs no JavaScript and loads nothing from the network when it is opened, and so that the
package needs no plotting dependency.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BLUE",
    "GREEN",
    "GREY",
    "RED",
    "REPORT_CSS",
    "bar_chart",
    "escape",
    "heat_map",
    "html_page",
    "html_table",
    "line_chart",
    "marked_curve",
]

_W, _H = 440, 280
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 52, 16, 16, 40
BLUE, RED, GREY, GREEN = "#2f6db5", "#c0392b", "#999999", "#2e8b57"


#: The stylesheet the HTML reports share (model validation, identity evaluation, benchmarks).
REPORT_CSS = """
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


def escape(value: Any) -> str:
    """``value`` as text safe inside HTML or SVG (quotes included)."""
    return html.escape(str(value), quote=True)


_e = escape


def html_page(title: str, body: Sequence[str]) -> str:
    """A self-contained report page: ``title`` as heading, then the ``body`` fragments."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{REPORT_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>" + "".join(body) + "</body></html>"
    )


def html_table(headers: Sequence[Any], rows: Sequence[Sequence[str]]) -> str:
    """A table of already-rendered (escaped) cells under escaped ``headers``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


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
            f'stroke="{GREY}" stroke-dasharray="4 3"/>'
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


def _heat_colour(frac: float) -> str:
    """White (0) to red (1)."""
    f = min(max(frac, 0.0), 1.0)
    g = round(255 - (255 - 57) * f)
    b = round(255 - (255 - 43) * f)
    r = round(255 - (255 - 192) * f)
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_map(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    xlabel: str = "",
    ylabel: str = "",
    fmt: str = ".1%",
    vmax: float | None = None,
) -> str:
    """A matrix of coloured cells (white = 0 to red = ``vmax``, default the largest value),
    each showing its value in ``fmt``; ``None`` cells are grey and empty (e.g. roll rates:
    rows = bucket this month, columns = bucket next month)."""
    known = [v for row in values for v in row if v is not None]
    top = vmax if vmax is not None else max(known, default=1.0)
    top = top if top > 0 else 1.0
    cell, left, head = 52, 64, 36
    width = left + cell * max(len(col_labels), 1) + 8
    height = head + cell * max(len(row_labels), 1) + 28
    parts = []
    for j, label in enumerate(col_labels):
        x = left + cell * (j + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{head - 6}" font-size="11" text-anchor="middle">'
            f"{_e(label)}</text>"
        )
    for i, label in enumerate(row_labels):
        y = head + cell * i
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4:.1f}" font-size="11" '
            f'text-anchor="end">{_e(label)}</text>'
        )
        for j, v in enumerate(values[i]):
            x = left + cell * j
            fill = "#eeeeee" if v is None else _heat_colour(v / top)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                f'stroke="#fff"><title>{_e(label)} -> {_e(col_labels[j])}: '
                f"{'n/a' if v is None else format(v, fmt)}</title></rect>"
            )
            if v is not None:
                dark = v / top > 0.6
                parts.append(
                    f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" font-size="10" '
                    f'text-anchor="middle" fill="{"#fff" if dark else "#222"}">'
                    f"{format(v, fmt)}</text>"
                )
    parts.append(
        f'<text x="{left + cell * len(col_labels) / 2:.1f}" y="{height - 8}" font-size="11" '
        f'text-anchor="middle">{_e(xlabel)}</text>'
    )
    parts.append(
        f'<text x="12" y="{head + cell * len(row_labels) / 2:.1f}" font-size="11" '
        f'text-anchor="middle" transform="rotate(-90 12 {head + cell * len(row_labels) / 2:.1f})">'
        f"{_e(ylabel)}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">' + "".join(parts) + "</svg>"
    )


def marked_curve(
    xs: Sequence[float],
    ys: Sequence[float],
    xlabel: str,
    ylabel: str,
    labels: Sequence[str] | None = None,
    marked: int | None = None,
    color: str = BLUE,
) -> str:
    """A curve through ``(xs[i], ys[i])`` with a dot per point (its label as tooltip) and the
    point at index ``marked`` drawn large in red (e.g. a strategy curve: approval rate against
    bad rate, the cut-off in force marked)."""
    x0, x1 = min(xs, default=0.0), max(xs, default=1.0)
    y0, y1 = min(min(ys, default=0.0), 0.0), max(ys, default=1.0)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    parts = _axes(x0, x1, y0, y1, xlabel, ylabel)
    coords = [
        (_scale(x, x0, x1, _PAD_L, iw), _scale(y, y0, y1, _PAD_T, ih, True))
        for x, y in zip(xs, ys, strict=False)
    ]
    points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    for i, (cx, cy) in enumerate(coords):
        tip = labels[i] if labels is not None else f"{xs[i]:.4g}, {ys[i]:.4g}"
        big = i == marked
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{6 if big else 3}" '
            f'fill="{RED if big else color}"><title>{_e(tip)}</title></circle>'
        )
        if big:
            parts.append(
                f'<text x="{cx + 8:.1f}" y="{cy - 8:.1f}" font-size="11" fill="{RED}">'
                f"{_e(tip)}</text>"
            )
    return _svg(parts)
