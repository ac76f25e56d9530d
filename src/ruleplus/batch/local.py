"""Batch evaluation of a table file: read, decide in chunks with progress, write.

Shared by the CLI and the demo. Rows that fail the input schema are kept, with the reason in
``_error``; JSON lines output leaves out null fields (as a record-at-a-time decision does).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ruleplus.datasets import write_table
from ruleplus.decision import ERROR_COLUMN, CompiledStrategy
from ruleplus.errors import DataError
from ruleplus.lab import read_applications

__all__ = ["BatchSummary", "decide_table", "unwrap_inputs"]

CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did."""

    rows: int
    errors: int
    seconds: float
    decisions: dict[str, int]


def unwrap_inputs(
    frame: pl.DataFrame, strategy: CompiledStrategy, field: str | None
) -> pl.DataFrame:
    """Use the struct column ``field`` as the inputs.

    With ``field=None``: the column ``input``, when the inputs are nested there.
    """
    if field is None:
        wanted = set(strategy.input_fields)
        if wanted & set(frame.columns) or "input" not in frame.columns:
            return frame
        field = "input"
    if field not in frame.columns:
        raise DataError(f"no column {field!r} to take the inputs from", column=field)
    column = frame.get_column(field)
    if not isinstance(column.dtype, pl.Struct):
        raise DataError(f"column {field!r} must hold objects", column=field)
    return column.struct.unnest()


def decide_table(
    strategy: CompiledStrategy,
    source: Path,
    target: Path,
    *,
    reasons: bool = False,
    keep: tuple[str, ...] = (),
    input_field: str | None = None,
    keep_nulls: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Evaluate every row of ``source`` and write the outputs to ``target``.

    Parameters
    ----------
    strategy : CompiledStrategy
        The compiled strategy.
    source, target : Path
        Input and output tables (CSV, zipped CSV, JSON lines, JSON or Parquet).
    reasons : bool, default=False
        Add the reason codes (and the champion/challenger arm).
    keep : tuple of str
        Input columns copied to the output.
    input_field : str, optional
        Column holding the inputs as objects (default: ``input`` when that is where they are).
    keep_nulls : bool, default=False
        JSON lines: write null outputs as ``null`` instead of leaving them out.
    progress : callable, optional
        ``progress(done_rows, total_rows)`` after each chunk.
    """
    import time

    started = time.perf_counter()
    # a CSV column of digits that the strategy declares text (a phone, an id) is read as text
    frame = unwrap_inputs(read_applications(source, strategy), strategy, input_field)
    total = frame.height
    parts: list[pl.DataFrame] = []
    for offset in range(0, max(total, 1), CHUNK_ROWS):
        chunk = frame.slice(offset, CHUNK_ROWS)
        parts.append(strategy.evaluate_frame(chunk, reasons=reasons, keep=keep))
        if progress is not None:
            progress(min(offset + CHUNK_ROWS, total), total)
    result = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
    if target.name.lower().endswith((".jsonl", ".ndjson")) and not keep_nulls:
        _write_jsonl_compact(result, target)
    else:
        if target.name.lower().endswith((".csv", ".zip")):
            result = _flatten_lists(result)
        write_table(result, target)
    seconds = time.perf_counter() - started
    errors = int(result.get_column(ERROR_COLUMN).is_not_null().sum()) if total else 0
    decisions: dict[str, int] = {}
    if strategy.decision_field in result.columns:
        counts = result.get_column(strategy.decision_field).value_counts()
        decisions = {str(k): int(v) for k, v in counts.iter_rows()}
    return BatchSummary(total, errors, seconds, decisions)


def _flatten_lists(frame: pl.DataFrame) -> pl.DataFrame:
    lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
    return frame.with_columns(pl.col(c).list.join("|") for c in lists) if lists else frame


def _write_jsonl_compact(frame: pl.DataFrame, target: Path) -> None:
    def plain(value: Any) -> Any:
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        return value

    try:
        with target.open("w", encoding="utf-8") as out:
            for row in frame.iter_rows(named=True):
                record = {k: plain(v) for k, v in row.items() if v is not None}
                out.write(json.dumps(record, ensure_ascii=False, default=str))
                out.write("\n")
    except OSError as exc:
        raise DataError(f"cannot write {target}: {exc.strerror}", file=str(target)) from exc
