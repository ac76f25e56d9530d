"""``rule`` and ``ruleset`` nodes: condition -> outcome, reason code and score.

A ruleset runs first-hit (the first rule that holds decides) or all-hits (every rule that holds
applies, in order; the decision field keeps the most severe value per ``decision_order``, other
fields take the last hit's value; scores add up).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ruleplus.decision._document import RuleDoc, RuleNode, RulesetNode
from ruleplus.decision.nodes._base import (
    CompiledNode,
    NodeContext,
    RowGen,
    VecGen,
    first_match,
    reads_of,
)
from ruleplus.expr import Kind, Node, Ty

__all__ = ["CompiledRules", "check_rule", "check_ruleset"]


@dataclass
class _Rule:
    label: str
    when: Node
    then: dict[str, Node]
    reason: str | None
    score: float | None


@dataclass
class CompiledRules(CompiledNode):
    """One rule or a ruleset."""

    rules: list[_Rule] = field(default_factory=list)
    mode: str = "first"
    score_field: str | None = None
    hits_field: str | None = None
    decision_field: str = "decision"
    severity: dict[str, int] = field(default_factory=dict)

    def _escalates(self, name: str) -> bool:
        return self.mode == "all" and name == self.decision_field

    # row ---------------------------------------------------------------------------------
    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        if self.score_field:
            out.append(g.store(self.score_field, ast.Constant(0)))
        if self.hits_field:
            out.append(g.store(self.hits_field, ast.Constant(0)))
        out.extend(g.detail_list() if self.mode == "all" else g.detail(ast.Constant(None)))
        escalate = (
            g.helper("_escalate", _make_escalate(self.severity)) if self.mode == "all" else None
        )
        first: list[tuple[ast.expr, list[ast.stmt]]] = []
        for rule in self.rules:
            body: list[ast.stmt] = []
            for name, tree in rule.then.items():
                value = g.expr(tree)
                if self._escalates(name) and escalate is not None:
                    value = ast.Call(func=escalate, args=[g.load(name), value], keywords=[])
                body.append(g.store(name, value))
            if rule.reason is not None:
                body.append(g.reason(ast.Constant(rule.reason)))
            if self.score_field and rule.score is not None:
                body.append(
                    ast.AugAssign(
                        target=ast.Name(id=g.local(self.score_field), ctx=ast.Store()),
                        op=ast.Add(),
                        value=ast.Constant(rule.score),
                    )
                )
            if self.hits_field:
                body.append(
                    ast.AugAssign(
                        target=ast.Name(id=g.local(self.hits_field), ctx=ast.Store()),
                        op=ast.Add(),
                        value=ast.Constant(1),
                    )
                )
            label = ast.Constant(rule.label)
            body.extend(g.add_detail(label) if self.mode == "all" else g.detail(label))
            if self.mode == "all":
                out.append(ast.If(test=g.cond(rule.when), body=body or [ast.Pass()], orelse=[]))
            else:
                first.append((g.cond(rule.when), body))
        out.extend(first_match(first))
        return out

    # vector ------------------------------------------------------------------------------
    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        conds = [g.expr(rule.when).fill_null(False) for rule in self.rules]
        if mask is not None:
            conds = [mask & c for c in conds]
        if self.mode == "all":
            self._vector_all(g, conds)
        else:
            self._vector_first(g, conds, mask)
        g.flush()

    def _vector_first(self, g: VecGen, conds: list[pl.Expr], mask: pl.Expr | None) -> None:
        for name, ty in self.assigns.items():
            if name in (self.score_field, self.hits_field):
                continue
            old = g.current(name, ty)
            chain: Any = None
            for rule, cond in zip(self.rules, conds, strict=True):
                value = g.expr(rule.then[name]) if name in rule.then else old
                chain = pl.when(cond).then(value) if chain is None else chain.when(cond).then(value)
            g.assign(name, chain.otherwise(old), None)
        hit_before = pl.lit(False)
        for rule, cond in zip(self.rules, conds, strict=True):
            first = cond & ~hit_before
            if rule.reason is not None:
                g.reason(pl.when(first).then(pl.lit(rule.reason)))
            hit_before = hit_before | cond
        self._vector_counts(
            g, [c & ~pl.any_horizontal(conds[:i]) if i else c for i, c in enumerate(conds)], mask
        )

    def _vector_all(self, g: VecGen, conds: list[pl.Expr]) -> None:
        # conditions are materialised first: later rules must see the fields as they were
        hits = [pl.col(g.column(c)) for c in conds]
        for rule, hit in zip(self.rules, hits, strict=True):
            for name, tree in rule.then.items():
                current = g.current(name, self.assigns.get(name))
                new = g.expr(tree)
                if self._escalates(name):
                    new = _vector_escalate(current, new, self.severity)
                g.assign(name, pl.when(hit).then(new).otherwise(current), None)
            g.flush()  # one stage per rule keeps the plan linear in the number of rules
            if rule.reason is not None:
                g.reason(pl.when(hit).then(pl.lit(rule.reason)))
        self._vector_counts(g, hits, None)

    def _vector_counts(self, g: VecGen, hits: list[pl.Expr], mask: pl.Expr | None) -> None:
        if self.score_field:
            total = pl.sum_horizontal(
                [
                    pl.when(h).then(pl.lit(r.score or 0)).otherwise(0)
                    for h, r in zip(hits, self.rules, strict=True)
                ]
            )
            g.assign(self.score_field, total, mask, self.assigns[self.score_field])
        if self.hits_field:
            count = pl.sum_horizontal([h.cast(pl.Int64) for h in hits])
            g.assign(self.hits_field, count, mask, self.assigns[self.hits_field])


def _make_escalate(severity: dict[str, int]) -> Any:
    worst = len(severity)

    def escalate(current: Any, new: Any) -> Any:
        if current is None:
            return new
        return new if severity.get(new, worst) < severity.get(current, worst) else current

    return escalate


def _vector_escalate(current: pl.Expr, new: pl.Expr, severity: dict[str, int]) -> pl.Expr:
    worst = len(severity)
    rank_new = new.replace_strict(severity, default=worst, return_dtype=pl.Int64)
    rank_cur = current.replace_strict(severity, default=worst, return_dtype=pl.Int64)
    return pl.when(current.is_null() | (rank_new < rank_cur)).then(new).otherwise(current)


def _check_rules(
    docs: list[RuleDoc], env: dict[str, Ty], ctx: NodeContext, prefix: tuple[Any, ...], mode: str
) -> tuple[list[_Rule], dict[str, Ty]]:
    rules: list[_Rule] = []
    assigns: dict[str, Ty] = {}
    for i, doc in enumerate(docs):
        path = (*prefix, i) if prefix else ()
        when = ctx.expr(doc.when, env, *path, "when")
        assert when.ty is not None
        if not when.ty.fits(Kind.BOOLEAN):
            raise ctx.error(f"'when' must be true/false, got {when.ty}", *path, "when")
        then = {name: ctx.value(raw, env, *path, "then", name) for name, raw in doc.then.items()}
        for name, tree in then.items():
            assert tree.ty is not None
            prior = assigns.get(name)
            if prior is not None and not _same_kind(prior, tree.ty):
                raise ctx.error(
                    f"rules assign {name!r} values of different types ({prior} and {tree.ty})",
                    *path,
                    "then",
                    name,
                    field=name,
                )
            assigns[name] = Ty(_merge_kind(prior, tree.ty), True)
        reason = ctx.check_reason(doc.reason, *path, "reason") if doc.reason is not None else None
        rules.append(_Rule(doc.id or f"rule{i + 1}", when, then, reason, doc.score))
    return rules, assigns


def _same_kind(a: Ty, b: Ty) -> bool:
    numeric = {Kind.INTEGER, Kind.NUMBER}
    return a.kind == b.kind or {a.kind, b.kind} <= numeric or Kind.NULL in (a.kind, b.kind)


def _merge_kind(prior: Ty | None, new: Ty) -> Kind:
    if prior is None or prior.kind is Kind.NULL:
        return new.kind
    if new.kind is Kind.NULL:
        return prior.kind
    if prior.kind != new.kind:
        return Kind.NUMBER
    return new.kind


def _compiled(
    doc: RuleNode | RulesetNode,
    rules: list[_Rule],
    assigns: dict[str, Ty],
    env: dict[str, Ty],
    ctx: NodeContext,
    mode: str,
    score_field: str | None,
    hits_field: str | None,
) -> CompiledRules:
    for name in list(assigns):
        if name in env:  # an unassigning path keeps the previous value
            assigns[name] = Ty(_merge_kind(env[name], assigns[name]), True)
    if score_field:
        assigns[score_field] = Ty(Kind.NUMBER, False)
    if hits_field:
        assigns[hits_field] = Ty(Kind.INTEGER, False)
    reads = reads_of(*(r.when for r in rules), *(t for r in rules for t in r.then.values()))
    severity = {v: i for i, v in enumerate(ctx.decision_order)}
    return CompiledRules(
        doc.id,
        doc.type,
        ctx.node_index,
        reads=reads,
        assigns=assigns,
        rules=rules,
        mode=mode,
        score_field=score_field,
        hits_field=hits_field,
        decision_field=ctx.decision_field,
        severity=severity,
    )


def check_rule(doc: RuleNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """A single rule."""
    as_rule = RuleDoc(id=doc.id, when=doc.when, then=doc.then, reason=doc.reason, score=doc.score)
    rules, assigns = _check_rules([as_rule], env, ctx, (), "first")
    return _compiled(doc, rules, assigns, env, ctx, "first", None, None)


def check_ruleset(doc: RulesetNode, env: dict[str, Ty], ctx: NodeContext) -> CompiledNode:
    """A ruleset, first-hit or all-hits."""
    if not doc.rules:
        raise ctx.error("a ruleset needs at least one rule", "rules")
    rules, assigns = _check_rules(doc.rules, env, ctx, ("rules",), doc.mode)
    return _compiled(doc, rules, assigns, env, ctx, doc.mode, doc.score_field, doc.hits_field)
