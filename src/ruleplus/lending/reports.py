"""Self-contained HTML reports (inline SVG) for roll rates, vintages and the collections queue.

Presentation only: each function takes the computed objects and renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
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
)
from ruleplus.lending.delinquency import BUCKETS
from ruleplus.lending.rollrate import RollRates
from ruleplus.lending.vintage import Vintages

__all__ = [
    "collections_report",
    "rollrate_report",
    "vintage_report",
    "write_report",
]

_PALETTE = (BLUE, RED, GREEN, "#8e44ad", "#e67e22", "#16a085", "#34495e", GREY)


_page = html_page


def _table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    return html_table(header, [[escape(_fmt(v)) for v in row] for row in rows])


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2%}" if abs(value) <= 1 else f"{value:,.2f}"
    return str(value)


def _spread(labels: Sequence[Any], most: int) -> list[int]:
    """Indices of at most ``most`` labels spread evenly (first and last kept)."""
    n = len(labels)
    if n <= most:
        return list(range(n))
    return sorted({round(k * (n - 1) / (most - 1)) for k in range(most)})


def rollrate_report(rolls: RollRates, source: str = "") -> str:
    """HTML: the roll-rate heat map, counts, cure and flow rates, and their trend by month."""
    body = [f'<p class="note">{escape(source)} · {int(rolls.counts.sum()):,} transitions</p>']
    body.append("<h2>Roll rates (bucket this month → next month)</h2>")
    body.append(
        heat_map(BUCKETS, BUCKETS, [r or [None] * 7 for r in rolls.rates], "next month", "month m")
    )
    body.append("<h3>Counts</h3>")
    body.append(
        _table(
            ["from \\ to", *BUCKETS],
            [[b, *row] for b, row in zip(BUCKETS, rolls.counts.tolist(), strict=True)],
        )
    )
    cure, flow = rolls.cure_rates(), rolls.flow_rates()
    body.append("<h2>Cure and flow rates</h2>")
    body.append(_table(["bucket", "cure rate (→ current)"], list(cure.items())))
    body.append(_table(["flow", "rate"], list(flow.items())))
    if rolls.months:
        months = list(range(len(rolls.months)))
        series = []
        for k, name in enumerate(("current->M1", "M1->M2", "M2->M3")):
            ys = [rolls.flow_rates(m)[name] for m in rolls.by_month]
            xs = [x for x, y in zip(months, ys, strict=True) if y is not None]
            series.append((name, xs, [y for y in ys if y is not None], _PALETTE[k]))
        cure_series = []
        for k, name in enumerate(("M1", "M2", "M3")):
            ys = [rolls.cure_rates(m)[name] for m in rolls.by_month]
            xs = [x for x, y in zip(months, ys, strict=True) if y is not None]
            cure_series.append((f"cure {name}", xs, [y for y in ys if y is not None], _PALETTE[k]))
        body.append("<h2>Over time</h2>")
        body.append(
            f'<p class="note">x: month index from {escape(rolls.months[0])} to '
            f"{escape(rolls.months[-1])}</p>"
        )
        body.append(line_chart(series, "month", "flow rate"))
        body.append(line_chart(cure_series, "month", "cure rate"))
    if rolls.cohorts:
        body.append("<h2>By cohort (M1 → M2 and M1 cure)</h2>")
        rows = []
        for label, m in zip(rolls.cohorts, rolls.by_cohort, strict=True):
            rows.append(
                [label, int(m.sum()), rolls.flow_rates(m)["M1->M2"], rolls.cure_rates(m)["M1"]]
            )
        body.append(_table(["cohort", "transitions", "M1→M2", "M1 cure"], rows))
    return _page("Roll rates", body)


def vintage_report(vint: Vintages, source: str = "", most_curves: int = 3) -> str:
    """HTML: vintage curves (ever 30+ / 60+ / 90+ by months on book) of a spread of cohorts
    (a chart's legend holds three), a cohort x mob heat map of ever 30+, and every cell."""
    curves30 = vint.curves("ever_30")
    cohorts = list(curves30)
    chosen = [cohorts[i] for i in _spread(cohorts, most_curves)]
    body = [
        f'<p class="note">{escape(source)} · {len(cohorts)} cohorts, {len(vint.cells)} cells</p>'
    ]
    for measure in ("ever_30", "ever_60", "ever_90"):
        curves = vint.curves(measure)
        series = [
            (f"cohort {c}", curves[c][0], curves[c][1], _PALETTE[k % len(_PALETTE)])
            for k, c in enumerate(chosen)
        ]
        body.append(f"<h2>Vintage curves: {escape(measure)}</h2>")
        body.append(line_chart(series, "months on book", f"share {measure}"))
    if cohorts:
        body.append("<h2>Ever 30+ by cohort and months on book</h2>")
        rows = [cohorts[i] for i in _spread(cohorts, 20)]
        width = max(max(mobs) for mobs, _ in curves30.values())
        mobs = list(range(0, width + 1, max(1, round(width / 10))))
        cells = {
            (c, m): share
            for c, (ms, shares) in curves30.items()
            for m, share in zip(ms, shares, strict=True)
        }
        matrix = [[cells.get((c, m)) for m in mobs] for c in rows]
        body.append(
            heat_map(
                [str(c) for c in rows], [str(m) for m in mobs], matrix, "months on book", "cohort"
            )
        )
    body.append("<h2>Cells</h2>")
    body.append(
        _table(
            ["cohort", "mob", "accounts", "ever_30", "ever_60", "ever_90"],
            [
                [c["cohort"], c["mob"], c["accounts"], c["ever_30"], c["ever_60"], c["ever_90"]]
                for c in vint.to_dict()["vintages"]
            ],
        )
    )
    return _page("Vintages", body)


def collections_report(
    queue: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]] = (), source: str = ""
) -> str:
    """HTML: the queue by action and bucket (accounts, balance, expected recovery), the top of
    the queue, and, when events are given, promises kept and amounts paid by action."""
    by_action: dict[str, list[float]] = {}
    for item in queue:
        acc = by_action.setdefault(str(item["action"]), [0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += float(item["balance"])
        acc[2] += float(item["expected_recovery"])
    actions = sorted(by_action)
    body = [f'<p class="note">{escape(source)} · {len(queue)} accounts in the queue</p>']
    body.append("<h2>By action</h2>")
    body.append(
        bar_chart(
            actions,
            [
                ("balance", [by_action[a][1] for a in actions], BLUE),
                ("expected recovery", [by_action[a][2] for a in actions], GREEN),
            ],
            "amount",
        )
    )
    body.append(
        _table(
            ["action", "accounts", "balance", "expected recovery"],
            [[a, *by_action[a]] for a in actions],
        )
    )
    by_bucket: dict[str, int] = {}
    for item in queue:
        by_bucket[str(item["bucket"])] = by_bucket.get(str(item["bucket"]), 0) + 1
    body.append("<h2>By bucket</h2>")
    body.append(
        _table(["bucket", "accounts"], [[b, by_bucket[b]] for b in BUCKETS if b in by_bucket])
    )
    body.append("<h2>Top of the queue</h2>")
    body.append(
        _table(
            [
                "rank",
                "account",
                "bucket",
                "action",
                "balance",
                "p(pay)",
                "cost",
                "expected recovery",
            ],
            [
                [
                    q["rank"],
                    q["account_id"],
                    q["bucket"],
                    q["action"],
                    q["balance"],
                    q["pay_probability"],
                    q["action_cost"],
                    q["expected_recovery"],
                ]
                for q in queue[:50]
            ],
        )
    )
    if events:
        body.append("<h2>Collections performance</h2>")
        body.append(_performance(events))
    return _page("Collections queue", body)


def _performance(events: Sequence[dict[str, Any]]) -> str:
    from ruleplus.lending.collections import collections_performance

    table = collections_performance(events)
    actions = list(table)
    chart = bar_chart(
        actions,
        [("paid", [float(table[a]["paid"]) for a in actions], GREEN)],
        "amount paid",
        line=("pay rate", [table[a]["pay_rate"] for a in actions], RED),
    )
    rows = [
        [a, r["actions"], r["promises"], r["payments"], r["paid"], r["pay_rate"]]
        for a, r in table.items()
    ]
    return chart + _table(["action", "actions", "promises", "payments", "paid", "pay rate"], rows)


def write_report(html: str, path: str | Path) -> Path:
    """Write ``html`` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(html, encoding="utf-8")
    return out
