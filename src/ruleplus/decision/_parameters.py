"""Strategy parameters: declared, typed values that overrides replace without a new version.

A parameter is read by expressions and table cells like an input, but its value is fixed when
the strategy is compiled (:meth:`CompiledStrategy.with_parameters`): the row program holds it as
a constant and the vector program as a literal, so an override costs nothing per row and an
application can never set it (a request field of the same name is not read).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruleplus.decision._document import ParameterField
from ruleplus.errors import ParameterError
from ruleplus.expr import Kind, Ty

__all__ = [
    "ParameterSpec",
    "check_parameter_overrides",
    "parameter_specs",
    "parse_parameter_text",
    "resolve_parameters",
]

_KINDS = {
    "integer": Kind.INTEGER,
    "number": Kind.NUMBER,
    "string": Kind.STRING,
    "boolean": Kind.BOOLEAN,
}
_TEXT_TRUE = {"true", "yes", "1", "on"}
_TEXT_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter.

    Parameters
    ----------
    name : str
        The name expressions read.
    type : str
        ``integer``, ``number``, ``string`` or ``boolean``.
    default : int, float, str or bool
        The value when nothing overrides it (already checked against the declaration).
    min, max : float or None
        Inclusive bounds (numbers).
    enum : tuple or None
        The allowed values.
    description : str
        What it is for (shown in the console and the lab).
    """

    name: str
    type: str
    default: Any
    min: float | None = None
    max: float | None = None
    enum: tuple[Any, ...] | None = None
    description: str = ""

    @property
    def ty(self) -> Ty:
        """The expression type (never null)."""
        return Ty(_KINDS[self.type], nullable=False)

    def check(self, value: Any, *, strategy: str | None = None) -> Any:
        """The value converted to the declared type, or a :class:`ParameterError`.

        Integers are accepted for numbers (and become floats); nothing else is converted:
        ``"650"`` is not a number here (see :func:`parse_parameter_text` for text).
        """

        def fail(expected: str) -> ParameterError:
            return ParameterError(
                f"parameter {self.name!r} must be {expected}, got {value!r}",
                strategy=strategy,
                field=self.name,
            )

        if self.type == "boolean":
            if not isinstance(value, bool):
                raise fail("true or false")
            checked: Any = value
        elif self.type == "string":
            if not isinstance(value, str):
                raise fail("a string")
            checked = value
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail("an integer" if self.type == "integer" else "a number")
            if self.type == "integer":
                if isinstance(value, float):
                    if not value.is_integer():
                        raise fail("an integer")
                    value = int(value)
                if abs(value) > 2**63 - 1:
                    raise fail("an integer within 64 bits")
                checked = int(value)
            else:
                if not math.isfinite(value):
                    raise fail("a finite number")
                checked = float(value)
            if self.min is not None and checked < self.min:
                raise fail(f"at least {_number(self.min)}")
            if self.max is not None and checked > self.max:
                raise fail(f"at most {_number(self.max)}")
        if self.enum is not None and checked not in self.enum:
            raise fail("one of " + ", ".join(repr(v) for v in self.enum))
        return checked

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly declaration (for the console, the lab and ``strategies show``)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.description:
            out["description"] = self.description
        return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def parameter_specs(
    declared: Mapping[str, ParameterField], *, strategy: str | None = None
) -> dict[str, ParameterSpec]:
    """Check a document's ``parameters`` section (defaults inside their own bounds).

    Raises
    ------
    ParameterError
        A default that does not fit its type, bounds or allowed values, or bounds on a
        parameter that is not a number.
    """
    specs: dict[str, ParameterSpec] = {}
    for name, doc in declared.items():
        if (doc.min is not None or doc.max is not None) and doc.type not in ("integer", "number"):
            raise ParameterError(
                f"parameter {name!r}: min/max apply to integer and number parameters only",
                strategy=strategy,
                field=name,
            )
        if doc.min is not None and doc.max is not None and doc.min > doc.max:
            raise ParameterError(
                f"parameter {name!r}: min {doc.min} is above max {doc.max}",
                strategy=strategy,
                field=name,
            )
        spec = ParameterSpec(
            name,
            doc.type,
            doc.default,
            doc.min,
            doc.max,
            tuple(doc.enum) if doc.enum is not None else None,
            doc.description,
        )
        try:
            default = spec.check(doc.default, strategy=strategy)
        except ParameterError as exc:
            raise ParameterError(
                f"the default of {exc.message.removeprefix('parameter ')}",
                strategy=strategy,
                field=name,
            ) from None
        enum = spec.enum
        if enum is not None:
            enum = tuple(spec.check(v, strategy=strategy) for v in enum) if enum else enum
        specs[name] = ParameterSpec(
            name, doc.type, default, doc.min, doc.max, enum, doc.description
        )
    return specs


def resolve_parameters(
    specs: Mapping[str, ParameterSpec],
    overrides: Mapping[str, Any] | None,
    *,
    strategy: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The effective values, and the overrides that differ from the defaults.

    Parameters
    ----------
    specs : mapping
        The declarations (:func:`parameter_specs`).
    overrides : mapping or None
        Name -> value.
    strategy : str, optional
        For the error's context.

    Returns
    -------
    values, changed : dict, dict
        Every parameter's value; only the overridden ones that differ from their default.

    Raises
    ------
    ParameterError
        An unknown name, or a value of the wrong type or out of range.
    """
    values = {name: spec.default for name, spec in specs.items()}
    changed: dict[str, Any] = {}
    for name, raw in (overrides or {}).items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            raise ParameterError(
                f"the strategy declares no parameter {name!r} (it declares: {known})",
                strategy=strategy,
                field=name,
            )
        value = spec.check(raw, strategy=strategy)
        values[name] = value
        if value != spec.default or type(value) is not type(spec.default):
            changed[name] = value
    return values, changed


def check_parameter_overrides(
    declared: Mapping[str, ParameterField],
    overrides: Mapping[str, Any] | None,
    *,
    strategy: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Overrides checked against a document's declaration, converted to the declared types.

    For a deployment, which stores them before any process compiles the strategy.

    Raises
    ------
    ParameterError
        An undeclared name or a value that does not fit (the context names the version).
    """
    try:
        specs = parameter_specs(declared, strategy=strategy)
        values, _ = resolve_parameters(specs, overrides, strategy=strategy)
        return {name: values[name] for name in overrides or {}}
    except ParameterError as exc:
        if version is None:
            raise
        raise ParameterError(
            f"{exc.message} (version {version})",
            strategy=strategy,
            version=version,
            field=exc.context.get("field"),
        ) from None


def parse_parameter_text(spec: ParameterSpec, text: str) -> Any:
    """A value typed on a command line (``--set cutoff=620``) in the declared type.

    Raises
    ------
    ParameterError
        The text does not read as the declared type (or is out of range).
    """
    raw: Any = text
    stripped = text.strip()
    if spec.type == "boolean":
        lowered = stripped.lower()
        if lowered in _TEXT_TRUE:
            raw = True
        elif lowered in _TEXT_FALSE:
            raw = False
    elif spec.type == "integer":
        with contextlib.suppress(ValueError):
            raw = int(stripped)
    elif spec.type == "number":
        with contextlib.suppress(ValueError):
            raw = float(stripped)
    return spec.check(raw)
