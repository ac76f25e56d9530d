"""Input schema: validation and normalisation of records (row) and frames (vector).

Both back ends produce the same problem texts, and never echo a field's value (it may be an ID
number or a phone). NaN counts as missing (null) in both, as pandas does.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from ruleplus.decision._document import InputField
from ruleplus.errors import FieldProblem
from ruleplus.expr import Kind, Ty, parse_type_name, polars_dtype

__all__ = ["ERROR_COLUMN", "InputSpec", "frame_problems", "normalise_frame", "row_validation"]

ERROR_COLUMN = "_error"
"""The column of a frame's results that lists a row's problems (null for a good row)."""


@dataclass(frozen=True)
class InputSpec:
    """One input field, resolved."""

    name: str
    kind: Kind
    element: Kind | None
    required: bool
    low: float | None
    high: float | None
    enum: tuple[Any, ...] | None

    @property
    def ty(self) -> Ty:
        """Type seen by expressions (required fields cannot be null)."""
        return Ty(self.kind, not self.required, self.element)

    @classmethod
    def from_doc(cls, name: str, doc: InputField) -> InputSpec:
        """Resolve a document field (raises ValueError on an unknown type)."""
        kind, element = parse_type_name(doc.type)
        if (doc.min is not None or doc.max is not None) and kind not in (Kind.INTEGER, Kind.NUMBER):
            raise ValueError(f"min/max apply to numbers, not to {doc.type}")
        if doc.min is not None and doc.max is not None and doc.min > doc.max:
            raise ValueError(f"min {doc.min} is greater than max {doc.max}")
        enum = tuple(doc.enum) if doc.enum is not None else None
        return cls(name, kind, element, doc.required, doc.min, doc.max, enum)

    # messages shared by both back ends ------------------------------------------------------
    def expected(self) -> str:
        """What a value must be."""
        return {
            Kind.INTEGER: "a whole number",
            Kind.NUMBER: "a finite number",
            Kind.STRING: "a string",
            Kind.BOOLEAN: "true or false",
            Kind.DATE: "a date 'YYYY-MM-DD'",
            Kind.LIST: f"a list of {(self.element or Kind.ANY).value}",
        }.get(self.kind, "a value")

    def type_text(self) -> str:
        """The wrong-type problem. The original type is not named: a frame column mixing types
        arrives as text, so the vector back end could not tell it, and both must say the same."""
        return f"expected {self.expected()}, got another type"

    def range_text(self) -> str:
        """The allowed range, e.g. ``between 300 and 900``."""

        def fmt(x: float) -> str:
            return str(int(x)) if float(x).is_integer() else str(x)

        if self.low is not None and self.high is not None:
            return f"must be between {fmt(self.low)} and {fmt(self.high)}"
        if self.low is not None:
            return f"must be >= {fmt(self.low)}"
        return f"must be <= {fmt(self.high)}" if self.high is not None else ""

    def enum_text(self) -> str:
        """The allowed values."""
        return "must be one of " + ", ".join(repr(v) for v in self.enum or ())

    # row slow path ----------------------------------------------------------------------------
    def check(self, value: Any, problems: list[FieldProblem]) -> Any:
        """Normalise one value; append problems; return the value to use (None when bad)."""
        if isinstance(value, float) and math.isnan(value):
            value = None
        if value is None:
            if self.required:
                problems.append(FieldProblem(self.name, "is required"))
            return None
        normal = self._coerce(value)
        if normal is _BAD:
            problems.append(FieldProblem(self.name, self.type_text()))
            return None
        if (self.low is not None and normal < self.low) or (
            self.high is not None and normal > self.high
        ):
            problems.append(FieldProblem(self.name, self.range_text()))
            return None
        if self.enum is not None and normal not in self.enum:
            problems.append(FieldProblem(self.name, self.enum_text()))
            return None
        return normal

    def _coerce(self, value: Any) -> Any:
        kind = self.kind
        if kind in (Kind.INTEGER, Kind.NUMBER) and isinstance(value, str):
            # numeric text ("700", " 1.5e3 ") is accepted as in the vector path (CSV, mixed JSONL)
            text = value.strip()
            if not NUMERIC_TEXT.fullmatch(text):
                return _BAD
            value = float(text)
        if kind is Kind.INTEGER:
            if isinstance(value, bool):
                return _BAD
            if isinstance(value, int):
                return value
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                return int(value)
            return _BAD
        if kind is Kind.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return _BAD
            return value if math.isfinite(value) else _BAD
        if kind is Kind.STRING:
            return value if isinstance(value, str) else _BAD
        if kind is Kind.BOOLEAN:
            return value if isinstance(value, bool) else _BAD
        if kind is Kind.DATE:
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, dt.date):
                return value
            if isinstance(value, str) and _ISO_DATE.fullmatch(value):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    return _BAD
            return _BAD
        if kind is Kind.LIST:
            if not isinstance(value, list | tuple):
                return _BAD
            element = InputSpec(self.name, self.element or Kind.ANY, None, False, None, None, None)
            items = [element._coerce(v) if v is not None else None for v in value]
            return _BAD if any(i is _BAD for i in items) else items
        return value


_BAD = object()

NUMERIC_TEXT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
"""Text accepted for a number: ASCII digits only, the same in both back ends."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def dig(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """Read a nested field ``a.b.c`` from nested mappings (null when absent)."""
    current: Any = record
    for part in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


# row fast path ------------------------------------------------------------------------------


def _name(n: str) -> ast.Name:
    return ast.Name(id=n, ctx=ast.Load())


def _fast_ok(spec: InputSpec, v: ast.expr, namespace: dict[str, Any], key: str) -> ast.expr | None:
    """An expression true when the raw value needs no normalisation (the common case)."""

    def is_cls(cls_name: str) -> ast.expr:
        return ast.Compare(
            left=ast.Attribute(value=v, attr="__class__", ctx=ast.Load()),
            ops=[ast.Is()],
            comparators=[_name(cls_name)],
        )

    checks: list[ast.expr] = []
    if spec.kind is Kind.INTEGER:
        checks.append(is_cls("int"))
    elif spec.kind is Kind.NUMBER:
        checks.append(ast.BoolOp(op=ast.Or(), values=[is_cls("float"), is_cls("int")]))
        # finite: x - x == 0 is false for nan and inf
        checks.append(
            ast.Compare(
                left=ast.BinOp(left=v, op=ast.Sub(), right=v),
                ops=[ast.Eq()],
                comparators=[ast.Constant(0)],
            )
        )
    elif spec.kind is Kind.STRING:
        checks.append(is_cls("str"))
    elif spec.kind is Kind.BOOLEAN:
        checks.append(is_cls("bool"))
    elif spec.kind is Kind.DATE:
        namespace["date"] = dt.date
        checks.append(is_cls("date"))
    else:
        return None
    if spec.low is not None:
        checks.append(ast.Compare(left=v, ops=[ast.GtE()], comparators=[ast.Constant(spec.low)]))
    if spec.high is not None:
        checks.append(ast.Compare(left=v, ops=[ast.LtE()], comparators=[ast.Constant(spec.high)]))
    if spec.enum is not None:
        namespace[key + "_enum"] = frozenset(spec.enum)
        checks.append(ast.Compare(left=v, ops=[ast.In()], comparators=[_name(key + "_enum")]))
    return checks[0] if len(checks) == 1 else ast.BoolOp(op=ast.And(), values=checks)


def row_validation(
    specs: list[InputSpec],
    locals_: Mapping[str, str],
    namespace: dict[str, Any],
    record: str = "rec",
) -> list[ast.stmt]:
    """Statements that read, check and normalise every input into its local variable.

    After them, ``_problems`` holds every problem found (an empty list when the record is good).
    """
    body: list[ast.stmt] = [
        ast.Assign(
            targets=[ast.Name(id="_problems", ctx=ast.Store())],
            value=ast.List(elts=[], ctx=ast.Load()),
        )
    ]
    namespace["_dig"] = dig
    for index, spec in enumerate(specs):
        local = locals_[spec.name]
        key = f"_in{index}"
        namespace[key] = spec
        if "." in spec.name:
            read: ast.expr = ast.Call(
                func=_name("_dig"),
                args=[
                    _name(record),
                    # typeshed's ast.Constant omits tuple values, which compile() accepts
                    ast.Constant(tuple(spec.name.split("."))),  # type: ignore[arg-type]
                ],
                keywords=[],
            )
        else:
            read = ast.Call(
                func=ast.Attribute(value=_name(record), attr="get", ctx=ast.Load()),
                args=[ast.Constant(spec.name)],
                keywords=[],
            )
        body.append(ast.Assign(targets=[ast.Name(id=local, ctx=ast.Store())], value=read))
        slow = ast.Assign(
            targets=[ast.Name(id=local, ctx=ast.Store())],
            value=ast.Call(
                func=ast.Attribute(value=_name(key), attr="check", ctx=ast.Load()),
                args=[_name(local), _name("_problems")],
                keywords=[],
            ),
        )
        ok = _fast_ok(spec, _name(local), namespace, key)
        if ok is None:
            body.append(slow)
        else:
            body.append(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=ok), body=[slow], orelse=[]))
    return body


# vector ---------------------------------------------------------------------------------------


def normalise_frame(frame: pl.DataFrame, specs: list[InputSpec], error_column: str) -> pl.DataFrame:
    """Cast every input column to its type and add the per-row problem text.

    Returns
    -------
    DataFrame
        The frame with input columns normalised (bad values set to null) and ``error_column``
        holding ``"field: problem; field: problem"`` for bad rows, null for good ones (both are
        computed from the raw columns in one stage).
    """
    fixes: list[pl.Expr] = []
    problems: list[pl.Expr] = []
    for spec in specs:
        target = polars_dtype(spec.ty)
        if spec.name not in frame.columns:
            fixes.append(pl.lit(None, dtype=target).alias(spec.name))
            if spec.required:
                problems.append(pl.lit(f"{spec.name}: is required"))
            continue
        raw = pl.col(spec.name)
        dtype = frame.schema[spec.name]
        if dtype.is_float():
            raw = raw.fill_nan(None)
        value, bad_type = _cast(raw, dtype, spec, target)
        missing = raw.is_null()
        checks: list[tuple[pl.Expr, str]] = []
        if spec.required:
            checks.append((missing, "is required"))
        checks.append((bad_type, spec.type_text()))
        if spec.low is not None or spec.high is not None:
            out = pl.lit(False)
            if spec.low is not None:
                out = out | (value < spec.low)
            if spec.high is not None:
                out = out | (value > spec.high)
            checks.append((out.fill_null(False), spec.range_text()))
        if spec.enum is not None:
            checks.append(
                (
                    (~value.is_in(pl.Series(list(spec.enum)).implode())).fill_null(False),
                    spec.enum_text(),
                )
            )
        bad_any = pl.lit(False)
        for cond, text in checks:
            # one problem per field, the first that applies (as the row back end reports)
            problems.append(pl.when(cond & ~bad_any).then(pl.lit(f"{spec.name}: {text}")))
            bad_any = bad_any | cond
        fixes.append(pl.when(bad_any).then(None).otherwise(value).alias(spec.name))
    error: pl.Expr
    if problems:
        joined = pl.concat_str(problems, separator="; ", ignore_nulls=True)
        error = pl.when(joined != "").then(joined)
    else:
        error = pl.lit(None, dtype=pl.String)
    return frame.with_columns([*fixes, error.alias(error_column)])


def _cast(
    raw: pl.Expr, dtype: pl.DataType, spec: InputSpec, target: pl.DataType | None
) -> tuple[pl.Expr, pl.Expr]:
    """(normalised value, bad-type mask) for one column."""
    present = raw.is_not_null()
    never = pl.lit(False)
    kind = spec.kind
    if kind in (Kind.INTEGER, Kind.NUMBER):
        number: pl.Expr
        if not dtype.is_numeric():
            if dtype == pl.String:
                text = raw.str.strip_chars()
                number = pl.when(text.str.contains(NUMERIC_TEXT.pattern)).then(
                    text.cast(pl.Float64, strict=False)
                )
                bad = present & (number.is_null() | ~number.is_finite())
            else:
                return pl.lit(None, dtype=target), present
        else:
            number = raw.cast(pl.Float64)
            bad = present & ~number.is_finite()
        if kind is Kind.INTEGER:
            bad = bad | (present & (number % 1 != 0).fill_null(False))
            return pl.when(~bad).then(number).cast(pl.Int64, strict=False), bad
        return pl.when(~bad).then(number), bad
    if kind is Kind.STRING:
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
            return raw.cast(pl.String), never
        return pl.lit(None, dtype=pl.String), present
    if kind is Kind.BOOLEAN:
        if dtype == pl.Boolean:
            return raw, never
        return pl.lit(None, dtype=pl.Boolean), present
    if kind is Kind.DATE:
        if dtype == pl.Date:
            return raw, never
        if isinstance(dtype, pl.Datetime):
            return raw.dt.date(), never
        if dtype == pl.String:
            iso = raw.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            parsed = pl.when(iso).then(raw.str.to_date("%Y-%m-%d", strict=False))
            return parsed, present & parsed.is_null()
        return pl.lit(None, dtype=pl.Date), present
    return raw, never


def frame_problems(specs: list[InputSpec], record: Mapping[str, Any]) -> list[FieldProblem]:
    """Problems of one record (the row back end's checks, for reuse outside compiled code)."""
    problems: list[FieldProblem] = []
    for spec in specs:
        value = (
            dig(record, tuple(spec.name.split(".")))
            if "." in spec.name and spec.name not in record
            else record.get(spec.name)
        )
        spec.check(value, problems)
    return problems
