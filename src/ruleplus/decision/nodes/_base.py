"""What every node type provides: a checker over the field environment and two emitters.

A node type is a plug-in: ``check`` types it against the fields available where it runs and
returns a :class:`CompiledNode`; the compiled node emits Python statements for the row program
and polars columns for the vector program. Both emitters share the checked expression trees,
so the two back ends cannot drift apart.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ruleplus.decision._artifacts import NO_ARTIFACTS, ArtifactResolver, StrategySource
from ruleplus.decision._inputs import InputSpec
from ruleplus.decision._result import NodeTrace
from ruleplus.errors import ExpressionError, StrategyCompileError
from ruleplus.expr import (
    SUBJECT,
    Field,
    Kind,
    Literal,
    Node,
    RowEmitter,
    Ty,
    VectorEmitter,
    check,
    fields_of,
    literal_ty,
    parse,
    parse_unary_tests,
    polars_dtype,
    walk,
)

__all__ = [
    "CompiledNode",
    "NodeContext",
    "RawRow",
    "RowGen",
    "SubCompiler",
    "SubStrategy",
    "VecGen",
    "append_to",
    "first_match",
    "literal_node",
    "value_tree",
]

Env = dict[str, Ty]

RawRow = Callable[
    [Mapping[str, Any]], tuple[dict[str, Any], list[Any], str | None, list[Any] | None]
]
"""A row program: ``record -> (outputs, raw reasons, arm, raw trace or None)``."""


@dataclass(frozen=True)
class SubStrategy:
    """A compiled sub-strategy as a ``call`` node uses it (built by the strategy compiler).

    Attributes
    ----------
    id, version : str
        The sub-strategy's id and version.
    warnings : list of str
        Its compile-time warnings.
    reason_codes : tuple of str
        The codes of its reason catalogue.
    specs : list of InputSpec
        Its inputs.
    outputs : list of str
        Its output fields, in order.
    output_types : dict of str to Ty
        The type of each output.
    row, row_traced : RawRow
        Its row programs, without and with a trace.
    render_trace : callable
        Raw trace tuples -> :class:`~ruleplus.decision.NodeTrace` records.
    evaluate_frame : callable
        A frame of its inputs -> its outputs, ``reasons`` and ``_error``, row for row.
    """

    id: str
    version: str
    warnings: list[str]
    reason_codes: tuple[str, ...]
    specs: list[InputSpec]
    outputs: list[str]
    output_types: dict[str, Ty]
    row: RawRow
    row_traced: RawRow
    render_trace: Callable[[list[tuple[Any, ...]]], list[NodeTrace]]
    evaluate_frame: Callable[[pl.DataFrame], pl.DataFrame]


SubCompiler = Callable[[StrategySource, tuple[str, ...]], SubStrategy]
"""``(source, chain) -> SubStrategy``: compiles a resolved sub-strategy; ``chain`` is the
keys of the documents being compiled, outermost first, ending with the source's own key."""


def _name(n: str) -> ast.Name:
    return ast.Name(id=n, ctx=ast.Load())


def append_to(target: str, value: ast.expr, method: str = "append") -> ast.stmt:
    """``target.append(value)`` (or another list ``method``, e.g. ``extend``) as a statement.

    How generated code adds to its lists: reasons (``_rs``), the trace (``_tr``), a node's list
    of matched rules (``_d``) and the node types' own lists.
    """
    return ast.Expr(
        value=ast.Call(
            func=ast.Attribute(value=_name(target), attr=method, ctx=ast.Load()),
            args=[value],
            keywords=[],
        )
    )


FLAT_CHAIN_FROM = 64
"""Branches from which :func:`first_match` lays a chain out flat instead of as ``elif``."""


def first_match(
    branches: list[tuple[ast.expr, list[ast.stmt]]], default: list[ast.stmt] | None = None
) -> list[ast.stmt]:
    """The body of the first branch whose test holds (else ``default``) as statements.

    Up to :data:`FLAT_CHAIN_FROM` branches this is an ``if``/``elif`` chain. A longer chain
    nests one level per branch, and Python's compiler recurses on it (a table of a thousand
    rows exceeded the recursion limit), so it becomes flat tests inside a loop that runs once::

        while True:
            if t1: body1; break
            if t2: body2; break
            default; break
    """
    if not branches:
        return list(default or [])
    if len(branches) < FLAT_CHAIN_FROM:
        top: ast.If | None = None
        tail: ast.If | None = None
        for test, body in branches:
            stmt = ast.If(test=test, body=body or [ast.Pass()], orelse=[])
            if tail is None:
                top = stmt
            else:
                tail.orelse = [stmt]
            tail = stmt
        assert top is not None and tail is not None
        tail.orelse = list(default or [])
        return [top]
    flat: list[ast.stmt] = [
        ast.If(test=test, body=[*body, ast.Break()], orelse=[]) for test, body in branches
    ]
    flat.extend([*(default or []), ast.Break()])
    return [ast.While(test=ast.Constant(True), body=flat, orelse=[])]


