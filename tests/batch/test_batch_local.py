"""A table decided in chunks: the same decisions as one record at a time, progress per chunk,
bad rows kept with their reason, nested inputs unwrapped."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ruleplus.batch import decide_table, unwrap_inputs
from ruleplus.batch import local as batch_local
from ruleplus.cli.demo import example_strategy_path
from ruleplus.datasets import synth_applications
from ruleplus.decision import CompiledStrategy, load_strategy
from ruleplus.errors import DataError


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return load_strategy(example_strategy_path("reference_loan.yaml"))


def test_chunks_agree_with_one_record_at_a_time(
    strategy: CompiledStrategy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_local, "CHUNK_ROWS", 37)  # several chunks and a short last one
    frame = synth_applications(200, seed=11)
    source = tmp_path / "in.parquet"
    frame.write_parquet(source)
    seen: list[tuple[int, int]] = []
    summary = decide_table(
        strategy,
        source,
        tmp_path / "out.parquet",
        keep=("applicantId",),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert summary.rows == 200 and summary.errors == 0
    assert seen == [(min(n, 200), 200) for n in range(37, 237, 37)]
    out = pl.read_parquet(tmp_path / "out.parquet")
    for record, row in zip(frame.to_dicts(), out.to_dicts(), strict=True):
        assert row["applicantId"] == record["applicantId"]
        assert row[strategy.decision_field] == strategy.evaluate(record).decision
    assert sum(summary.decisions.values()) == 200


def test_bad_rows_keep_their_reason_and_jsonl_leaves_nulls_out(
    strategy: CompiledStrategy, tmp_path: Path
) -> None:
    rows = synth_applications(3, seed=2).to_dicts()
    rows[1]["creditScore"] = None
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r, default=str) for r in rows) + "\n", encoding="utf-8")
    summary = decide_table(strategy, source, tmp_path / "out.jsonl")
    assert summary.rows == 3 and summary.errors == 1
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert "creditScore" in written[1]["_error"]
    assert all(None not in r.values() for r in written)


def test_nested_inputs_are_unwrapped(strategy: CompiledStrategy) -> None:
    flat = synth_applications(4, seed=3)
    nested = pl.DataFrame({"id": [1, 2, 3, 4], "input": flat.to_dicts()})
    assert unwrap_inputs(nested, strategy, None).columns == flat.columns
    assert unwrap_inputs(flat, strategy, None) is flat
    with pytest.raises(DataError, match="no column"):
        unwrap_inputs(flat, strategy, "payload")
    with pytest.raises(DataError, match="must hold objects"):
        unwrap_inputs(nested, strategy, "id")


def test_a_csv_column_of_digits_declared_text_is_read_as_text(tmp_path: Path) -> None:
    consumer = load_strategy(example_strategy_path("consumer_loan.yaml"))
    frame = synth_applications(300, seed=5)
    assert frame["phone"].str.contains(r"^\d+$").all()  # digits: a CSV reader infers numbers
    source = tmp_path / "apps.csv"
    frame.write_csv(source)
    summary = decide_table(consumer, source, tmp_path / "out.parquet")
    assert summary.errors == 0
    expected = consumer.evaluate_frame(frame)["decision"].to_list()
    assert pl.read_parquet(tmp_path / "out.parquet")["decision"].to_list() == expected
