"""Static checks of decision tables: overlapping and incomplete ``unique`` tables.

Each cell is reduced to the set of values it admits on its column: a union of intervals for
numbers and dates, a finite (or co-finite) set for strings and booleans. Two rules overlap when
every column's sets intersect. Completeness is checked on a grid of representative points (every
boundary and a point between each pair), which is exact for cells built from comparisons,
ranges and value lists; cells with other expressions are skipped (reported as not analysed).

The analysis works on plain data (the table's id, its input columns and each rule's label and
test cells), so the ``table`` node calls it without this module knowing the node type.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ruleplus.expr import Compare, Field, In, IsNull, ListExpr, Literal, Logical, Node, Not

__all__ = ["table_warnings"]

_GRID_LIMIT = 20_000


def _points(cell: Node | None, column: str) -> Any:
    """A predicate over one value, or None when the cell is not analysable."""
    if cell is None:
        return lambda v: True
    if (
        isinstance(cell, Compare)
        and isinstance(cell.left, Field)
        and cell.left.name == column
        and isinstance(cell.right, Literal)
    ):
        bound, op = cell.right.value, cell.op
        ops = {
            "<": lambda v: v < bound,
            "<=": lambda v: v <= bound,
            ">": lambda v: v > bound,
            ">=": lambda v: v >= bound,
            "==": lambda v: v == bound,
            "!=": lambda v: v != bound,
        }
        return lambda v: v is not None and ops[op](v)
    if isinstance(cell, Logical):
        parts = [_points(p, column) for p in cell.operands]
        if any(p is None for p in parts):
            return None
        if cell.op == "and":
            return lambda v: all(p(v) for p in parts)
        return lambda v: any(p(v) for p in parts)
    if isinstance(cell, Not):
        inner = _points(cell.operand, column)
        return None if inner is None else (lambda v: v is not None and not inner(v))
    if (
        isinstance(cell, In)
        and isinstance(cell.container, ListExpr)
        and all(isinstance(i, Literal) for i in cell.container.items)
    ):
        values = {i.value for i in cell.container.items if isinstance(i, Literal)}
        return (
            (lambda v: v is not None and (v not in values))
            if cell.negated
            else (lambda v: v in values)
        )
    if isinstance(cell, IsNull):
        return (lambda v: v is not None) if cell.negated else (lambda v: v is None)
    return None


def _constants(cell: Node | None) -> list[Any]:
    out: list[Any] = []
    stack = [cell] if cell is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, Literal) and node.value is not None:
            out.append(node.value)
        stack.extend(node.children())
    return out


def _representatives(values: list[Any]) -> list[Any]:
    numbers = sorted({v for v in values if isinstance(v, int | float) and not isinstance(v, bool)})
    if numbers:
        reps: list[Any] = [numbers[0] - 1]
        for a, b in itertools.pairwise(numbers):
            reps.extend([a, (a + b) / 2])
        reps.extend([numbers[-1], numbers[-1] + 1])
        return reps
    others = list(
        dict.fromkeys(v for v in values if not isinstance(v, int | float) or isinstance(v, bool))
    )
    return [*others, "\x00other"] if others else [0]


def table_warnings(
    table_id: str, columns: Sequence[str], rules: Sequence[tuple[str, Sequence[Node | None]]]
) -> list[str]:
    """Warnings for a ``unique`` table: overlapping rule pairs and uncovered input combinations.

    Parameters
    ----------
    table_id : str
        The table node's id (for the messages).
    columns : sequence of str
        The field each input column tests.
    rules : sequence of (label, cells)
        Per rule, in rule order: its label and one test per column (None: any value).
    """
    preds: list[list[Any]] = []
    for _, tests in rules:
        preds.append([_points(cell, columns[k]) for k, cell in enumerate(tests)])
    if any(p is None for row in preds for p in row):
        return [
            f"table {table_id!r}: some cells use expressions; overlap/completeness not analysed"
        ]
    grids = []
    for k in range(len(columns)):
        consts = [c for _, tests in rules for c in _constants(tests[k])]
        grids.append(_representatives(consts))
    size = 1
    for g in grids:
        size *= len(g)
    if size > _GRID_LIMIT:
        return [
            f"table {table_id!r}: too many input combinations ({size}) "
            "to analyse overlap/completeness"
        ]
    warnings: list[str] = []
    overlaps: set[tuple[int, int]] = set()
    gap: tuple[Any, ...] | None = None
    for point in itertools.product(*grids):
        hits = [
            i for i, row in enumerate(preds) if all(p(v) for p, v in zip(row, point, strict=True))
        ]
        if not hits and gap is None:
            gap = point
        for a, b in itertools.combinations(hits, 2):
            overlaps.add((a, b))
    for a, b in sorted(overlaps)[:10]:
        warnings.append(f"table {table_id!r}: rules {rules[a][0]} and {rules[b][0]} overlap")
    if gap is not None:
        shown = ", ".join(
            f"{c}={v!r}" for c, v in zip(columns, gap, strict=True) if v != "\x00other"
        )
        warnings.append(
            f"table {table_id!r} is incomplete: no rule matches e.g. {shown or 'some inputs'}"
        )
    return warnings
