"""Input names of exported models: a data column as an identifier of the expression language.

Below the estimators (which name their inputs when fitted) and the exports (which write them):
:class:`~ruleplus.modeling.GBMClassifier` and :mod:`ruleplus.modeling.export` both use it.
"""

from __future__ import annotations

import keyword
import re

from ruleplus.expr import KEYWORDS

__all__ = ["field_name", "field_names"]


def field_name(column: str) -> str:
    """An identifier the expression language accepts for ``column`` (``a-b`` → ``a_b``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", column)
    if not name or name[0].isdigit() or name[0] == "_":
        name = f"f_{name.lstrip('_')}" if name else "f"
    if name in KEYWORDS or keyword.iskeyword(name):
        name = f"{name}_"
    return name


def field_names(columns: list[str]) -> dict[str, str]:
    """Column -> unique identifier for each column (suffixes settle clashes)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        base = field_name(column)
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out[column] = name
    return out
