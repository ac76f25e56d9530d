# ruff: noqa: N803, N806  (scikit-learn / maths naming: X, C, matrices)
"""Turning user tables into checked numpy columns, with errors that name the column.

Every estimator of :mod:`ruleplus.modeling` accepts pandas or polars frames (and 2-D arrays).
They are read through polars once, column by column, and each column becomes either a float64
array (NaN = missing) or an object array of categories (``None`` = missing). Bad input is
refused here, before any fitting, with a :class:`~ruleplus.errors.DataError` whose context
names the column: non-numeric text in a numeric column, a target that is not binary, has
missing values or holds one class only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from ruleplus.errors import DataError

__all__ = [
    "NA_TOKENS",
    "ColumnKind",
    "as_frame",
    "category_column",
    "check_weights",
    "column_kind",
    "column_values",
    "encode_target",
    "identifier_reason",
    "numeric_column",
]

FloatArray = NDArray[np.float64]
ColumnKind = Literal["numeric", "categorical", "datetime", "other"]

NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a", "nil"})
"""Text read as a missing value (case-insensitive, surrounding blanks ignored)."""

_BAD_LABELS = ("bad", "default", "defaulted", "yes", "y", "true", "1", "b", "event")


def as_frame(X: Any, *, what: str = "X") -> pl.DataFrame:
    """Return ``X`` (pandas, polars, dict of columns or 2-D array) as a polars DataFrame.

    Parameters
    ----------
    X : DataFrame, mapping or array-like
        The table. Arrays get the column names ``x0``, ``x1``…
    what : str, default="X"
        Name used in error messages.
    """
    if isinstance(X, pl.DataFrame):
        return X
    if isinstance(X, pl.Series):
        return X.to_frame()
    module = type(X).__module__
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(X, pd.Series):
            X = X.to_frame()
        frame = X.copy()
        frame.columns = [str(c) for c in frame.columns]
        try:
            return pl.from_pandas(frame.reset_index(drop=True))
        except Exception:
            data = {c: frame[c].astype(object).tolist() for c in frame.columns}
            return pl.DataFrame(data, strict=False)
    if isinstance(X, dict):
        return pl.DataFrame(X, strict=False)
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DataError(f"{what} must be a table (2-D), got {arr.ndim} dimensions")
    return pl.DataFrame({f"x{i}": arr[:, i] for i in range(arr.shape[1])}, strict=False)


def column_kind(series: pl.Series) -> ColumnKind:
    """Kind of a column: numeric, categorical (text, boolean, categories), datetime, other."""
    dtype = series.dtype
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "datetime"
    if dtype in (pl.String, pl.Boolean, pl.Categorical) or isinstance(
        dtype, pl.Enum | pl.Categorical
    ):
        if dtype == pl.String and _looks_numeric(series):
            return "numeric"
        return "categorical"
    if dtype == pl.Null:
        return "numeric"
    return "other"


def _na_mask(text: pl.Series) -> pl.Series:
    return text.is_null() | text.str.strip_chars().str.to_lowercase().is_in(list(NA_TOKENS))


def _looks_numeric(series: pl.Series) -> bool:
    """Text where at least 95% of the present values are numbers: a numeric column."""
    present = series.filter(~_na_mask(series))
    if present.is_empty():
        return True
    parsed = present.str.strip_chars().cast(pl.Float64, strict=False)
    return bool(parsed.is_not_null().mean() >= 0.95)  # type: ignore[operator]


def numeric_column(series: pl.Series, name: str) -> FloatArray:
    """A column as float64 with NaN for missing values.

    Raises
    ------
    DataError
        The column holds text that is neither a number nor a missing-value token.
    """
    dtype = series.dtype
    if dtype == pl.Null:
        return np.full(len(series), np.nan)
    if dtype.is_numeric():
        values = series.cast(pl.Float64)
        if dtype.is_float():
            values = values.fill_nan(None)
        return values.to_numpy().astype(np.float64, copy=False)
    if dtype == pl.Boolean:
        return series.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
    if dtype == pl.String:
        na = _na_mask(series)
        parsed = series.str.strip_chars().cast(pl.Float64, strict=False)
        garbage = parsed.is_null() & ~na
        if garbage.any():
            examples = series.filter(garbage).unique(maintain_order=True).head(3).to_list()
            shown = ", ".join(repr(v) for v in examples)
            raise DataError(
                f"column {name!r} is numeric but holds {int(garbage.sum())} non-numeric "
                f"value(s) such as {shown}; clean them, or declare the column categorical",
                column=name,
            )
        return parsed.to_numpy().astype(np.float64, copy=False)
    raise DataError(
        f"column {name!r} has type {dtype}, which cannot be used as a number", column=name
    )


def category_column(series: pl.Series, name: str) -> NDArray[np.object_]:
    """A column as an object array of categories (``None`` for missing).

    Text is kept as is (NA tokens become missing); numbers keep their value (integers as int);
    booleans stay booleans.
    """
    dtype = series.dtype
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum) or dtype == pl.Categorical:
        text = series.cast(pl.String)
        text = pl.select(
            pl.when(_na_mask(text)).then(None).otherwise(text.str.strip_chars())
        ).to_series()
        return np.asarray(text.to_list(), dtype=object)
    if dtype.is_float():
        values = series.fill_nan(None)
        out = values.to_list()
        return np.asarray(
            [int(v) if v is not None and float(v).is_integer() else v for v in out], dtype=object
        )
    if dtype.is_numeric() or dtype == pl.Boolean:
        return np.asarray(series.to_list(), dtype=object)
    raise DataError(
        f"column {name!r} has type {dtype}, which cannot be used as a category", column=name
    )


def encode_target(y: Any, name: str = "target", bad: Any = None) -> NDArray[np.int8]:
    """The target as 0/1 (1 = bad / event).

    Parameters
    ----------
    y : array-like or Series
        Two distinct values, no missing ones.
    name : str, default="target"
        Column name used in errors.
    bad : scalar, optional
        The value meaning "bad". Default: 1 / True for numbers and booleans; for text, one of
        ``bad``, ``default``, ``yes``, ``1``, ``true`` (case-insensitive) when present.

    Raises
    ------
    DataError
        Missing values, more or fewer than two classes, or text labels whose bad value cannot be
        told.
    """
    series = y if isinstance(y, pl.Series) else as_frame(y, what=name).to_series(0)
    if series.dtype.is_float():
        series = series.fill_nan(None)
    missing = int(series.null_count())
    if series.dtype == pl.String:
        missing = int(_na_mask(series).sum())
    if missing:
        raise DataError(
            f"target {name!r} has {missing} missing value(s); drop or label those rows",
            column=name,
        )
    values = series.unique().sort().to_list()
    if len(values) < 2:
        raise DataError(
            f"target {name!r} has a single class ({values[0] if values else 'no rows'!r}); "
            "a model needs both good and bad outcomes",
            column=name,
        )
    if len(values) > 2:
        shown = ", ".join(repr(v) for v in values[:5])
        raise DataError(
            f"target {name!r} is not binary: {len(values)} distinct values ({shown}"
            f"{', …' if len(values) > 5 else ''}); give a 0/1 (good/bad) target",
            column=name,
        )
    if bad is None:
        bad = _guess_bad(values, name)
    elif bad not in values:
        text = [str(v) for v in values]
        if str(bad) not in text:
            raise DataError(
                f"bad value {bad!r} not found in target {name!r} (values: {values})", column=name
            )
        bad = values[text.index(str(bad))]
    out: NDArray[np.int8] = (series == bad).to_numpy().astype(np.int8)
    return out


def _guess_bad(values: Sequence[Any], name: str) -> Any:
    if all(isinstance(v, bool) for v in values):
        return True
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        if set(values) == {0, 1}:
            return 1
        raise DataError(
            f"target {name!r} has values {values}; expected 0/1 — say which value is bad",
            column=name,
        )
    for label in _BAD_LABELS:
        for v in values:
            if str(v).strip().lower() == label:
                return v
    raise DataError(
        f"target {name!r} has labels {values}; say which one is bad (e.g. --bad {values[1]!r})",
        column=name,
    )


def check_weights(sample_weight: Any, n: int) -> FloatArray:
    """Sample weights as float64 (ones when None); refuse negative, non-finite or wrong length."""
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise DataError(f"sample_weight has {w.shape[0]} values for {n} rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise DataError("sample_weight must be finite and non-negative")
    if w.sum() <= 0:
        raise DataError("sample_weight sums to zero")
    return w


def column_values(frame: pl.DataFrame, name: str, dtype: str) -> NDArray[Any]:
    """Column ``name`` of ``frame`` as float64 (``numeric``) or objects (``categorical``).

    Raises
    ------
    DataError
        The column is absent or cannot be read as ``dtype``.
    """
    if name not in frame.columns:
        raise DataError(f"column {name!r} is missing from the data", column=name)
    series = frame.get_column(name)
    if dtype == "numeric":
        return numeric_column(series, name)
    return category_column(series, name)


def identifier_reason(series: pl.Series, id_share: float = 0.5) -> str | None:
    """Why a column looks like an identifier (None when it does not).

    Text with more than 50 distinct values and more than ``id_share`` of the rows distinct, or
    whole numbers with no missing value, all distinct, over at least 100 rows (a row number or a
    customer id): such columns predict nothing that generalises.
    """
    n = len(series)
    dtype = series.dtype
    if dtype == pl.String:
        if _looks_numeric(series):
            return None
        distinct = series.n_unique()
        if distinct > 50 and distinct > id_share * n:
            return f"identifier-like text ({distinct} distinct values)"
        return None
    if dtype.is_integer() and n >= 100 and series.null_count() == 0 and series.n_unique() == n:
        return "identifier-like (whole numbers, all distinct)"
    return None
