"""ZEN values: JSON in, decimals inside, JSON out; zen's deep merge and dotted inserts.

zen computes in 96-bit decimals (``0.1 + 0.2 == 0.3``), so numbers become
:class:`decimal.Decimal` on the way in (a float through its shortest text, as JSON spells it)
and plain ``int``/``float`` on the way out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, Overflow
from typing import Any

from ruleplus.errors import EvaluationError

__all__ = [
    "CLOCK",
    "CTX",
    "ZenRuntimeError",
    "dot_insert",
    "fit",
    "from_json",
    "merge",
    "to_json",
    "type_name",
]

CLOCK: list[Callable[[], dt.datetime]] = [lambda: dt.datetime.now(dt.UTC)]
"""``CLOCK[0]()`` is "now" for ``date("now")`` and ``d()`` (replaceable, e.g. to replay
recorded tests)."""

CTX = Context(prec=29, rounding=ROUND_HALF_EVEN, Emax=28, Emin=-28)
"""Arithmetic context: up to 29 significant digits; :func:`fit` then applies zen's limits."""
_NARROW = Context(prec=28, rounding=ROUND_HALF_EVEN)
_MANTISSA = 2**96 - 1
_SCALE = Decimal(1).scaleb(-28)
_MAX = Decimal(_MANTISSA)


def fit(value: Decimal) -> Decimal:
    """``value`` as a 96-bit decimal holds it (zen's rust_decimal): at most 28 decimal places
    and a mantissa below 2**96 (29 digits when they fit, else 28)."""
    if value.adjusted() >= 28 and abs(value) > _MAX:
        raise Overflow("number overflow")
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity: never produced by zen's arithmetic
        raise Overflow("number overflow")
    if exponent < -28:
        value = value.quantize(_SCALE, rounding=ROUND_HALF_EVEN, context=CTX)
        _, digits, exponent = value.as_tuple()
    if len(digits) > 28 and abs(value.scaleb(-int(exponent))) > _MANTISSA:
        value = _NARROW.plus(value)
    return value


class ZenRuntimeError(EvaluationError):
    """An expression failed at run time the way zen fails (``null + 1``, ``"a" < "b"``)."""


def type_name(value: Any) -> str:
    """zen's name for a value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return str(getattr(value, "zen_type", "dynamic"))


def from_json(value: Any) -> Any:
    """A JSON value (``json.loads`` output) with its numbers as decimals."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Mapping):
        return {str(k): from_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_json(v) for v in value]
    raise ZenRuntimeError(f"unsupported input value of type {type(value).__name__}")


def to_json(value: Any) -> Any:
    """A ZEN value as plain JSON: integral decimals as ``int``, others as ``float``."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 2**63:
            return int(value)
        return float(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    to_value = getattr(value, "to_json", None)
    return to_value() if callable(to_value) else str(value)


def dot_insert(target: dict[str, Any], key: str, value: Any) -> None:
    """``target[a][b][c] = value`` for ``key == "a.b.c"``, creating objects on the way.

    As in zen, a non-object on the path stops the insert silently.
    """
    parts = key.split(".")
    node: Any = target
    for part in parts[:-1]:
        if not isinstance(node, dict):
            return
        if part not in node:  # a null already there blocks the path, as in zen
            node[part] = {}
        node = node[part]
    if isinstance(node, dict):
        node[parts[-1]] = value


def merge(doc: Any, patch: Any) -> Any:
    """zen's merge of node outputs: objects deep-merged (a null value deletes the key), an
    array patch replaces the document, any other patch leaves it unchanged. Returns a new
    value; neither argument is modified.
    """
    if isinstance(patch, list):
        return list(patch)
    if not isinstance(patch, dict):
        return doc
    if not isinstance(doc, dict):
        doc = {}
    return _merge_objects(doc, patch)


def _merge_objects(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_objects(out[key], value)
        else:
            out[key] = value
    return out
