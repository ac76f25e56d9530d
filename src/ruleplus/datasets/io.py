"""Read and write tables, choosing the format from the file extension.

=======================  =========================================================
extension                format
=======================  =========================================================
``.csv``                 comma-separated values with a header line
``.csv.zip``, ``.zip``   a zip archive holding exactly one CSV file
``.jsonl``, ``.ndjson``  one JSON object per line
``.json``                one JSON array of objects
``.parquet``             Apache Parquet
=======================  =========================================================

Text formats are read with the schema inferred from every row (a column holding both ``1`` and
``1.5`` is ``Float64``, a key missing from some lines is null there, nothing is dropped), and
string columns holding only ISO dates (``2024-01-31``) or date-times (``2024-01-31 08:15:00``)
become ``Date`` / ``Datetime`` so that a frame survives a round trip through any format.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ruleplus.errors import DataError

__all__ = ["SUPPORTED_EXTENSIONS", "iter_jsonl_records", "read_table", "write_table"]

DType = pl.DataType | type[pl.DataType]
Format = Literal["csv", "zip", "jsonl", "json", "parquet"]

_FORMATS: dict[str, Format] = {
    ".csv.zip": "zip",
    ".csv": "csv",
    ".zip": "zip",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}
#: File extensions understood by :func:`read_table` and :func:`write_table`.
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_FORMATS)

_BOM = b"\xef\xbb\xbf"
#: Cells read as missing in CSV files (as pandas does): an empty cell, NA, N/A, NULL, NaN.
CSV_NULLS: tuple[str, ...] = ("", "NA", "N/A", "NULL", "null", "NaN", "nan")
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?$"


def _format_of(path: Path) -> Format:
    name = path.name.lower()
    for extension, fmt in _FORMATS.items():
        if name.endswith(extension):
            return fmt
    raise DataError(
        f"unsupported file extension; use one of {', '.join(SUPPORTED_EXTENSIONS)}",
        file=str(path),
    )


def _parse_temporal(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn string columns holding only ISO dates or naive date-times into temporal columns."""
    casts: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        values = frame.get_column(name).drop_nulls()
        if values.is_empty():
            continue
        if values.str.contains(_DATE).all():
            casts.append(pl.col(name).str.to_date("%Y-%m-%d"))
        elif values.str.contains(_DATETIME).all():
            text = pl.col(name).str.replace("T", " ", literal=True)
            casts.append(text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us"))
    return frame.with_columns(casts) if casts else frame


def _read_zip(path: Path, overrides: Mapping[str, DType] | None) -> pl.DataFrame:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX/")
            ]
            if len(members) != 1:
                names = ", ".join(info.filename for info in members) or "nothing"
                raise DataError(
                    f"a zip table must hold exactly one CSV file, found {names}", file=str(path)
                )
            data = archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise DataError(f"not a valid zip archive: {exc}", file=str(path)) from exc
    return pl.read_csv(
        data, infer_schema_length=None, schema_overrides=overrides, null_values=list(CSV_NULLS)
    )