def literal_node(value: Any) -> Node:
    """A typed literal node for a YAML scalar."""
    node = Literal(value)
    node.ty = literal_ty(value)
    return node


@dataclass
class NodeContext:
    """What a node type needs while it is checked.

    Parameters
    ----------
    strategy_id, version : str
        For error context.
    file : str or None
        The strategy file.
    line_of : callable
        ``line_of(*path)`` gives the line of a document path.
    node_index : int
        Position of the node in ``nodes``.
    node_id : str
        Id of the node being checked.
    reasons : mapping
        The reason catalogue (code -> texts).
    decision_field : str
        Name of the decision field.
    decision_order : list of str
        Decision values, most severe first.
    artifacts : ArtifactResolver
        Resolves ``call.strategy`` and ``model.artifact`` (default: refuses every reference).
    chain : tuple of str
        Keys of the documents being compiled, outermost first (this one last when it has a
        key), to detect a strategy that calls itself.
    compile_sub : SubCompiler or None
        Compiles a sub-strategy (given by the strategy compiler, so that node types need not
        import it).
    """

    strategy_id: str
    version: str
    file: str | None
    line_of: Callable[..., int | None]
    node_index: int
    node_id: str
    reasons: Mapping[str, Any]
    decision_field: str
    decision_order: list[str]
    artifacts: ArtifactResolver = NO_ARTIFACTS
    chain: tuple[str, ...] = ()
    compile_sub: SubCompiler | None = None

    def error(self, message: str, *path: Any, field: str | None = None) -> StrategyCompileError:
        """An error naming file, line, node and field."""
        return StrategyCompileError(
            message,
            strategy=self.strategy_id,
            version=self.version,
            file=self.file,
            line=self.line_of("nodes", self.node_index, *path),
            node=self.node_id,
            field=field,
        )

    def expr(self, text: Any, env: Mapping[str, Ty], *path: Any) -> Node:
        """Parse and check an expression at document ``path`` (inside this node)."""
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, str | int | float):
            raise self.error(f"expected an expression (text), got {type(text).__name__}", *path)
        if isinstance(text, float) and not math.isfinite(text):  # str() would read as a field
            raise self.error(f"expected a finite number, got {text}", *path)
        source = str(text)
        try:
            return check(parse(source), env, source)
        except ExpressionError as exc:
            raise self._wrap(exc, path) from None

    def test(self, cell: Any, subject: str, env: Mapping[str, Ty], *path: Any) -> Node | None:
        """Parse and check a decision-table cell testing field ``subject``; None means any."""
        if cell is None or (isinstance(cell, str) and cell.strip() in ("", "-")):
            return None
        source = cell if isinstance(cell, str) else _cell_text(cell)
        try:
            tree = parse_unary_tests(source)
            for n in walk(tree):
                if isinstance(n, Field) and n.name == SUBJECT:
                    n.name = subject
            return check(tree, env, source)
        except ExpressionError as exc:
            raise self._wrap(exc, path) from None

    def value(self, raw: Any, env: Mapping[str, Ty], *path: Any) -> Node:
        """An outcome value: a YAML literal, or ``{expr: "..."}``."""
        if isinstance(raw, dict):
            if set(raw) != {"expr"}:
                raise self.error("a computed value is written {expr: '...'}", *path)
            return self.expr(raw["expr"], env, *path, "expr")
        if raw is None or isinstance(raw, bool | int | float | str):
            return literal_node(raw)
        raise self.error(f"unsupported value {raw!r}: use a literal or {{expr: ...}}", *path)

    def check_reason(self, code: Any, *path: Any) -> str:
        """Validate a reason code against the catalogue (when the strategy has one)."""
        if not isinstance(code, str) or not code:
            raise self.error("a reason code must be a non-empty string", *path)
        if self.reasons and code not in self.reasons:
            raise self.error(f"reason code {code!r} is not in the strategy's reasons", *path)
        return code

    def _wrap(self, exc: ExpressionError, path: tuple[Any, ...]) -> StrategyCompileError:
        ctx = exc.context
        return StrategyCompileError(
            exc.message,
            strategy=self.strategy_id,
            version=self.version,
            file=self.file,
            line=self.line_of("nodes", self.node_index, *path),
            node=self.node_id,
            field=ctx.get("field"),
            expression=ctx.get("expression"),
            column=ctx.get("column"),
        )


