"""Account-month status data: one row per account and month, read and checked once.

Every post-loan measure (roll rates, vintages, behaviour features) reads the same sorted
arrays: accounts as dense integer codes, months as integers (a month index, or ``year * 12 +
month - 1`` for calendar months), buckets as indices into :data:`~ruleplus.lending.delinquency.
BUCKETS`. Files are CSV, zipped CSV or Parquet (:func:`ruleplus.datasets.read_table`); column
names and status codes are options, and the defaults read the shared Kaggle file
(``ID``, ``MONTHS_BALANCE``, ``STATUS``) as it is.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from ruleplus.datasets.io import CSV_NULLS
from ruleplus.errors import DataError
from ruleplus.lending.delinquency import BUCKETS, code_map

__all__ = ["StatusColumns", "StatusData", "read_status", "status_data"]

MonthKind = Literal["index", "calendar"]


@dataclass(frozen=True)
class StatusColumns:
    """Column names of an account-month status table.

    Parameters
    ----------
    account : str, default="ID"
        Account key.
    month : str, default="MONTHS_BALANCE"
        Month: an integer index (0 = this month, -1 = the one before…) or a date / ``YYYY-MM``.
    status : str, default="STATUS"
        Status code.
    """

    account: str = "ID"
    month: str = "MONTHS_BALANCE"
    status: str = "STATUS"


@dataclass(frozen=True)
class StatusData:
    """Account-month statuses sorted by account, then month.

    Attributes
    ----------
    account : ndarray of int64
        Dense account code of each row (0, 1, …; ``account_ids[code]`` is the key).
    month : ndarray of int64
        Month of each row.
    bucket : ndarray of int8
        Bucket index of each row.
    account_ids : polars.Series
        Account keys, by code.
    month_kind : {"index", "calendar"}
        ``index``: months as in the file; ``calendar``: ``year * 12 + month - 1``.
    """

    account: NDArray[np.int64]
    month: NDArray[np.int64]
    bucket: NDArray[np.int8]
    account_ids: pl.Series
    month_kind: MonthKind = "index"
    _starts: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    @property
    def rows(self) -> int:
        """Number of account-months."""
        return int(self.month.size)

    @property
    def accounts(self) -> int:
        """Number of accounts."""
        return int(self.account_ids.len())

    def starts(self) -> NDArray[np.int64]:
        """Index of each account's first row (length ``accounts``)."""
        if self._starts.size or not self.rows:
            return self._starts
        first = np.flatnonzero(np.r_[True, self.account[1:] != self.account[:-1]])
        object.__setattr__(self, "_starts", first.astype(np.int64))
        return self._starts

    def first_month(self) -> NDArray[np.int64]:
        """Each row's account's first month (its cohort)."""
        return self.month[self.starts()][self.account]

    def month_label(self, month: int) -> int | str:
        """A month as it reads in the output: the integer, or ``YYYY-MM`` for calendar months."""
        if self.month_kind == "index":
            return int(month)
        year, m0 = divmod(int(month), 12)
        return f"{year:04d}-{m0 + 1:02d}"

    def frame(self) -> pl.DataFrame:
        """The rows as a frame: ``account`` (key), ``month``, ``bucket`` (name)."""
        return pl.DataFrame(
            {
                "account": self.account_ids.gather(self.account),
                "month": self.month,
                "bucket": np.asarray(BUCKETS, dtype=object)[self.bucket].tolist(),
            }
        )


def _months(column: pl.Series, name: str) -> tuple[NDArray[np.int64], MonthKind]:
    dtype = column.dtype
    if dtype.is_integer():
        return column.cast(pl.Int64).to_numpy(), "index"
    if dtype == pl.String:
        text = column.str.strip_chars()
        as_int = text.cast(pl.Int64, strict=False)
        if as_int.null_count() == text.null_count():
            return as_int.to_numpy(), "index"
        parsed = pl.select(
            pl.coalesce(
                text.str.to_date("%Y-%m-%d", strict=False),
                (text + "-01").str.to_date("%Y-%m-%d", strict=False),
            )
        ).to_series()
        bad = parsed.is_null() & text.is_not_null()
        if bad.any():
            example = text.filter(bad)[0]
            raise DataError(
                f"month column {name!r} holds {example!r}; expected an integer month, a date "
                "or YYYY-MM",
                column=name,
            )
        column = parsed
        dtype = column.dtype
    if dtype.is_float():
        values = column.to_numpy()
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise DataError(f"month column {name!r} holds non-integer numbers", column=name)
        return values.astype(np.int64), "index"
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        months = pl.select(column.dt.year().cast(pl.Int64) * 12 + column.dt.month() - 1)
        return months.to_series().to_numpy(), "calendar"
    raise DataError(
        f"month column {name!r} has type {dtype}; expected integers, dates or YYYY-MM text",
        column=name,
    )


