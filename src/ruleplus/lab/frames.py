"""Turn historical applications into the frame a strategy reads, and decide it in chunks.

The lab never re-implements a rule: every decision here is
:meth:`~ruleplus.decision.CompiledStrategy.evaluate_frame`'s, chunk by chunk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from ruleplus.datasets import read_table
from ruleplus.decision import ERROR_COLUMN, CompiledStrategy
from ruleplus.errors import DataError

__all__ = [
    "CHUNK_ROWS",
    "application_frame",
    "decide_frame",
    "expand_json_columns",
    "month_key",
    "read_applications",
]

#: Rows decided per call of ``evaluate_frame`` (progress moves once per chunk).
CHUNK_ROWS = 250_000

Progress = Callable[[int, int], None]


def application_frame(frame: pl.DataFrame, strategy: CompiledStrategy) -> pl.DataFrame:
    """``frame`` with the strategy's inputs as columns.

    When the inputs are nested in a struct column ``input`` (``{"input": {...}, ...}`` lines,
    as the reference applications are) and not at the top level, that column is unnested and
    the other top-level columns (outcomes, segments) are kept beside it.
    """
    wanted = set(strategy.input_fields)
    if wanted & set(frame.columns) or "input" not in frame.columns:
        return frame
    column = frame.get_column("input")
    if not isinstance(column.dtype, pl.Struct):
        raise DataError("column 'input' must hold objects (the application)", column="input")
    inner = column.struct.unnest()
    rest = frame.drop(["input", *[c for c in inner.columns if c in frame.columns]])
    return pl.concat([inner, rest], how="horizontal")


def read_applications(path: str | Path, *strategies: CompiledStrategy) -> pl.DataFrame:
    """Read a table of applications; text inputs of the strategies stay text.

    A CSV column of digits (a phone number, an id) is read as numbers by type inference; when
    a strategy declares it a string, the file is read again with that column as text, so
    leading zeros survive and the rows pass the input schema as they would in production.
    """
    frame = read_table(path)
    text = {
        name
        for strategy in strategies
        for name, spec in strategy.document.inputs.items()
        if spec.type == "string"
    }
    wrong = [c for c in text if c in frame.columns and frame.schema[c] != pl.String]
    if wrong and Path(path).name.lower().endswith((".csv", ".zip")):
        frame = read_table(path, schema_overrides={c: pl.String for c in wrong})
    return frame


def expand_json_columns(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Unnest the named columns holding JSON objects (text or dicts) into top-level columns.

    A key that is already a column keeps the column (the query's own value wins).
    """
    for name in columns:
        if name not in frame.columns:
            continue
        values = frame.get_column(name).to_list()
        records: list[dict[str, Any]] = []
        for number, value in enumerate(values, start=1):
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"row {number}: column {name!r} is not JSON: {exc.msg}", column=name
                    ) from exc
            if value is not None and not isinstance(value, dict):
                raise DataError(f"row {number}: column {name!r} is not an object", column=name)
            records.append(value or {})
        inner = pl.DataFrame(records, infer_schema_length=None) if records else pl.DataFrame()
        inner = inner.select([c for c in inner.columns if c not in frame.columns])
        frame = pl.concat([frame.drop(name), inner], how="horizontal")
    return frame


def decide_frame(
    strategy: CompiledStrategy,
    frame: pl.DataFrame,
    *,
    reasons: bool = False,
    progress: Progress | None = None,
    done: int = 0,
    total: int | None = None,
) -> pl.DataFrame:
    """The strategy's outputs for every row of ``frame`` (in order), chunk by chunk.

    Parameters
    ----------
    strategy : CompiledStrategy
        Decides.
    frame : polars.DataFrame
        One application per row (see :func:`application_frame`).
    reasons : bool, default=False
        Add the ``reasons`` list (and ``arm`` with a split).
    progress : callable, optional
        ``progress(done_rows, total_rows)`` after each chunk.
    done, total : int
        Where this call starts in a longer job (several strategies over the same rows).
    """
    total = frame.height if total is None else total
    parts = []
    for offset in range(0, max(frame.height, 1), CHUNK_ROWS):
        chunk = frame.slice(offset, CHUNK_ROWS)
        parts.append(strategy.evaluate_frame(chunk, reasons=reasons))
        if progress is not None:
            progress(done + min(offset + CHUNK_ROWS, frame.height), total)
    out = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    if ERROR_COLUMN not in out.columns:
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias(ERROR_COLUMN))
    return out


def month_key(frame: pl.DataFrame, column: str) -> pl.Series:
    """``YYYY-MM`` of each row's ``column`` (a date, a date-time or ISO text)."""
    if column not in frame.columns:
        raise DataError(f"no column {column!r} to group by month", column=column)
    series = frame.get_column(column)
    if isinstance(series.dtype, pl.Date | pl.Datetime):
        return series.dt.strftime("%Y-%m").alias("_month")
    if series.dtype == pl.String:
        bad = series.drop_nulls().filter(~series.drop_nulls().str.contains(r"^\d{4}-\d{2}"))
        if bad.len():
            raise DataError(
                f"column {column!r} must hold dates (YYYY-MM-DD...), got {bad[0]!r}",
                column=column,
            )
        return series.str.slice(0, 7).alias("_month")
    raise DataError(f"column {column!r} must hold dates, not {series.dtype}", column=column)