def _cell_text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int | float):
        return repr(cell)
    if isinstance(cell, list):
        return ", ".join(
            _cell_text(c) if not isinstance(c, str) else '"' + c.replace('"', '\\"') + '"'
            for c in cell
        )
    return str(cell)


def value_tree(node: Node) -> Node:
    """Identity helper kept for symmetry with :meth:`NodeContext.value`."""
    return node


class RowGen:
    """Generates the row program: locals per field, helpers, reasons and trace hooks.

    Parameters
    ----------
    namespace : dict
        Globals of the generated function.
    locals_ : dict
        Field name -> local variable name (grows as fields are assigned).
    trace : bool
        Whether trace statements are generated.
    """

    def __init__(self, namespace: dict[str, Any], locals_: dict[str, str], trace: bool) -> None:
        self.namespace = namespace
        self.locals = locals_
        self.trace = trace
        self.emitter = RowEmitter(lambda f: _name(self.local(f)), namespace)
        self._labels = itertools.count()
        self.node_index = 0

    def local(self, name: str) -> str:
        """The local variable holding field ``name``."""
        if name not in self.locals:
            self.locals[name] = f"v{len(self.locals)}"
        return self.locals[name]

    def expr(self, node: Node) -> ast.expr:
        """Exact value of a typed tree."""
        return self.emitter.emit(node)

    def cond(self, node: Node) -> ast.expr:
        """Truthiness = the typed tree is true."""
        return self.emitter.emit_condition(node)

    def load(self, name: str) -> ast.expr:
        """Read field ``name``."""
        return _name(self.local(name))

    def store(self, name: str, value: ast.expr) -> ast.stmt:
        """``field = value``."""
        return ast.Assign(targets=[ast.Name(id=self.local(name), ctx=ast.Store())], value=value)

    def const(self, value: Any) -> ast.expr:
        """A constant through the namespace (or inline when it is a simple literal)."""
        if value is None or isinstance(value, bool | int | float | str):
            return ast.Constant(value)
        return self.emitter.constant(value)

    def helper(self, name: str, fn: Any) -> ast.expr:
        """Register ``fn`` in the namespace under ``name``."""
        self.namespace.setdefault(name, fn)
        return _name(name)

    def temp(self) -> str:
        """A fresh local name."""
        return self.emitter.temp()

    def reason(
        self, code: ast.expr, weight: ast.expr | None = None, guard_null: bool = False
    ) -> ast.stmt:
        """Append ``(code, node index, weight)`` to the reasons list."""
        item = ast.Tuple(
            elts=[code, ast.Constant(self.node_index), weight or ast.Constant(0.0)], ctx=ast.Load()
        )
        call = append_to("_rs", item)
        if guard_null:
            return ast.If(
                test=ast.Compare(left=code, ops=[ast.IsNot()], comparators=[ast.Constant(None)]),
                body=[call],
                orelse=[],
            )
        return call

    def extend_reasons(self, items: ast.expr) -> ast.stmt:
        """Add every ``(code, node index, weight)`` of ``items`` to the reasons list."""
        return append_to("_rs", items, "extend")

    def trace_entry(
        self, index: int, reads: ast.expr, writes: ast.expr, detail: ast.expr, elapsed: ast.expr
    ) -> ast.stmt:
        """Append ``(node index, read values, written values, detail, elapsed)`` to the trace."""
        entry = ast.Tuple(
            elts=[ast.Constant(index), reads, writes, detail, elapsed], ctx=ast.Load()
        )
        return append_to("_tr", entry)

    def detail(self, value: ast.expr) -> list[ast.stmt]:
        """Record the trace detail (matched rules, branch) when tracing."""
        if not self.trace:
            return []
        return [ast.Assign(targets=[ast.Name(id="_d", ctx=ast.Store())], value=value)]

    def detail_list(self) -> list[ast.stmt]:
        """Start a trace detail that lists matches (see :meth:`add_detail`) when tracing."""
        return self.detail(ast.List(elts=[], ctx=ast.Load()))

    def add_detail(self, value: ast.expr) -> list[ast.stmt]:
        """Append ``value`` to the list started by :meth:`detail_list` when tracing."""
        if not self.trace:
            return []
        return [append_to("_d", value)]


