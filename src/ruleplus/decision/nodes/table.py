"""``table`` node: a decision table with the DMN hit policies.

- ``unique``: at most one rule may match (more is an evaluation error); ``first``: the first
  match in rule order; ``priority``: the match whose outputs rank highest in each output's
  ``priority`` list; ``any``: several may match if their outputs agree;
- ``collect`` (optionally with ``sum``/``min``/``max``/``count``), ``rule_order``,
  ``output_order``: every match, as lists (or aggregated).

No match gives null outputs (``count`` gives 0). ``priority`` and ``output_order`` need literal
output cells; they are compiled by sorting the rules, so they cost what ``first`` costs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ruleplus.decision._analysis import table_warnings
from ruleplus.decision._document import TableNode, TableOutput, TableRule
from ruleplus.decision.nodes._base import (
    CompiledNode,
    NodeContext,
    RowGen,
    VecGen,
    append_to,
    first_match,
    literal_node,
    reads_of,
)
from ruleplus.errors import EvaluationError
from ruleplus.expr import Field, Kind, Literal, Node, Ty, polars_dtype

__all__ = ["CompiledTable", "check_table"]

_SINGLE = ("unique", "first", "priority", "any")


@dataclass
class _Row:
    label: str
    index: int
    tests: list[Node | None]
    outputs: list[Node]


@dataclass
class CompiledTable(CompiledNode):
    """A checked decision table."""

    hit_policy: str = "unique"
    aggregation: str | None = None
    input_fields: list[str] = field(default_factory=list)
    temps: list[tuple[str, Node]] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    reason_outputs: list[int] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    strategy_id: str = ""

    # shared --------------------------------------------------------------------------------
    def _fail(self, message: str) -> EvaluationError:
        return EvaluationError(message, strategy=self.strategy_id, node=self.id)

    def _test_trees(self, row: _Row) -> list[Node]:
        return [t for t in row.tests if t is not None]

    # row -------------------------------------------------------------------------------------
    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        out: list[ast.stmt] = [g.store(name, g.expr(tree)) for name, tree in self.temps]
        if self.hit_policy in ("first", "priority"):
            out.extend(self._row_first(g))
        elif self.hit_policy in ("unique", "any"):
            out.extend(self._row_single_checked(g))
        else:
            out.extend(self._row_collect(g))
        for k in self.reason_outputs:
            name = self.output_names[k]
            if self.hit_policy in _SINGLE:
                out.append(g.reason(g.load(name), guard_null=True))
            else:
                out.append(
                    ast.For(
                        target=ast.Name(id="_rc", ctx=ast.Store()),
                        iter=g.load(name),
                        body=[g.reason(ast.Name(id="_rc", ctx=ast.Load()))],
                        orelse=[],
                    )
                )
        return out

    def _cond(self, g: RowGen, row: _Row) -> ast.expr:
        tests = [g.cond(t) for t in self._test_trees(row)]
        if not tests:
            return ast.Constant(True)
        return tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.And(), values=tests)

    def _assign_outputs(self, g: RowGen, row: _Row | None) -> list[ast.stmt]:
        if row is None:
            return [g.store(n, ast.Constant(None)) for n in self.output_names]
        return [g.store(n, g.expr(t)) for n, t in zip(self.output_names, row.outputs, strict=True)]

    def _row_first(self, g: RowGen) -> list[ast.stmt]:
        branches: list[tuple[ast.expr, list[ast.stmt]]] = []
        for row in self.rows:
            body = self._assign_outputs(g, row) + g.detail(ast.Constant(row.label))
            test = self._cond(g, row)
            if isinstance(test, ast.Constant) and test.value is True:
                # a catch-all row: nothing after it can match, and it is the default
                return first_match(branches, body)
            branches.append((test, body))
        return first_match(branches, self._assign_outputs(g, None) + g.detail(ast.Constant(None)))

    def _hits(self, g: RowGen) -> list[ast.stmt]:
        out: list[ast.stmt] = [
            ast.Assign(
                targets=[ast.Name(id="_hits", ctx=ast.Store())],
                value=ast.List(elts=[], ctx=ast.Load()),
            )
        ]
        for row in self.rows:
            append = append_to("_hits", ast.Constant(row.index))
            out.append(ast.If(test=self._cond(g, row), body=[append], orelse=[]))
        return out

    def _row_single_checked(self, g: RowGen) -> list[ast.stmt]:
        out = self._hits(g)
        hits = ast.Name(id="_hits", ctx=ast.Load())
        # _choose returns the index to use, or raises when the hit policy is violated
        values = (
            ast.List(
                elts=[
                    ast.Tuple(elts=[g.expr(t) for t in row.outputs], ctx=ast.Load())
                    for row in self.rows
                ],
                ctx=ast.Load(),
            )
            if self.hit_policy == "any"
            else ast.Constant(None)
        )
        choose = g.helper(f"_choose_{self.index}", self._chooser())
        out.append(
            ast.Assign(
                targets=[ast.Name(id="_h", ctx=ast.Store())],
                value=ast.Call(func=choose, args=[hits, values], keywords=[]),
            )
        )
        chosen: list[tuple[ast.expr, list[ast.stmt]]] = [
            (
                ast.Compare(
                    left=ast.Name(id="_h", ctx=ast.Load()),
                    ops=[ast.Eq()],
                    comparators=[ast.Constant(row.index)],
                ),
                self._assign_outputs(g, row),
            )
            for row in self.rows
        ]
        out.extend(first_match(chosen, self._assign_outputs(g, None)))
        out.extend(
            g.detail(
                ast.Call(
                    func=g.helper("_labels_of", _labels_of),
                    args=[hits, g.const(self._labels())],
                    keywords=[],
                )
            )
        )
        return out

    def _labels(self) -> dict[int, str]:
        return {r.index: r.label for r in self.rows}

    def _chooser(self) -> Any:
        policy = self.hit_policy
        labels = self._labels()
        fail = self._fail

        def choose(hits: list[int], values: list[tuple[Any, ...]] | None) -> int | None:
            if not hits:
                return None
            if len(hits) > 1:
                if policy == "unique":
                    shown = ", ".join(labels[h] for h in hits)
                    raise fail(f"hit policy 'unique' violated: rules {shown} all match")
                assert values is not None
                if len({values[h] for h in hits}) > 1:
                    shown = ", ".join(labels[h] for h in hits)
                    raise fail(
                        f"hit policy 'any' violated: rules {shown} match with different outputs"
                    )
            return hits[0]

        return choose

    def _row_collect(self, g: RowGen) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        lists = [f"_c{self.index}_{k}" for k in range(len(self.output_names))]
        for name in lists:
            out.append(
                ast.Assign(
                    targets=[ast.Name(id=name, ctx=ast.Store())],
                    value=ast.List(elts=[], ctx=ast.Load()),
                )
            )
        out.extend(g.detail_list())
        for row in self.rows:
            body: list[ast.stmt] = []
            for lst, tree in zip(lists, row.outputs, strict=True):
                tmp = g.temp()
                bind = ast.NamedExpr(target=ast.Name(id=tmp, ctx=ast.Store()), value=g.expr(tree))
                append = append_to(lst, ast.Name(id=tmp, ctx=ast.Load()))
                body.append(
                    ast.If(
                        test=ast.Compare(
                            left=bind, ops=[ast.IsNot()], comparators=[ast.Constant(None)]
                        ),
                        body=[append],
                        orelse=[],
                    )
                )
            body.extend(g.add_detail(ast.Constant(row.label)))
            out.append(ast.If(test=self._cond(g, row), body=body, orelse=[]))
        agg = self.aggregation
        for name, lst in zip(self.output_names, lists, strict=True):
            value: ast.expr = ast.Name(id=lst, ctx=ast.Load())
            if agg == "count":
                value = ast.Call(func=g.helper("_len", len), args=[value], keywords=[])
            elif agg in ("sum", "min", "max"):
                fn = {"sum": _sum_or_none, "min": _min_or_none, "max": _max_or_none}[agg]
                value = ast.Call(func=g.helper(f"_{agg}_or_none", fn), args=[value], keywords=[])
            out.append(g.store(name, value))
        return out

    # vector ------------------------------------------------------------------------------------
    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        for name, tree in self.temps:
            g.assign(name, g.expr(tree), None, tree.ty)
        g.flush()
        conds: list[pl.Expr] = []
        for row in self.rows:
            tests = [g.expr(t).fill_null(False) for t in self._test_trees(row)]
            cond = pl.lit(True)
            for t in tests:
                cond = cond & t
            conds.append(cond)
        if self.hit_policy in _SINGLE:
            self._vector_single(g, conds, mask)
        else:
            self._vector_collect(g, conds, mask)
        g.flush()
        for k in self.reason_outputs:
            name = self.output_names[k]
            g.reason(pl.col(name) if mask is None else pl.when(mask).then(pl.col(name)))

    def _vector_single(self, g: VecGen, conds: list[pl.Expr], mask: pl.Expr | None) -> None:
        # one chain finds the matching row; outputs are looked up from it (not one chain each)
        chain: Any = None
        for row, cond in zip(self.rows, conds, strict=True):
            label = pl.lit(row.index, dtype=pl.Int32)
            chain = pl.when(cond).then(label) if chain is None else chain.when(cond).then(label)
        hit = pl.col(g.column(chain.otherwise(pl.lit(None, dtype=pl.Int32))))
        if self.hit_policy in ("unique", "any"):
            count = pl.sum_horizontal([c.cast(pl.Int32) for c in conds])
            bad = count > 1
            if self.hit_policy == "any":
                bad = bad & self._vector_any_conflict(g, conds)
            if mask is not None:
                bad = bad & mask
            text = f"{self.id}: hit policy {self.hit_policy!r} violated (several rules match)"
            g.error(pl.when(bad).then(pl.lit(text)))
        for k, name in enumerate(self.output_names):
            ty = self.assigns[name]
            cells = [row.outputs[k] for row in self.rows]
            if all(isinstance(c, Literal) for c in cells):
                mapping = {
                    row.index: c.value
                    for row, c in zip(self.rows, cells, strict=True)
                    if isinstance(c, Literal)
                }
                value = hit.replace_strict(mapping, default=None, return_dtype=polars_dtype(ty))
            else:
                pick: Any = None
                for row, cell in zip(self.rows, cells, strict=True):
                    cond = hit == row.index
                    pick = (
                        pl.when(cond).then(g.expr(cell))
                        if pick is None
                        else pick.when(cond).then(g.expr(cell))
                    )
                value = _typed(pick.otherwise(pl.lit(None)), ty)
            g.assign(name, value, mask, ty)

    def _vector_any_conflict(self, g: VecGen, conds: list[pl.Expr]) -> pl.Expr:
        """True where a matching rule's outputs differ from the first match's (hit policy any)."""
        conflict = pl.lit(False)
        for k, name in enumerate(self.output_names):
            ty = self.assigns[name]
            values = [_typed(g.expr(row.outputs[k]), ty) for row in self.rows]
            first: Any = None
            for cond, value in zip(conds, values, strict=True):
                first = pl.when(cond).then(value) if first is None else first.when(cond).then(value)
            first = first.otherwise(pl.lit(None, dtype=polars_dtype(ty)))
            for cond, value in zip(conds, values, strict=True):
                conflict = conflict | (cond & ~value.eq_missing(first))
        return conflict

    def _vector_collect(self, g: VecGen, conds: list[pl.Expr], mask: pl.Expr | None) -> None:
        for k, name in enumerate(self.output_names):
            ty = self.assigns[name]
            vals = [
                pl.when(c).then(g.expr(row.outputs[k]))
                for row, c in zip(self.rows, conds, strict=True)
            ]
            agg = self.aggregation
            if agg == "count":
                value: pl.Expr = pl.sum_horizontal([v.is_not_null().cast(pl.Int64) for v in vals])
            elif agg == "sum":
                present = pl.any_horizontal([v.is_not_null() for v in vals])
                value = pl.when(present).then(pl.sum_horizontal(vals))
            elif agg == "min":
                value = pl.min_horizontal(vals)
            elif agg == "max":
                value = pl.max_horizontal(vals)
            else:
                value = pl.concat_list(vals).list.drop_nulls()
            g.assign(name, value, mask, ty)


def _typed(value: pl.Expr, ty: Ty) -> pl.Expr:
    dtype = polars_dtype(ty)
    return value.cast(dtype) if dtype is not None else value


def _labels_of(hits: list[int], labels: dict[int, str]) -> list[str]:
    return [labels[h] for h in hits]


def _sum_or_none(values: list[Any]) -> Any:
    return sum(values) if values else None


def _min_or_none(values: list[Any]) -> Any:
    return min(values) if values else None


def _max_or_none(values: list[Any]) -> Any:
    return max(values) if values else None


# checking -------------------------------------------------------------------------------------


def _output_cell(
    ctx: NodeContext, out: TableOutput, raw: Any, env: dict[str, Ty], *path: Any
) -> Node:
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", "-")):
        return literal_node(None)
    if isinstance(raw, str) and raw.startswith("="):
        return ctx.expr(raw[1:], env, *path)
    kind = out.type
    if kind == "expression":
        return ctx.expr(raw, env, *path)
    if kind == "string":
        return literal_node(str(raw))
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise ctx.error(f"output {out.name!r} is boolean, got {raw!r}", *path)
        return literal_node(raw)
    try:
        number = float(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise ctx.error(f"output {out.name!r} is a {kind}, got {raw!r}", *path)
    if kind == "integer":
        if not number.is_integer():
            raise ctx.error(f"output {out.name!r} is an integer, got {raw!r}", *path)
        return literal_node(int(number))
    return literal_node(number)


def _out_ty(out: TableOutput, cells: list[Node]) -> Ty:
    kinds = {c.ty.kind for c in cells if c.ty is not None and c.ty.kind is not Kind.NULL}
    if out.type == "integer":
        return Ty(Kind.INTEGER)
    if out.type == "number":
        return Ty(Kind.NUMBER)
    if out.type == "string":
        return Ty(Kind.STRING)
    if out.type == "boolean":
        return Ty(Kind.BOOLEAN)
    if kinds <= {Kind.INTEGER, Kind.NUMBER} and kinds:
        return Ty(Kind.INTEGER if kinds == {Kind.INTEGER} else Kind.NUMBER)
    if len(kinds) == 1:
        return Ty(kinds.pop())
    if not kinds:
        return Ty(Kind.STRING)
    raise TypeError(f"output {out.name!r} mixes {', '.join(sorted(k.value for k in kinds))}")


def check_table(doc: TableNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """Check cells, resolve hit policy and order rules."""
    outputs = [TableOutput(name=o) if isinstance(o, str) else o for o in doc.outputs]
    if doc.aggregation and doc.hit_policy != "collect":
        raise ctx.error("'aggregation' goes with hit policy 'collect'", "aggregation")
    if doc.aggregation and doc.aggregation != "count" and len(outputs) != 1:
        raise ctx.error("collect with sum/min/max needs exactly one output column", "aggregation")
    local = dict(env)
    input_fields: list[str] = []
    temps: list[tuple[str, Node]] = []
    for k, text in enumerate(doc.inputs):
        tree = ctx.expr(text, env, "inputs", k)
        if type(tree) is Field:
            input_fields.append(str(tree.name))
        else:
            name = f"_{doc.id}_in{k}"
            assert tree.ty is not None
            local[name] = tree.ty
            temps.append((name, tree))
            input_fields.append(name)
    rows: list[_Row] = []
    for i, raw in enumerate(doc.rules):
        rule = raw if isinstance(raw, TableRule) else _split_row(raw, len(doc.inputs), ctx, i)
        if len(rule.when) != len(doc.inputs):
            raise ctx.error(
                f"rule {i + 1} has {len(rule.when)} input cells, "
                f"the table has {len(doc.inputs)} inputs",
                "rules",
                i,
            )
        if len(rule.then) != len(outputs):
            raise ctx.error(
                f"rule {i + 1} has {len(rule.then)} output cells, "
                f"the table has {len(outputs)} outputs",
                "rules",
                i,
            )
        tests = [
            ctx.test(cell, input_fields[k], local, "rules", i) for k, cell in enumerate(rule.when)
        ]
        for t in tests:
            if t is not None and t.ty is not None and not t.ty.fits(Kind.BOOLEAN):
                raise ctx.error(f"rule {i + 1}: a cell must be a test", "rules", i)
        cells = [
            _output_cell(ctx, out, cell, local, "rules", i)
            for out, cell in zip(outputs, rule.then, strict=True)
        ]
        rows.append(_Row(rule.id or f"r{i + 1}", i, tests, cells))
    if not rows:
        raise ctx.error("a table needs at least one rule", "rules")
    assigns: dict[str, Ty] = {}
    for k, out in enumerate(outputs):
        try:
            ty = _out_ty(out, [r.outputs[k] for r in rows])
        except TypeError as exc:
            raise ctx.error(str(exc), "outputs", k) from None
        if doc.hit_policy in _SINGLE or doc.aggregation in ("sum", "min", "max"):
            catch_all = doc.hit_policy in ("first", "priority") and any(
                all(t is None for t in r.tests) for r in rows
            )
            cells_present = all(
                c.ty is not None and not c.ty.nullable for c in (r.outputs[k] for r in rows)
            )
            assigns[out.name] = ty.with_nullable(not (catch_all and cells_present))
        elif doc.aggregation == "count":
            assigns[out.name] = Ty(Kind.INTEGER, False)
        else:
            assigns[out.name] = Ty(Kind.LIST, False, ty.kind)
    if doc.hit_policy in ("priority", "output_order"):
        rows = _sorted_by_priority(rows, outputs, ctx)
    reason_outputs = [k for k, o in enumerate(outputs) if o.reason]
    for k in reason_outputs:
        for r in rows:
            cell = r.outputs[k]
            if isinstance(cell, Literal) and cell.value is not None:
                ctx.check_reason(cell.value, "rules", r.index)
    reads = [
        f
        for f in reads_of(
            *(t for r in rows for t in r.tests),
            *(t for _, t in temps),
            *(c for r in rows for c in r.outputs),
        )
        if f in env
    ]
    table = CompiledTable(
        doc.id,
        "table",
        ctx.node_index,
        reads=reads,
        assigns=assigns,
        hit_policy=doc.hit_policy,
        aggregation=doc.aggregation,
        input_fields=input_fields,
        temps=temps,
        output_names=[o.name for o in outputs],
        reason_outputs=reason_outputs,
        rows=rows,
        strategy_id=ctx.strategy_id,
    )
    for name, tree in temps:
        assert tree.ty is not None
        table.assigns[name] = tree.ty
    if doc.hit_policy == "unique":
        table.warnings = table_warnings(
            table.id, input_fields, [(row.label, row.tests) for row in rows]
        )
    return table


def _split_row(raw: list[Any], n_inputs: int, ctx: NodeContext, i: int) -> TableRule:
    if not isinstance(raw, list):
        raise ctx.error("a rule is a list of cells or {when: [...], then: [...]}", "rules", i)
    return TableRule(when=raw[:n_inputs], then=raw[n_inputs:])


def _sorted_by_priority(
    rows: list[_Row], outputs: list[TableOutput], ctx: NodeContext
) -> list[_Row]:
    ranked = [(k, o) for k, o in enumerate(outputs) if o.priority]
    if not ranked:
        raise ctx.error(
            "hit policies priority/output_order need 'priority' lists on the outputs", "outputs"
        )

    def key(row: _Row) -> tuple[int, ...]:
        ranks = []
        for k, out in ranked:
            cell = row.outputs[k]
            if not isinstance(cell, Literal):
                raise ctx.error(
                    "priority/output_order need literal output cells", "rules", row.index
                )
            priority = out.priority or []
            if cell.value not in priority:
                raise ctx.error(
                    f"output value {cell.value!r} is not in the priority list of {out.name!r}",
                    "rules",
                    row.index,
                )
            ranks.append(priority.index(cell.value))
        return (*ranks, row.index)

    return sorted(rows, key=key)