def _count_json_lines(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


def _read_jsonl(path: Path, overrides: Mapping[str, DType] | None) -> pl.DataFrame:
    data = path.read_bytes().removeprefix(_BOM)
    expected = _count_json_lines(data)
    if expected == 0:
        return pl.DataFrame()
    try:
        frame = pl.read_ndjson(data, infer_schema_length=None, schema_overrides=overrides)
    except pl.exceptions.PolarsError as exc:
        for _ in iter_jsonl_records(path):  # raises DataError naming the bad line
            pass
        raise DataError(f"cannot read JSON lines: {exc}", file=str(path)) from exc
    if frame.height != expected:
        for _ in iter_jsonl_records(path):
            pass
        raise DataError(f"read {frame.height} rows from {expected} non-blank lines", file=str(path))
    return frame


def _read_json(path: Path, overrides: Mapping[str, DType] | None) -> pl.DataFrame:
    data = path.read_bytes().removeprefix(_BOM)
    if not data.lstrip().startswith(b"["):
        raise DataError("a .json table must be one JSON array of objects", file=str(path))
    return pl.read_json(data, infer_schema_length=None, schema_overrides=overrides)


def read_table(
    path: str | Path,
    *,
    schema_overrides: Mapping[str, DType] | None = None,
    parse_dates: bool = True,
) -> pl.DataFrame:
    """Read a table from ``path``, choosing the format from its extension.

    Parameters
    ----------
    path : str or pathlib.Path
        The file; see :data:`SUPPORTED_EXTENSIONS`.
    schema_overrides : mapping of str to polars.DataType, default=None
        Dtypes for some columns instead of the inferred ones, e.g. ``{"phone": pl.String}`` so
        that a CSV column of digits stays text.
    parse_dates : bool, default=True
        Turn text columns holding only ISO dates or date-times into ``Date`` / ``Datetime``
        (CSV, JSON and JSON lines; Parquet keeps its own types).

    Returns
    -------
    polars.DataFrame
        The table, one row per record.

    Raises
    ------
    ruleplus.errors.DataError
        If the extension is not supported, the file does not exist, or it cannot be parsed
        (for JSON lines the error names the first malformed line).
    """
    path = Path(path)
    fmt = _format_of(path)
    if not path.is_file():
        raise DataError("no such file", file=str(path))
    overrides = dict(schema_overrides) if schema_overrides else None
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
            # polars types cast()'s mapping with an invariant key type wider than str
            return frame.cast(overrides) if overrides else frame  # type: ignore[arg-type]
        if fmt == "csv":
            frame = pl.read_csv(
                path,
                infer_schema_length=None,
                schema_overrides=overrides,
                null_values=list(CSV_NULLS),
            )
        elif fmt == "zip":
            frame = _read_zip(path, overrides)
        elif fmt == "jsonl":
            frame = _read_jsonl(path, overrides)
        else:
            frame = _read_json(path, overrides)
    except DataError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"cannot read {fmt} table: {exc}", file=str(path)) from exc
    return _parse_temporal(frame) if parse_dates else frame


def write_table(df: pl.DataFrame, path: str | Path) -> None:
    """Write ``df`` to ``path``, choosing the format from its extension.

    Parameters
    ----------
    df : polars.DataFrame
        The table to write.
    path : str or pathlib.Path
        The file to create or replace; see :data:`SUPPORTED_EXTENSIONS`. A ``.zip`` holds one
        CSV named after the archive (``loans.zip`` and ``loans.csv.zip`` hold ``loans.csv``).
        JSON lines are written one object per line.

    Raises
    ------
    ruleplus.errors.DataError
        If the extension is not supported or the file cannot be written.
    """
    path = Path(path)
    fmt = _format_of(path)
    try:
        if fmt == "csv":
            df.write_csv(path)
        elif fmt == "zip":
            stem = re.sub(r"(\.csv)?\.zip$", "", path.name, flags=re.IGNORECASE)
            buffer = io.BytesIO()
            df.write_csv(buffer)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"{stem}.csv", buffer.getvalue())
        elif fmt == "jsonl":
            df.write_ndjson(path, check_extension=False)
        elif fmt == "json":
            df.write_json(path)
        else:
            df.write_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot write {fmt} table: {exc}", file=str(path)) from exc


def iter_jsonl_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSON lines file one line at a time.

    Blank lines and a leading UTF-8 byte-order mark are skipped. Whether the file exists is
    checked when this is called; lines are parsed as the iterator advances, so a malformed
    line is reported when it is reached.

    Parameters
    ----------
    path : str or pathlib.Path
        A file holding one JSON object per line.

    Yields
    ------
    dict
        One record per non-blank line.

    Raises
    ------
    ruleplus.errors.DataError
        If the file does not exist, or a line is not valid UTF-8 JSON or not an object
        (the context gives ``file`` and ``line``, counted from 1).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", file=str(path))
    return _records(path)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"line {number} is not valid UTF-8: {exc.reason}", file=str(path), line=number
                ) from exc
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"line {number} is not valid JSON: {exc.msg}",
                    file=str(path),
                    line=number,
                    column=exc.colno,
                ) from exc
            if not isinstance(record, dict):
                raise DataError(
                    f"line {number} holds a JSON {type(record).__name__}, not an object",
                    file=str(path),
                    line=number,
                )
            yield record