class VecGen:
    """Builds the vector program as a sequence of ``with_columns`` stages over a DataFrame.

    Parameters
    ----------
    frame : polars.DataFrame
        The normalised input frame (evaluated lazily; one collect at the end).
    constants : mapping, optional
        Field name -> literal (the strategy's parameters: read like columns, never assigned).
    """

    def __init__(self, frame: pl.DataFrame, constants: Mapping[str, pl.Expr] | None = None) -> None:
        self.source = frame
        self.constants = dict(constants or {})
        self.frame: pl.LazyFrame = frame.lazy()
        self.emitter = VectorEmitter(self._col)
        self.pending: dict[str, pl.Expr] = {}
        self.reasons: list[pl.Expr] = []
        self.errors: list[pl.Expr] = []
        self.known: set[str] = set(frame.columns)
        if self.constants:  # also as columns, for nodes that read a column by name
            self.frame = self.frame.with_columns(
                [value.alias(name) for name, value in self.constants.items()]
            )
            self.known.update(self.constants)
        self._tmp = itertools.count()

    def error(self, problem: pl.Expr) -> None:
        """Add a per-row evaluation problem (string, null when the row is fine)."""
        self.errors.append(problem)

    def _col(self, name: str) -> pl.Expr:
        constant = self.constants.get(name)
        if constant is not None:
            return constant
        if name not in self.known:
            return pl.lit(None)
        return pl.col(name)

    def expr(self, node: Node) -> pl.Expr:
        """Polars expression of a typed tree (reads the frame as it is after the last stage)."""
        return self.emitter.emit(node)

    def current(self, name: str, ty: Ty | None = None) -> pl.Expr:
        """The field's column, or a typed null when it has not been assigned yet."""
        constant = self.constants.get(name)
        if constant is not None:
            return constant
        if name in self.known:
            return pl.col(name)
        dtype = polars_dtype(ty) if ty is not None else None
        return pl.lit(None, dtype=dtype) if dtype is not None else pl.lit(None)

    def assign(self, name: str, value: pl.Expr, mask: pl.Expr | None, ty: Ty | None = None) -> None:
        """Queue ``name = value`` on the rows where ``mask`` holds (all rows when None)."""
        if mask is not None:
            value = pl.when(mask).then(value).otherwise(self.current(name, ty))
        self.pending[name] = value.alias(name)

    def flush(self) -> None:
        """Run the queued assignments as one stage."""
        if self.pending:
            self.frame = self.frame.with_columns(list(self.pending.values()))
            self.known.update(self.pending)
            self.pending = {}

    def column(self, value: pl.Expr) -> str:
        """Materialise ``value`` as a temporary column and return its name."""
        self.flush()
        name = f"_v{next(self._tmp)}"
        self.frame = self.frame.with_columns(value.alias(name))
        self.known.add(name)
        return name

    def reason(self, code: pl.Expr) -> None:
        """Add a reason column (a string or a list of strings per row; null for none)."""
        self.reasons.append(code)


@dataclass
class CompiledNode:
    """A checked node: what it reads and assigns, and how to emit it.

    Attributes
    ----------
    id, kind : str
        Node id and type.
    index : int
        Position in the strategy's ``nodes``.
    reads : list of str
        Fields it reads (for the trace).
    assigns : dict of str to Ty
        Fields it writes, with their types.
    targets : list of str
        Branch targets for routing nodes (``switch``/``split``); empty otherwise.
    """

    id: str
    kind: str
    index: int
    reads: list[str] = field(default_factory=list)
    assigns: dict[str, Ty] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)

    def emit_row(self, g: RowGen) -> list[ast.stmt]:
        """Python statements for one record (non-routing nodes)."""
        raise NotImplementedError

    def emit_vector(self, g: VecGen, mask: pl.Expr | None) -> None:
        """Polars stages for a frame (non-routing nodes)."""
        raise NotImplementedError

    # routing nodes ---------------------------------------------------------------------------
    def row_branches(
        self, g: RowGen
    ) -> tuple[list[ast.stmt], list[tuple[ast.expr | None, str, str | None]]]:
        """Setup statements and ``(test, target, arm)`` per branch; test None = otherwise."""
        raise NotImplementedError

    def vector_branches(self, g: VecGen) -> list[tuple[pl.Expr | None, str, str | None]]:
        """``(condition, target, arm)`` per branch (conditions already exclusive; None = rest)."""
        raise NotImplementedError


def reads_of(*trees: Node | None) -> list[str]:
    """Fields read by the given trees, in first-use order."""
    out: dict[str, None] = {}
    for tree in trees:
        if tree is not None:
            out.update(dict.fromkeys(fields_of(tree)))
    return list(out)


def bool_ty() -> Ty:
    """Non-null boolean."""
    return Ty(Kind.BOOLEAN, False)
