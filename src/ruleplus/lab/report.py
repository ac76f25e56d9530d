"""Self-contained HTML reports of the lab's results (inline SVG charts, no JavaScript).

Presentation only: each function renders a result dict that the calculations returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruleplus.charts import (
    BLUE,
    GREEN,
    GREY,
    RED,
    bar_chart,
    escape,
    heat_map,
    html_page,
    html_table,
    line_chart,
    marked_curve,
)

__all__ = ["backtest_report", "compare_report", "monitor_report", "sweep_report"]

_COLOURS = (BLUE, RED, GREEN, GREY, "#8e44ad", "#d35400")


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.2%}"


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(value)


_page = html_page
_table = html_table


def _kpis(items: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<span class='kpi'><b>{v}</b>{escape(k)}</span>" for k, v in items)


def _card(title: str, svg: str) -> str:
    return f"<div class='card'><h3>{escape(title)}</h3>{svg}</div>"


def _name(info: dict[str, Any]) -> str:
    params = info.get("parameters") or {}
    extra = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{info['id']} {info['version']}" + (f" ({extra})" if extra else "")


def backtest_report(result: dict[str, Any]) -> str:
    """A backtest (``ruleplus lab backtest --report``): rates, swap set heat map, reasons,
    approval rate over time and the segment table."""
    a = _name(result["strategy"])
    body = [
        f"<p class='note'>strategy A: {escape(a)}"
        + (f"; B: {escape(_name(result['against']['strategy']))}" if "against" in result else "")
        + f"; {result['n']:,} applications</p>",
        _kpis(
            [
                ("approval rate", _pct(result["approval_rate"])),
                ("refer rate", _pct(result["refer_rate"])),
                ("decline rate", _pct(result["decline_rate"])),
                ("bad rate among approved", _pct(result["bad_rate_approved"])),
                ("expected bad rate", _pct(result["expected_bad_rate_approved"])),
                ("errors", f"{result['errors']:,}"),
            ]
        ),
    ]
    cards = []
    if "swap_set" in result:
        b = result["against"]
        body.append(
            _kpis(
                [
                    ("B approval rate", _pct(b["approval_rate"])),
                    ("B bad rate among approved", _pct(b["bad_rate_approved"])),
                ]
            )
        )
        cells = result["swap_set"]
        rows = sorted({str(c["a"]) for c in cells})
        cols = sorted({str(c["b"]) for c in cells})
        total = max(result["n"], 1)
        share: list[list[float | None]] = [[None] * len(cols) for _ in rows]
        bad: list[list[float | None]] = [[None] * len(cols) for _ in rows]
        for c in cells:
            i, j = rows.index(str(c["a"])), cols.index(str(c["b"]))
            share[i][j] = c["count"] / total
            bad[i][j] = c["bad_rate"]
        cards.append(
            _card(
                "swap set: share of applications (rows A, columns B)",
                heat_map(rows, cols, share, "strategy B", "strategy A"),
            )
        )
        if any(v is not None for row in bad for v in row):
            cards.append(
                _card(
                    "swap set: bad rate per cell",
                    heat_map(rows, cols, bad, "strategy B", "strategy A"),
                )
            )
        body.append("<h2>Swap set</h2>")
        body.append(
            _table(
                ["A", "B", "count", "share", "bad rate", "expected bad rate"],
                [
                    [
                        escape(c["a"]),
                        escape(c["b"]),
                        f"{c['count']:,}",
                        _pct(c["count"] / total),
                        _pct(c["bad_rate"]),
                        _pct(c["expected_bad_rate"]),
                    ]
                    for c in cells
                ],
            )
        )
    reasons = (result["decline_reasons"] or [])[:15]
    if reasons:
        cards.append(
            _card(
                "decline reasons (share of declined applications)",
                bar_chart(
                    [r["code"] for r in reasons],
                    [("share", [r["share"] for r in reasons], BLUE)],
                    "share",
                ),
            )
        )
    months = result.get("by_month") or []
    if months:
        xs = [float(i) for i in range(len(months))]
        series = [("A", xs, [m["approval_rate"] or 0.0 for m in months], BLUE)]
        if "b_approval_rate" in months[0]:
            series.append(("B", xs, [m["b_approval_rate"] or 0.0 for m in months], RED))
        cards.append(
            _card(
                f"approval rate by month ({months[0]['month']} to {months[-1]['month']})",
                line_chart(series, "month (from the first)", "approval rate"),
            )
        )
    body.append("<div class='grid'>" + "".join(cards) + "</div>")
    if reasons:
        body.append("<h2>Decline reasons</h2>")
        body.append(
            _table(
                ["code", "text", "count", "share"],
                [
                    [escape(r["code"]), escape(r["text"]), f"{r['count']:,}", _pct(r["share"])]
                    for r in result["decline_reasons"]
                ],
            )
        )
    for key, title, first in (
        ("by_segment", "By segment", ("segment", "value")),
        ("by_month", "By month", ("month",)),
    ):
        rows_ = result.get(key) or []
        if not rows_:
            continue
        extra = ["B approval rate", "B bad rate"] if "b_approval_rate" in rows_[0] else []
        body.append(f"<h2>{title}</h2>")
        body.append(
            _table(
                [
                    *first,
                    "n",
                    "approval rate",
                    "refer rate",
                    "decline rate",
                    "bad rate among approved",
                    *extra,
                ],
                [
                    [
                        *(escape(r[f]) for f in first),
                        f"{r['n']:,}",
                        _pct(r["approval_rate"]),
                        _pct(r["refer_rate"]),
                        _pct(r["decline_rate"]),
                        _pct(r["bad_rate_approved"]),
                        *(
                            [_pct(r["b_approval_rate"]), _pct(r["b_bad_rate_approved"])]
                            if extra
                            else []
                        ),
                    ]
                    for r in rows_
                ],
            )
        )
    return _page(f"Backtest: {a}", body)


def sweep_report(result: dict[str, Any]) -> str:
    """A what-if sweep: the strategy curve with the value in force marked, and the table."""
    points = result["points"]
    param = result["param"]["name"]
    marked = next((i for i, p in enumerate(points) if p["current"]), None)
    use_bad = all(p["bad_rate_approved"] is not None for p in points)
    key = "bad_rate_approved" if use_bad else "expected_bad_rate_approved"
    cards = []
    if all(p[key] is not None for p in points):
        cards.append(
            _card(
                "strategy curve: approval rate against bad rate among approved",
                marked_curve(
                    [p["approval_rate"] for p in points],
                    [p[key] for p in points],
                    "approval rate",
                    "bad rate among approved" if use_bad else "expected bad rate",
                    labels=[f"{param}={p['value']}" for p in points],
                    marked=marked,
                ),
            )
        )
    if all(p["expected_loss"] is not None for p in points):
        cards.append(
            _card(
                "expected loss against approval rate",
                marked_curve(
                    [p["approval_rate"] for p in points],
                    [float(p["expected_loss"]) for p in points],
                    "approval rate",
                    "expected loss",
                    labels=[f"{param}={p['value']}" for p in points],
                    marked=marked,
                    color=GREEN,
                ),
            )
        )
    table = _table(
        [
            param,
            "approval rate",
            "bad rate among approved",
            "expected bad rate",
            "expected loss",
            "loss rate",
            "",
        ],
        [
            [
                _num(p["value"]),
                _pct(p["approval_rate"]),
                _pct(p["bad_rate_approved"]),
                _pct(p["expected_bad_rate_approved"]),
                _num(p["expected_loss"]),
                _pct(p["loss_rate"]),
                "current" if p["current"] else "",
            ]
            for p in points
        ],
    )
    name = _name(result["strategy"])
    return _page(
        f"What-if: {param} ({name})",
        [
            f"<p class='note'>{escape(result['param'].get('description', ''))}</p>",
            "<div class='grid'>" + "".join(cards) + "</div>",
            table,
        ],
    )


def monitor_report(result: dict[str, Any]) -> str:
    """Monitoring: index per column with its level, PSI and approval rate over time."""
    body = [
        f"<p class='note'>baseline {result['baseline_n']:,} rows, current "
        f"{result['current_n']:,} rows; levels: stable {escape(result['levels']['stable'])}, "
        f"watch {escape(result['levels']['watch'])}, act {escape(result['levels']['act'])}</p>"
    ]
    if "approval" in result:
        ap = result["approval"]
        body.append(
            _kpis(
                [
                    ("baseline approval rate", _pct(ap["baseline_rate"])),
                    ("current approval rate", _pct(ap["current_rate"])),
                    ("change", f"{ap['difference']:+.2%}"),
                    ("level", escape(ap["level"])),
                ]
            )
        )
    cols = result["columns"]
    cards = [
        _card(
            "stability index per column",
            bar_chart(
                [c["column"] for c in cols[:20]],
                [("index", [c["psi"] for c in cols[:20]], BLUE)],
                "PSI / CSI",
            ),
        )
    ]
    windows = result.get("windows") or []
    if windows:
        xs = [float(i) for i in range(len(windows))]
        top = [c["column"] for c in cols[:6]]
        series = [
            (name, xs, [w["psi"][name] for w in windows], _COLOURS[k % len(_COLOURS)])
            for k, name in enumerate(top)
        ]
        span = f"{windows[0]['start'][:10]} to {windows[-1]['start'][:10]}"
        cards.append(
            _card(
                f"index per {result['window']} ({span})",
                line_chart(series, f"{result['window']} (from the first)", "index"),
            )
        )
        if "approval_rate" in windows[0]:
            cards.append(
                _card(
                    f"approval rate per {result['window']}",
                    line_chart(
                        [("approval rate", xs, [w["approval_rate"] for w in windows], GREEN)],
                        f"{result['window']} (from the first)",
                        "approval rate",
                    ),
                )
            )
    body.append("<div class='grid'>" + "".join(cards) + "</div>")
    body.append(
        _table(
            ["column", "role", "index", "value", "level"],
            [
                [escape(c["column"]), c["role"], c["index"], f"{c['psi']:.4f}", c["level"]]
                for c in cols
            ],
        )
    )
    return _page("Monitoring: stability against the baseline", body)


def compare_report(result: dict[str, Any]) -> str:
    """Champion/challenger: per-arm table and each challenger's verdict."""
    arms = _table(
        [
            "arm",
            "decisions",
            "approval rate",
            "95% interval",
            "with outcome",
            "bad rate",
            "95% interval",
        ],
        [
            [
                escape(a["arm"]),
                f"{a['n']:,}",
                _pct(a["approval_rate"]),
                " – ".join(_pct(v) for v in a["approval_rate_ci"] or []),
                f"{a['with_outcome']:,}",
                _pct(a["bad_rate"]),
                " – ".join(_pct(v) for v in a["bad_rate_ci"] or []),
            ]
            for a in result["arms"]
        ],
    )
    verdicts = "".join(
        f"<p><b>{escape(c['arm'])}</b>: {escape(c['verdict_text'])}</p>"
        for c in result["challengers"]
    )
    return _page("Champion / challenger", [arms, verdicts])
