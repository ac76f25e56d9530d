# ruff: noqa: N803  (scikit-learn / maths naming: X, C, matrices)
"""Turning user tables into checked numpy columns, with errors that name the column.

Every estimator of :mod:`ruleplus.modeling` accepts pandas or polars frames (and 2-D arrays).
They are read through polars once, column by column, and each column becomes either a float64
array (NaN = missing) or an object array of categories (``None`` = missing). Bad input is
refused here, before any fitting, with a :class:`~ruleplus.errors.DataError` whose context
names the column: non-numeric text in a numeric column, a target that is not binary, has
missing values or holds one class only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
from numpy.typing import NDArray
from sklearn.utils.validation import check_array, column_or_1d

from ruleplus.modeling._errors import DataError

__all__ = [
    "NA_TOKENS",
    "ColumnKind",
    "ColumnPlan",
    "as_frame",
    "binary_target",
    "category_column",
    "check_weights",
    "column_kind",
    "column_values",
    "encode_target",
    "identifier_reason",
    "is_positional",
    "numeric_column",
    "output_frame",
    "plan_columns",
    "special_masks",
    "uninformative_reason",
    "value_type",
]

FloatArray = NDArray[np.float64]
ColumnKind = Literal["numeric", "categorical", "datetime", "other"]

NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a", "nil"})
"""Text read as a missing value (case-insensitive, surrounding blanks ignored)."""

_BAD_LABELS = ("bad", "default", "defaulted", "yes", "y", "true", "1", "b", "event")


def as_frame(
    X: Any, *, what: str = "X", ensure_2d: bool = False, numeric: bool = False
) -> pl.DataFrame:
    """Return ``X`` (pandas, polars, dict of columns or array-like) as a polars DataFrame.

    Parameters
    ----------
    X : DataFrame, Series, mapping or array-like
        The table. Arrays get the column names ``x0``, ``x1``… (their columns are positional).
    what : str, default="X"
        Name used in error messages.
    ensure_2d : bool, default=False
        Refuse a 1-D array (ambiguous: one feature or one row?) as scikit-learn does; a named
        Series is still one column. When False a 1-D array is one column.
    numeric : bool, default=False
        Arrays must hold numbers (scikit-learn's ``check_array(dtype="numeric")``).

    Raises
    ------
    DataError
        A 1-D array where a table is needed, an empty array, complex numbers, more than two
        dimensions (also a ``ValueError``).
    TypeError
        A sparse matrix, or (``numeric``) values that are not numbers.
    """
    if isinstance(X, pl.DataFrame):
        return X
    if isinstance(X, pl.Series):
        return X.to_frame()
    if isinstance(X, pd.Series | pd.DataFrame):
        frame = (X.to_frame() if isinstance(X, pd.Series) else X).copy()
        frame.columns = pd.Index([str(c) for c in frame.columns])
        try:
            return pl.from_pandas(frame.reset_index(drop=True))
        except Exception:
            return pl.DataFrame(
                [_object_series(c, frame[c].to_numpy(dtype=object)) for c in frame.columns]
            )
    if isinstance(X, dict) and not _is_sparse(X):  # a DOK matrix is a dict
        return pl.DataFrame(X, strict=False)
    arr = _checked_array(X, what, ensure_2d=ensure_2d, numeric=numeric)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    columns = [
        _object_series(f"x{i}", arr[:, i]) if arr.dtype == object else pl.Series(f"x{i}", arr[:, i])
        for i in range(arr.shape[1])
    ]
    return pl.DataFrame(columns)


def is_positional(X: Any) -> bool:
    """Whether the columns of ``X`` are known by position only (an array, not a frame)."""
    if isinstance(X, dict):
        return _is_sparse(X)
    return not isinstance(X, pl.DataFrame | pl.Series | pd.DataFrame | pd.Series)


def _is_sparse(X: Any) -> bool:
    """A scipy sparse matrix or array (without importing scipy)."""
    return type(X).__module__.startswith("scipy.sparse")


def _checked_array(X: Any, what: str, *, ensure_2d: bool, numeric: bool) -> NDArray[Any]:
    """An array-like through scikit-learn's ``check_array`` (its messages), NaN and inf kept."""
    try:
        arr = check_array(
            X,
            dtype="numeric" if numeric else None,
            ensure_2d=ensure_2d,
            ensure_all_finite=False,
            input_name=what,
        )
    except ValueError as exc:
        raise DataError(str(exc)) from None
    out: NDArray[Any] = np.asarray(arr)
    if out.ndim > 2:
        raise DataError(f"{what} must be a table (2-D), got {out.ndim} dimensions")
    return out


_PLAIN = (type(None), bool, int, float, str, np.bool_, np.number, np.str_)


def _object_series(name: str, values: NDArray[Any]) -> pl.Series:
    """An object column as numbers, text or booleans when it holds those (polars' inference);
    anything else (dicts, lists, objects) stays an ``Object`` column, which no estimator uses."""
    if all(isinstance(v, _PLAIN) for v in values):
        return pl.Series(name, values.tolist(), strict=False)
    return pl.Series(name, values, dtype=pl.Object)


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
    _refuse_missing(series, name)
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


def binary_target(y: Any, name: str = "y") -> tuple[NDArray[np.int8], NDArray[Any]]:
    """An estimator's target as 0/1 (1 = bad) and its two labels ``[good, bad]``.

    scikit-learn's rules for the ``y`` of a binary classifier (1-D, a column vector with a
    ``DataConversionWarning``, no missing or infinite values, not continuous, two classes), and
    the credit convention for which label is bad: 1 / True, else a text label meaning bad
    (``bad``, ``default``, ``yes``…), else the greater of the two (scikit-learn's positive
    class). The labels come back as ``[good, bad]``: an estimator's ``classes_``, so that
    column 1 of ``predict_proba`` is always the probability of bad.

    Raises
    ------
    DataError
        As above (also a ``ValueError``), with scikit-learn's wording where it has one.
    """
    if y is None:
        raise DataError("this estimator requires y to be passed, but the target y is None")
    if isinstance(y, pl.Series):
        series = y
    elif isinstance(y, pl.DataFrame) or type(y).__module__.startswith("pandas"):
        frame = as_frame(y, what=name)
        if frame.width != 1:
            raise DataError(f"y should be a 1d array, got a table of {frame.width} columns")
        series = frame.to_series(0)
    else:
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = column_or_1d(arr, warn=True)
        elif arr.ndim != 1:
            raise DataError(f"y should be a 1d array, got an array of shape {arr.shape} instead.")
        if np.iscomplexobj(arr):
            raise DataError("Complex data not supported")
        series = _object_series(name, arr) if arr.dtype == object else pl.Series(name, arr)
    if series.dtype.is_float():
        if bool(series.is_infinite().any()):
            raise DataError(f"Input {name} contains infinity", column=name)
        series = series.fill_nan(None)
    _refuse_missing(series, name)
    if series.dtype.is_float() and not bool((series == series.round(0)).all()):
        raise DataError(
            f"Unknown label type: continuous; target {name!r} must hold two classes (good/bad)",
            column=name,
        )
    if not (series.dtype.is_numeric() or series.dtype in (pl.String, pl.Boolean)):
        raise DataError(f"Unknown label type: target {name!r} is {series.dtype}", column=name)
    labels = series.unique().sort().to_list()
    if len(labels) < 2:
        shown = repr(labels[0]) if labels else "no rows"
        raise DataError(
            f"target {name!r} holds one class only ({shown}); a model needs both good and bad "
            "outcomes",
            column=name,
        )
    if len(labels) > 2:
        shown = ", ".join(repr(v) for v in labels[:5])
        raise DataError(
            "Only binary classification is supported. The type of the target is multiclass: "
            f"{name!r} has {len(labels)} distinct values ({shown}"
            f"{', …' if len(labels) > 5 else ''}); give a good/bad target",
            column=name,
        )
    bad = _guess_bad(labels, name, greater=True)
    good = labels[0] if labels[1] == bad else labels[1]
    target: NDArray[np.int8] = (series == bad).to_numpy().astype(np.int8)
    return target, np.asarray([good, bad])


def _guess_bad(values: Sequence[Any], name: str, *, greater: bool = False) -> Any:
    """The bad one of two sorted labels; when it cannot be told: the greater one (``greater``),
    else a :class:`DataError` asking for it."""
    if all(isinstance(v, bool) for v in values):
        return True
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        if set(values) == {0, 1}:
            return 1
        if greater:
            return values[-1]
        raise DataError(
            f"target {name!r} has values {values}; expected 0/1 — say which value is bad",
            column=name,
        )
    for label in _BAD_LABELS:
        for v in values:
            if str(v).strip().lower() == label:
                return v
    if greater:
        return values[-1]
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


def output_frame(data: dict[str, Any], X: Any) -> pd.DataFrame:
    """A pandas frame of ``data`` keeping the index of a pandas ``X``."""
    index = X.index if isinstance(X, pd.DataFrame | pd.Series) else None
    return pd.DataFrame(data, index=index)


def special_masks(values: NDArray[Any], codes: Sequence[Any], numeric: bool) -> list[NDArray[Any]]:
    """One mask per special code: the rows holding it (a numeric column holds numeric codes
    only)."""
    masks = []
    for code in codes:
        if numeric:
            if isinstance(code, int | float | np.number) and not isinstance(code, bool):
                masks.append(np.asarray(values == float(code), dtype=bool))
            else:
                masks.append(np.zeros(values.shape[0], dtype=bool))
        else:
            masks.append(np.asarray(values == code, dtype=bool))
    return masks


def _shown(value: Any) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)


