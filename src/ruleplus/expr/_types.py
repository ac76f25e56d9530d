"""Value types of the expression language and their nullability."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Kind", "Ty", "parse_type_name"]


class Kind(StrEnum):
    """Scalar kinds. ``INTEGER`` is a sub-kind of ``NUMBER``."""

    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    LIST = "list"
    NULL = "null"  # the type of the literal ``null``: fits any kind
    ANY = "any"


@dataclass(frozen=True)
class Ty:
    """A type: a kind, whether it may be null, and for lists the element kind.

    Parameters
    ----------
    kind : Kind
        The scalar kind.
    nullable : bool, default=True
        Whether a value of this type may be null at run time.
    element : Kind or None, default=None
        Element kind of a list.
    """

    kind: Kind
    nullable: bool = True
    element: Kind | None = None

    @property
    def numeric(self) -> bool:
        """True for integers and numbers (and the null literal)."""
        return self.kind in (Kind.INTEGER, Kind.NUMBER, Kind.NULL, Kind.ANY)

    def fits(self, other: Kind) -> bool:
        """Whether a value of this type can stand where ``other`` is expected."""
        if self.kind in (Kind.NULL, Kind.ANY) or other is Kind.ANY:
            return True
        if other is Kind.NUMBER:
            return self.kind in (Kind.INTEGER, Kind.NUMBER)
        return self.kind is other

    def with_nullable(self, nullable: bool) -> Ty:
        """Return the same type with another nullability."""
        return Ty(self.kind, nullable, self.element)

    def __str__(self) -> str:
        base = (
            f"list[{self.element.value}]"
            if self.kind is Kind.LIST and self.element
            else self.kind.value
        )
        return base + ("?" if self.nullable and self.kind is not Kind.NULL else "")


_NAMES = {
    "int": Kind.INTEGER,
    "integer": Kind.INTEGER,
    "number": Kind.NUMBER,
    "float": Kind.NUMBER,
    "decimal": Kind.NUMBER,
    "string": Kind.STRING,
    "str": Kind.STRING,
    "boolean": Kind.BOOLEAN,
    "bool": Kind.BOOLEAN,
    "date": Kind.DATE,
}


def parse_type_name(name: str) -> tuple[Kind, Kind | None]:
    """Parse a schema type name (``integer``, ``number``, ``list[string]``…).

    Returns
    -------
    tuple
        ``(kind, element kind or None)``.

    Raises
    ------
    ValueError
        If the name is not a known type.
    """
    text = name.strip().lower()
    if text.startswith("list[") and text.endswith("]"):
        element, _ = parse_type_name(text[5:-1])
        if element is Kind.LIST:
            raise ValueError(f"nested lists are not supported: {name!r}")
        return Kind.LIST, element
    if text in _NAMES:
        return _NAMES[text], None
    known = ", ".join(sorted({*_NAMES, "list[...]"}))
    raise ValueError(f"unknown type {name!r}; expected one of {known}")
