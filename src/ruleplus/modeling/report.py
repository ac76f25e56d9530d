"""The HTML validation report: one self-contained file, charts drawn as inline SVG.

Presentation only: it draws what :func:`ruleplus.modeling.validation.validation_data` computed
and computes nothing a model computes. Inline SVG (rather than a plotting library) keeps the file
small, needs no JavaScript and nothing from the network when it is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruleplus.charts import BLUE, GREEN, GREY, RED, REPORT_CSS, bar_chart, line_chart
from ruleplus.charts import escape as _e

__all__ = ["render_report"]


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


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for _, title, _ in columns)
    body = []
    for row in rows:
        cells = "".join(f"<td>{_fmt(row.get(key), spec)}</td>" for key, _, spec in columns)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


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
            [("ROC", roc["fpr"], roc["tpr"], BLUE)],
            "false-positive rate (goods)",
            "true-positive rate (bads)",
            diagonal=True,
        ),
        line_chart(
            [
                ("bads", ks["population"], ks["cum_bads"], RED),
                ("goods", ks["population"], ks["cum_goods"], GREEN),
            ],
            f"share of population, riskiest first (KS {gap[at]:.3f} at {ks['population'][at]:.2f})",
            "cumulative share",
        ),
    ]
    hist = data["score_hist"]
    mids = [(a + b) / 2 for a, b in zip(hist["edges"][:-1], hist["edges"][1:], strict=True)]
    charts.append(
        line_chart(
            [("goods", mids, hist["goods"], GREEN), ("bads", mids, hist["bads"], RED)],
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
            ("predicted PD", [r["predicted_pd"] for r in cal], BLUE),
            ("observed bad rate", [r["observed_bad_rate"] for r in cal], RED),
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
                ("train", [r["expected_share"] for r in table], GREY),
                ("this data", [r["actual_share"] for r in table], BLUE),
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
                [("train share", f["train_share"], GREY), ("this data", f["data_share"], BLUE)],
                "share of rows",
                line=("train event rate", f["train_event_rate"], RED),
            )
            woe_chart = bar_chart(f["labels"], [("WOE", f["woe"], GREEN)], "WOE")
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
            [("gain share", [r["gain_share"] for r in imp[:20]], BLUE)],
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
        f"<title>ruleplus model report</title><style>{REPORT_CSS}</style></head><body>"
        + head
        + "".join(sections)
        + "</body></html>\n"
    )