def uninformative_reason(
    name: str, values: NDArray[Any], numeric: bool, specials: Sequence[NDArray[Any]] = ()
) -> str | None:
    """Why a column (as read by :func:`column_values`) can tell nothing, or None.

    Only missing values (special codes aside), or one value throughout with no missing value
    and no special code: missingness and special codes are information of their own.
    """
    missing = np.isnan(values) if numeric else np.asarray(pd.isna(values), dtype=bool)
    regular = ~missing
    for mask in specials:
        regular &= ~mask
    any_special = any(bool(m.any()) for m in specials)
    if not regular.any() and not any_special:
        return f"column {name!r} has only missing values"
    if missing.any() or any_special:
        return None
    present = values[regular]
    first = present[0]
    same = bool(np.all(present == first)) if numeric else len(pd.unique(present)) == 1
    return f"column {name!r} is constant ({_shown(first)})" if same else None


@dataclass
class ColumnPlan:
    """What a table estimator does with each column: :func:`plan_columns`."""

    kinds: dict[str, str] = field(default_factory=dict)
    """Feature -> ``numeric`` or ``categorical``, in input order."""
    values: dict[str, NDArray[Any]] = field(default_factory=dict)
    """Feature -> its values as read by :func:`column_values`."""
    dropped: dict[str, str] = field(default_factory=dict)
    """Column -> why it is left out."""


