"""Run a compiled flow over a whole DataFrame (the vector back end of a strategy)."""

from __future__ import annotations

from typing import Any

import polars as pl

from ruleplus.decision._compile import FlowProgram
from ruleplus.decision._graph import END
from ruleplus.decision._inputs import ERROR_COLUMN, normalise_frame
from ruleplus.decision.nodes import VecGen
from ruleplus.expr import polars_dtype

__all__ = ["run_frame"]


def run_frame(
    program: FlowProgram, frame: pl.DataFrame, *, reasons: bool = False, keep: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Evaluate every row; return the outputs, ``_error`` and the optional reasons/arm/kept columns.

    Rows that fail the input schema get their problems in ``_error`` and null outputs; nothing
    is dropped, and the output has the input's row order.
    """
    constants = {
        name: pl.lit(value, dtype=polars_dtype(program.parameter_types[name]))
        for name, value in program.parameters.items()
    }
    g = VecGen(normalise_frame(frame, program.specs, ERROR_COLUMN), constants)
    graph = program.graph
    incoming: dict[str, list[pl.Expr]] = {n: [] for n in [*graph.topo, END]}
    arm: Any = None
    for node_id in graph.topo:
        node = program.nodes[node_id]
        if graph.on_every_path(node_id) or node_id == graph.start:
            mask: pl.Expr | None = None
        else:
            edges = incoming[node_id]
            combined = edges[0]
            for e in edges[1:]:
                combined = combined | e
            mask = pl.col(g.column(combined))
        if node.targets:
            for cond, target, arm_name in node.vector_branches(g):
                edge = cond if cond is not None else pl.lit(True)
                if mask is not None:
                    edge = mask & edge
                edge_col = pl.col(g.column(edge))
                incoming[target].append(edge_col)
                if arm_name is not None:
                    label = pl.lit(arm_name)
                    arm = (
                        pl.when(edge_col).then(label)
                        if arm is None
                        else arm.when(edge_col).then(label)
                    )
        else:
            node.emit_vector(g, mask)
            for target in graph.succ[node_id]:
                incoming[target].append(mask if mask is not None else pl.lit(True))
    g.flush()
    if g.errors:
        combined = pl.concat_str(
            [pl.col(ERROR_COLUMN), *g.errors], separator="; ", ignore_nulls=True
        )
        g.frame = g.frame.with_columns(pl.when(combined != "").then(combined).alias(ERROR_COLUMN))
    bad = pl.col(ERROR_COLUMN).is_not_null()
    columns: list[pl.Expr] = []
    for name in keep:
        columns.append(pl.col(name) if name in frame.columns else pl.lit(None).alias(name))
    for name in program.outputs:
        dtype = polars_dtype(program.output_types[name])
        value = pl.col(name) if name in g.known else pl.lit(None, dtype=dtype)
        columns.append(pl.when(~bad).then(value).alias(name))
    checked: pl.Expr | None = None
    if reasons:
        empty = pl.lit([], dtype=pl.List(pl.String))
        if g.reasons:
            codes, checked = _reason_lists(g)
            codes = pl.when(~bad).then(codes).otherwise(empty)
        else:
            codes = empty
        columns.append(codes.alias("reasons"))
        if arm is not None:
            columns.append(arm.alias("arm"))
    columns.append(pl.col(ERROR_COLUMN))
    if checked is None:
        return g.frame.select(columns).collect()
    out = g.frame.with_columns(checked.alias(_CHECK)).select([*columns, pl.col(_CHECK)]).collect()
    if bool(out.get_column(_CHECK).all()):
        return out.drop(_CHECK)
    # a code held the separator or was empty text: the exact (slower) concatenation instead
    exact = pl.when(~bad).then(_concatenated(g)).otherwise(empty)
    return out.drop(_CHECK).with_columns(g.frame.select(exact.alias("reasons")).collect())


_SEP = "\x1f"  # the unit separator: not in a reason code (checked per row, see _reason_lists)
_CHECK = "_reasons_exact"


def _reason_lists(g: VecGen) -> tuple[pl.Expr, pl.Expr]:
    """Every row's reason codes in order, and whether that row's list is certainly exact.

    Joining the codes into one text and splitting it again is several times faster in polars
    than concatenating a dozen list columns; it is exact unless a code contains the separator
    or is empty text, which the per-row count of codes catches (then :func:`_concatenated`).
    """
    g.flush()
    names = [f"_r{i}" for i in range(len(g.reasons))]
    g.frame = g.frame.with_columns([r.alias(n) for r, n in zip(g.reasons, names, strict=True)])
    schema = g.frame.collect_schema()
    listed = [n for n in names if isinstance(schema[n], pl.List)]
    texts: list[pl.Expr] = []
    counts: list[pl.Expr] = []
    for n in names:
        if n in listed:
            present = pl.col(n).list.drop_nulls()
            texts.append(pl.when(present.list.len() > 0).then(present.list.join(_SEP)))
            counts.append(present.list.len().fill_null(0))
        else:
            texts.append(pl.col(n).cast(pl.String))
            counts.append(pl.col(n).is_not_null().cast(pl.UInt32))
    joined = pl.concat_str(texts, separator=_SEP, ignore_nulls=True)
    codes = joined.str.split(_SEP).list.eval(pl.element().filter(pl.element() != ""))
    return codes, codes.list.len() == pl.sum_horizontal(counts)


def _concatenated(g: VecGen) -> pl.Expr:
    empty = pl.lit([], dtype=pl.List(pl.String))
    # a null list would null the whole concatenation: normalise every entry to a list
    parts = [pl.concat_list([r]).fill_null(empty) for r in g.reasons]
    return pl.concat_list(parts).list.drop_nulls()
