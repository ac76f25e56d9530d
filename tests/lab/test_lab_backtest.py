"""Backtests count the engine's decisions: swap sets, segment and month rates recomputed from
per-row ``strategy.evaluate`` decisions (and from ``ruleplus batch`` output) must match exactly."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

from ruleplus.batch import decide_table
from ruleplus.cli.demo import example_strategy_path
from ruleplus.decision import CompiledStrategy, compile_strategy, load_strategy
from ruleplus.errors import DataError
from ruleplus.lab import backtest
from ruleplus.lab import frames as lab_frames


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def _decisions(strategy: CompiledStrategy, rows: list[dict[str, Any]]) -> list[Any]:
    return [strategy.evaluate(r).decision for r in rows]


def _expected_swap(a: list[Any], b: list[Any], y: list[Any]) -> dict[tuple[Any, Any], tuple]:
    cells: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for da, db, yy in zip(a, b, y, strict=True):
        cells[(da, db)].append(yy)
    out = {}
    for key, ys in cells.items():
        known = [v for v in ys if v is not None]
        out[key] = (len(ys), sum(known) / len(known) if known else None)
    return out


def _expected_groups(
    keys: list[Any], a: list[Any], y: list[Any]
) -> dict[Any, dict[str, float | None]]:
    groups: dict[Any, list[tuple[Any, Any]]] = defaultdict(list)
    for k, d, yy in zip(keys, a, y, strict=True):
        groups[k].append((d, yy))
    out = {}
    for k, items in groups.items():
        n = len(items)
        count = Counter(d for d, _ in items)
        bad = [yy for d, yy in items if d == "approve" and yy is not None]
        out[k] = {
            "n": n,
            "approval_rate": count["approve"] / n,
            "refer_rate": count["refer"] / n,
            "decline_rate": count["decline"] / n,
            "bad_rate_approved": sum(bad) / len(bad) if bad else None,
        }
    return out


def _variants(variant: Callable[..., CompiledStrategy], base: CompiledStrategy) -> list[Any]:
    def stricter_knockouts(node: dict[str, Any]) -> None:
        node["rules"][3]["when"] = "monthlyIncome < 2500"

    def rescored(node: dict[str, Any]) -> None:
        node["characteristics"][1]["bins"][2]["points"] = 95

    return [
        base.with_parameters({"cutoff": 630}),
        base.with_parameters({"maxDti": 0.45, "cutoff": 580}),
        variant(knockouts=stricter_knockouts),
        variant(application_score=rescored),
    ]


def test_swap_set_segments_and_months_match_per_row_decisions(
    consumer_loan: CompiledStrategy,
    variant: Callable[..., CompiledStrategy],
    applications: pl.DataFrame,
) -> None:
    rows = _rows(applications)
    y = applications["bad_12m"].to_list()
    a = _decisions(consumer_loan, rows)
    for other in _variants(variant, consumer_loan):
        b = _decisions(other, rows)
        assert a != b  # the variant changes some decisions
        result = backtest(
            consumer_loan,
            applications,
            against=other,
            outcome="bad_12m",
            segments=["partner", "channel", "product"],
            month="applicationTime",
        )
        assert result["n"] == len(rows) and result["errors"] == 0
        overall = _expected_groups([None] * len(rows), a, y)[None]
        for key in ("approval_rate", "refer_rate", "decline_rate", "bad_rate_approved"):
            assert result[key] == overall[key]
        assert result["against"]["approval_rate"] == Counter(b)["approve"] / len(b)
        swap = {(c["a"], c["b"]): (c["count"], c["bad_rate"]) for c in result["swap_set"]}
        assert swap == _expected_swap(a, b, y)
        assert all(c["count"] > 0 for c in result["swap_set"])
        for name in ("partner", "channel", "product"):
            got = {
                r["value"]: {k: r[k] for k in overall}
                for r in result["by_segment"]
                if r["segment"] == name
            }
            assert got == _expected_groups(applications[name].to_list(), a, y)
        months = [t.strftime("%Y-%m") for t in applications["applicationTime"].to_list()]
        got_months = {r["month"]: {k: r[k] for k in overall} for r in result["by_month"]}
        assert got_months == _expected_groups(months, a, y)


def test_backtest_rates_equal_batch_output(
    consumer_loan: CompiledStrategy,
    variant: Callable[..., CompiledStrategy],
    applications: pl.DataFrame,
    tmp_path: Path,
) -> None:
    other = consumer_loan.with_parameters({"cutoff": 615, "minIncome": 1500})
    source = tmp_path / "apps.parquet"
    applications.write_parquet(source)
    out_a, out_b = tmp_path / "a.csv", tmp_path / "b.csv"
    decide_table(consumer_loan, source, out_a, keep=("applicantId", "channel", "bad_12m"))
    decide_table(other, source, out_b, keep=("applicantId",))
    da, db = pd.read_csv(out_a), pd.read_csv(out_b)
    assert (da["applicantId"] == db["applicantId"]).all()
    frame = pd.DataFrame(
        {"a": da["decision"], "b": db["decision"], "y": da["bad_12m"], "seg": da["channel"]}
    )
    result = backtest(
        consumer_loan, applications, against=other, outcome="bad_12m", segments=["channel"]
    )
    assert result["approval_rate"] == (frame["a"] == "approve").sum() / len(frame)
    assert result["decline_rate"] == (frame["a"] == "decline").sum() / len(frame)
    cells = frame.groupby(["a", "b"]).agg(
        count=("y", "size"), bad=("y", "sum"), known=("y", "count")
    )
    expected = {k: (int(r["count"]), r["bad"] / r["known"]) for k, r in cells.iterrows()}
    assert {(c["a"], c["b"]): (c["count"], c["bad_rate"]) for c in result["swap_set"]} == expected
    approved = frame[frame["a"] == "approve"]
    per_channel = {}
    for ch, g in frame.groupby("seg"):
        ys = approved[approved["seg"] == ch]["y"]
        per_channel[ch] = (len(g), (g["a"] == "approve").sum() / len(g), ys.sum() / ys.count())
    got = {
        r["value"]: (r["n"], r["approval_rate"], r["bad_rate_approved"])
        for r in result["by_segment"]
    }
    assert got == per_channel


def test_reference_applications_nested_inputs_with_refer(shared_dir: Path) -> None:
    strategy = load_strategy(example_strategy_path("reference_loan.yaml"))
    lines = pl.read_ndjson(shared_dir / "benchmarks" / "reference-loan-applications.jsonl")
    text = example_strategy_path("reference_loan.yaml").read_text(encoding="utf-8")
    looser = compile_strategy(
        text.replace(
            '["< 500", -, -, -, -, -, decline, X, R02]', '["< 560", -, -, -, -, -, decline, X, R02]'
        )
    )
    result = backtest(strategy, lines, against=looser, segments=["residentialStatus"])
    inputs = [r["input"] for r in lines.to_dicts()]
    a, b = _decisions(strategy, inputs), _decisions(looser, inputs)
    assert result["n"] == len(inputs) == 2000
    assert result["refer_rate"] == Counter(a)["refer"] / len(a) > 0
    assert {(c["a"], c["b"]): c["count"] for c in result["swap_set"]} == Counter(
        zip(a, b, strict=True)
    )
    # the engine's decisions are the ones the reference file expects
    expected = [r["expected"]["decision"] for r in lines.to_dicts()]
    assert result["approval_rate"] == Counter(expected)["approve"] / len(expected)
    by_status = {r["value"]: r["n"] for r in result["by_segment"]}
    assert by_status == Counter(i["residentialStatus"] for i in inputs)


def test_decline_reasons_count_declined_rows(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    result = backtest(consumer_loan, applications)
    declined = [consumer_loan.evaluate(r) for r in _rows(applications)]
    declined = [d for d in declined if d.decision == "decline"]
    counts = Counter(code for d in declined for code in {r.code for r in d.reasons})
    got = {r["code"]: (r["count"], r["share"]) for r in result["decline_reasons"]}
    assert got == {c: (k, k / len(declined)) for c, k in counts.items()}
    assert result["decline_reasons"][0]["text"]  # from the strategy's catalogue


def test_chunked_decisions_and_expected_bad_rate(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = backtest(consumer_loan, applications, expected="defaultProb")
    monkeypatch.setattr(lab_frames, "CHUNK_ROWS", 999)
    seen: list[tuple[int, int]] = []
    chunked = backtest(
        consumer_loan,
        applications,
        expected="defaultProb",
        progress=lambda d, t: seen.append((d, t)),
    )
    assert chunked == whole
    assert seen[-1] == (applications.height, applications.height) and len(seen) == 7
    approved = [
        p
        for r, p in zip(_rows(applications), applications["defaultProb"], strict=True)
        if consumer_loan.evaluate(r).decision == "approve"
    ]
    assert whole["expected_bad_rate_approved"] == pytest.approx(sum(approved) / len(approved))
    assert whole["bad_rate_approved"] is None and whole["outcome_known_approved"] == 0


def test_bad_input_is_a_clear_error(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    with pytest.raises(DataError, match="no outcome column 'nope'"):
        backtest(consumer_loan, applications, outcome="nope")
    odd = applications.with_columns(pl.lit(2).alias("bad"))
    with pytest.raises(DataError, match="must hold 0 or 1"):
        backtest(consumer_loan, odd, outcome="bad")
    words = applications.with_columns(
        pl.col("bad_12m").cast(pl.String).replace({"1": "true", "0": "false"}).alias("word")
    )
    assert backtest(consumer_loan, words, outcome="word") == {
        **backtest(consumer_loan, applications, outcome="bad_12m"),
        "outcome": "word",
    }
    text = applications.with_columns(pl.lit("bad").alias("bad"))
    with pytest.raises(DataError, match="got 'bad'"):
        backtest(consumer_loan, text, outcome="bad")
    with pytest.raises(DataError, match="probabilities"):
        backtest(consumer_loan, applications, expected="partner")
    with pytest.raises(DataError, match="segment"):
        backtest(consumer_loan, applications, segments=["nowhere"])
    with pytest.raises(DataError, match="dates"):
        backtest(consumer_loan, applications, month="partner")


def test_rows_failing_the_schema_count_as_errors(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    broken = applications.head(100).with_columns(
        pl.when(pl.int_range(pl.len()) < 10).then(-5).otherwise(pl.col("age")).alias("age")
    )
    result = backtest(consumer_loan, broken, segments=["arm"])
    assert result["errors"] == 10 and result["decisions"]["error"] == 10
    assert sum(v for k, v in result["decisions"].items()) == 100
    arms = {r["value"] for r in result["by_segment"]}
    assert {"champion", "challenger"} <= arms  # a strategy output works as a segment


def test_without_reasons_only_the_reason_distribution_is_left_out(
    consumer_loan: CompiledStrategy, applications: pl.DataFrame
) -> None:
    other = consumer_loan.with_parameters({"cutoff": 640})
    options: dict[str, Any] = {"against": other, "outcome": "bad_12m", "segments": ["arm"]}
    full = backtest(consumer_loan, applications, **options)
    quick = backtest(consumer_loan, applications, reasons=False, **options)
    assert quick["decline_reasons"] is None and full["decline_reasons"]
    assert {**quick, "decline_reasons": full["decline_reasons"]} == full