def plan_columns(
    frame: pl.DataFrame,
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    categorical: Iterable[str] = (),
    id_share: float = 0.5,
    special_codes: Callable[[str], Sequence[Any]] | None = None,
) -> ColumnPlan:
    """Which columns of ``frame`` a table estimator uses, read as what, and why it leaves the
    others out: the one rule of :class:`~ruleplus.modeling.WOETransformer` and
    :class:`~ruleplus.modeling.GBMClassifier`.

    Parameters
    ----------
    frame : polars.DataFrame
        The training table.
    features : list of str, optional
        Columns to use (each must exist; not screened for identifiers); default: every column.
    exclude : iterable of str
        Columns never used.
    categorical : iterable of str
        Columns read as categories even when they hold numbers (not screened for identifiers).
    id_share : float, default=0.5
        See :func:`identifier_reason`.
    special_codes : callable, optional
        Feature -> its special codes (values kept apart, which make a column informative).

    In order, a column is left out when it is a date/time, of a type that is neither numbers
    nor categories, identifier-like, holds only missing values (as read: NaN, null, NA text),
    or one value throughout (:func:`uninformative_reason`).

    Raises
    ------
    DataError
        A listed feature is absent, or a numeric column holds text that is not a number.
    """
    excluded = set(exclude)
    forced = set(categorical)
    names = list(features) if features is not None else list(frame.columns)
    for name in names:
        if name not in frame.columns:
            raise DataError(f"column {name!r} is missing from the data", column=name)
    plan = ColumnPlan()
    for name in names:
        if name in excluded:
            continue
        series = frame.get_column(name)
        kind = "categorical" if name in forced else column_kind(series)
        if kind == "datetime":
            plan.dropped[name] = "date/time column (use it for out-of-time validation)"
            continue
        if kind == "other":
            plan.dropped[name] = f"type {series.dtype} cannot be used"
            continue
        if name not in forced and features is None:
            why = identifier_reason(series, id_share)
            if why:
                plan.dropped[name] = why
                continue
        values = column_values(frame, name, kind)
        codes = special_codes(name) if special_codes is not None else ()
        masks = special_masks(values, codes, kind == "numeric")
        why = uninformative_reason(name, values, kind == "numeric", masks)
        if why:
            plan.dropped[name] = why
            continue
        plan.kinds[name] = kind
        plan.values[name] = values
    return plan


def value_type(values: Sequence[Any]) -> str:
    """Strategy input type of a column of these categories: ``boolean`` when all are booleans,
    ``number`` when all are numbers, else ``string``."""
    if values and all(isinstance(v, bool | np.bool_) for v in values):
        return "boolean"
    if values and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        for v in values
    ):
        return "number"
    return "string"


def _refuse_missing(series: pl.Series, name: str) -> None:
    """A target with missing values (null, NaN, or an "n/a"-like text) is refused."""
    missing = int(series.null_count())
    if series.dtype == pl.String:
        missing = int(_na_mask(series).sum())
    if missing:
        raise DataError(
            f"target {name!r} has {missing} missing value(s); drop or label those rows",
            column=name,
        )