def status_data(
    frame: pl.DataFrame | Any,
    *,
    columns: StatusColumns | None = None,
    codes: Mapping[str, str] | None = None,
) -> StatusData:
    """Check and sort an account-month table.

    Parameters
    ----------
    frame : polars.DataFrame or pandas.DataFrame
        One row per account and month.
    columns : StatusColumns, optional
        Column names (default: the shared file's).
    codes : mapping of str to str, optional
        Status code -> bucket name (default: the shared file's codes).

    Returns
    -------
    StatusData

    Raises
    ------
    DataError
        A missing column, a missing value, an unknown status code, a bad month, or two rows
        for the same account and month.
    """
    cols = columns or StatusColumns()
    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_pandas(frame)
    for role, name in (("account", cols.account), ("month", cols.month), ("status", cols.status)):
        if name not in frame.columns:
            raise DataError(
                f"{role} column {name!r} not found; columns: {', '.join(frame.columns[:20])}",
                column=name,
            )
        nulls = frame.get_column(name).null_count()
        if nulls:
            raise DataError(f"{role} column {name!r} has {nulls} missing value(s)", column=name)
    mapping = code_map(codes)
    status = frame.get_column(cols.status)
    if status.dtype != pl.String:
        # an integer code column (0..5 only) reads as numbers; floats such as 1.0 too
        status = status.cast(pl.Int64, strict=False) if status.dtype.is_float() else status
        status = status.cast(pl.String)
    status = status.str.strip_chars()
    buckets = status.replace_strict(mapping, default=None, return_dtype=pl.Int8)
    if buckets.null_count():
        unknown = status.filter(buckets.is_null()).unique().sort().head(5).to_list()
        raise DataError(
            f"status column {cols.status!r} holds unknown code(s) {unknown}; known codes: "
            f"{', '.join(mapping)} (pass codes= to map others)",
            column=cols.status,
        )
    months, kind = _months(frame.get_column(cols.month), cols.month)
    table = pl.DataFrame(
        {"account": frame.get_column(cols.account), "month": months, "bucket": buckets}
    ).sort(["account", "month"])
    acc = table.get_column("account")
    new = (acc != acc.shift(1)).fill_null(True).to_numpy()
    codes_arr = np.cumsum(new, dtype=np.int64) - 1
    month = table.get_column("month").to_numpy()
    dup = ~new[1:] & (month[1:] == month[:-1])
    if dup.any():
        i = int(np.flatnonzero(dup)[0]) + 1
        raise DataError(
            f"two rows for account {acc[i]!r} and month {int(month[i])}; expected one row per "
            "account and month",
            column=cols.month,
        )
    return StatusData(
        account=codes_arr,
        month=month.astype(np.int64, copy=False),
        bucket=table.get_column("bucket").to_numpy().astype(np.int8, copy=False),
        account_ids=acc.filter(pl.Series(new)),
        month_kind=kind,
    )


def _quick_csv(file: Path, cols: StatusColumns) -> pl.DataFrame | None:
    """The CSV (or the one CSV in a zip) read with types inferred from its first rows.

    :func:`ruleplus.datasets.read_table` infers from every row, which is right for any table
    but costs 20 times the parse on a million rows of three columns. A column whose later rows
    do not fit the inferred type makes polars raise; then (None) the full reader runs.
    """
    try:
        if file.name.lower().endswith(".zip"):
            with zipfile.ZipFile(file) as archive:
                members = [
                    i
                    for i in archive.infolist()
                    if not i.is_dir() and not i.filename.startswith("__MACOSX/")
                ]
                if len(members) != 1:
                    return None
                source: bytes | Path = archive.read(members[0])
        else:
            source = file
        return pl.read_csv(
            source,
            infer_schema_length=10_000,
            schema_overrides={cols.status: pl.String},
            null_values=list(CSV_NULLS),
        )
    except (pl.exceptions.PolarsError, OSError, zipfile.BadZipFile, ValueError):
        return None


def read_status(
    path: str | Path,
    *,
    columns: StatusColumns | None = None,
    codes: Mapping[str, str] | None = None,
) -> StatusData:
    """Read an account-month status file (CSV, zipped CSV or Parquet).

    Parameters
    ----------
    path : str or Path
        The file.
    columns : StatusColumns, optional
        Column names (default: the shared file's ``ID``, ``MONTHS_BALANCE``, ``STATUS``).
    codes : mapping of str to str, optional
        Status code -> bucket name.

    Raises
    ------
    DataError
        Unreadable file or bad content (see :func:`status_data`).
    """
    from ruleplus.datasets import read_table

    cols = columns or StatusColumns()
    file = Path(path)
    name = file.name.lower()
    if not name.endswith((".csv", ".zip", ".parquet")):
        raise DataError("status data must be .csv, .csv.zip or .parquet", file=str(file))
    overrides = None if name.endswith(".parquet") else {cols.status: pl.String}
    frame = None if name.endswith(".parquet") else _quick_csv(file, cols)
    if frame is None:
        frame = read_table(file, schema_overrides=overrides, parse_dates=False)
    try:
        return status_data(frame, columns=cols, codes=codes)
    except DataError as exc:
        raise DataError(exc.message, **{**exc.context, "file": str(file)}) from None
