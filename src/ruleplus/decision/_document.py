"""The strategy document: YAML/JSON text validated against pydantic models.

The models are the single source of the published JSON Schema (``strategy.schema.json``).
Line numbers of every mapping are kept while loading so that errors can name file and line.

Text and files are told apart by type, never by looking at a string: :func:`load_document_text`
takes the document itself (what the service stores), a :class:`~pathlib.Path` is a file (the
CLI). Every document is composed once and checked against :data:`MAX_DOCUMENT_BYTES`,
:data:`MAX_DOCUMENT_NODES` (aliases expanded) and :data:`MAX_DOCUMENT_DEPTH` before any Python
object is built from it, so that a few hundred bytes of YAML aliases cannot expand into
gigabytes; integers must fit in 64 bits. Error messages give line and column, never a snippet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ruleplus.decision._offer import OfferDoc
from ruleplus.decision._windows import parse_window
from ruleplus.errors import StrategyLoadError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_DOCUMENT_DEPTH",
    "MAX_DOCUMENT_NODES",
    "CallNode",
    "Characteristic",
    "ExpressionNode",
    "InputField",
    "ListSignal",
    "ModelNode",
    "NodeDoc",
    "ParameterField",
    "ReasonText",
    "RuleDoc",
    "RuleNode",
    "RulesetNode",
    "ScorecardBin",
    "ScorecardNode",
    "Signals",
    "SpecialValue",
    "SplitArm",
    "SplitNode",
    "StrategyDoc",
    "SwitchCase",
    "SwitchNode",
    "TableNode",
    "TableOutput",
    "TableRule",
    "TreeBranch",
    "TreeNode",
    "VelocitySignal",
    "load_document",
    "load_document_text",
    "read_strategy_file",
    "strategy_json_schema",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputField(_Model):
    """One field of the input schema."""

    type: str = Field(description="integer, number, string, boolean, date or list[<type>]")
    required: bool = Field(default=False, description="the field must be present and not null")
    min: float | None = Field(default=None, description="smallest allowed value (numbers)")
    max: float | None = Field(default=None, description="largest allowed value (numbers)")
    enum: list[Any] | None = Field(default=None, description="allowed values")
    sensitive: bool = Field(
        default=False,
        description="personal data (ID number, phone…): the service stores only a keyed digest",
    )
    description: str = ""


class ParameterField(_Model):
    """A named, typed parameter (a cut-off, a limit, a multiplier): read by expressions and
    table cells like an input, set by the strategy's author, overridable per deployment and
    per backtest without a new version."""

    type: Literal["integer", "number", "string", "boolean"] = Field(
        description="integer, number, string or boolean"
    )
    default: int | float | str | bool = Field(description="the value when nothing overrides it")
    min: float | None = Field(default=None, description="smallest allowed value (numbers)")
    max: float | None = Field(default=None, description="largest allowed value (numbers)")
    enum: list[int | float | str | bool] | None = Field(default=None, description="allowed values")
    description: str = ""


class ReasonText(_Model):
    """Text of a reason code, in English and Chinese."""

    en: str
    zh: str = ""


class _NodeBase(_Model):
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", description="unique node id")
    next: str | None = Field(
        default=None, description="node to run next; 'end' to stop; default: the next node listed"
    )
    description: str = ""


Value = Any
"""An outcome value: a literal, or ``{"expr": "..."}`` for a computed value."""


class ExpressionNode(_NodeBase):
    """Derived fields, computed in order (later ones may use earlier ones)."""

    type: Literal["expression"]
    assign: dict[str, str | int | float | bool] = Field(description="field -> expression")


class RuleDoc(_Model):
    """One rule: condition -> outcome, reason code and optional score."""

    id: str | None = None
    when: str = Field(description="boolean expression; null counts as false")
    then: dict[str, Value] = Field(
        default_factory=dict, description="field -> literal or {expr: ...}"
    )
    reason: str | None = None
    score: float | None = Field(
        default=None, description="points added to the ruleset's score field on a hit"
    )
    description: str = ""


class RuleNode(_NodeBase, RuleDoc):
    """A single rule."""

    type: Literal["rule"]
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class RulesetNode(_NodeBase):
    """Rules evaluated first-hit or all-hits, with score accumulation."""

    type: Literal["ruleset"]
    mode: Literal["first", "all"] = "all"
    rules: list[RuleDoc]
    score_field: str | None = Field(
        default=None, description="field receiving the sum of hit scores"
    )
    hits_field: str | None = Field(default=None, description="field receiving the number of hits")


class TableOutput(_Model):
    """An output column of a decision table."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "expression"] = "string"
    priority: list[Any] | None = Field(
        default=None,
        description="output values from highest to lowest priority (priority/output order)",
    )
    reason: bool = Field(default=False, description="the value is a reason code")


class TableRule(_Model):
    """One row: input cells (unary tests) and output cells."""

    when: list[Any]
    then: list[Any]
    id: str | None = None
    description: str = ""


class TableNode(_NodeBase):
    """A decision table with DMN hit policies."""

    type: Literal["table"]
    hit_policy: Literal[
        "unique", "first", "priority", "any", "collect", "rule_order", "output_order"
    ] = "unique"
    aggregation: Literal["sum", "min", "max", "count"] | None = None
    inputs: list[str] = Field(description="input expressions (usually field names)")
    outputs: list[TableOutput | str]
    rules: list[TableRule | list[Any]]

    @field_validator("outputs")
    @classmethod
    def _names(cls, value: list[TableOutput | str]) -> list[TableOutput | str]:
        if not value:
            raise ValueError("a table needs at least one output column")
        return value


class ScorecardBin(_Model):
    """One bin of a characteristic: a unary test (cell syntax) and its points."""

    when: str = Field(description="unary test, e.g. '[600..650)', '< 3', '\"own\", \"mortgage\"'")
    points: float


class SpecialValue(_Model):
    """An exact value (e.g. a bureau code -9) with its own points."""

    value: Any
    points: float


class Characteristic(_Model):
    """One scorecard characteristic."""

    name: str
    input: str = Field(description="expression binned (usually a field name)")
    bins: list[ScorecardBin]
    missing_points: float | None = Field(default=None, description="points when the input is null")
    special: list[SpecialValue] = Field(
        default_factory=list, description="exact values with own points"
    )
    else_points: float | None = Field(default=None, description="points when no bin matches")
    reason: str | None = Field(default=None, description="reason code when points are lost here")


class ScorecardNode(_NodeBase):
    """A points scorecard with ranked reason codes."""

    type: Literal["scorecard"]
    base_points: float = 0.0
    output: str = "score"
    characteristics: list[Characteristic]
    reasons_top: int = Field(default=4, ge=0, description="how many reason codes to return")
    points_prefix: str | None = Field(
        default=None, description="also output each characteristic's points"
    )


class TreeBranch(_Model):
    """A decision-tree node: a split (``if``/``then``/``else``) or a leaf (``set``)."""

    id: str | None = Field(default=None, description="leaf label shown in the trace")
    condition: str | None = Field(default=None, alias="if")
    yes: TreeBranch | None = Field(default=None, alias="then")
    no: TreeBranch | None = Field(default=None, alias="else")
    missing: Literal["then", "else"] = "else"
    set: dict[str, Value] | None = None
    reason: str | None = None


class TreeNode(_NodeBase):
    """A decision tree of splits ending in leaves that set fields."""

    type: Literal["tree"]
    root: TreeBranch


class ModelNode(_NodeBase):
    """A machine-learning model artifact producing a probability."""

    type: Literal["model"]
    format: Literal["lightgbm", "onnx", "sklearn-onnx", "xgboost"]
    artifact: str = Field(
        description="the model file: a path relative to the strategy file (CLI, batch), or "
        "a sha256:<hex> reference into the service's artifact store"
    )
    features: dict[str, str] = Field(description="model feature -> expression, in model order")
    output: str = "probability"


class SwitchCase(_Model):
    when: str
    goto: str


class SwitchNode(_NodeBase):
    """Route to the first case whose condition holds, else to ``default``."""

    type: Literal["switch"]
    cases: list[SwitchCase]
    default: str


class SplitArm(_Model):
    name: str
    share: float = Field(gt=0)
    goto: str


class SplitNode(_NodeBase):
    """Deterministic traffic split by a hash of an applicant key (champion/challenger)."""

    type: Literal["split"]
    key: str = Field(description="field hashed to choose the arm")
    salt: str = Field(default="", description="change it to re-shuffle applicants between arms")
    arms: list[SplitArm]


class CallNode(_NodeBase):
    """Evaluate another strategy and copy some of its outputs."""

    type: Literal["call"]
    strategy: str = Field(
        description="the sub-strategy: a path relative to this file (CLI, batch), or a "
        "sha256:<hex> reference into the service's artifact store"
    )
    inputs: dict[str, str] = Field(default_factory=dict, description="sub-input -> expression")
    outputs: dict[str, str] = Field(description="field here -> output of the sub-strategy")


NodeDoc = Annotated[
    ExpressionNode
    | RuleNode
    | RulesetNode
    | TableNode
    | ScorecardNode
    | TreeNode
    | ModelNode
    | SwitchNode
    | SplitNode
    | CallNode,
    Field(discriminator="type"),
]


class VelocitySignal(_Model):
    """How many applications shared ``key`` within ``window`` (the current one included)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="input field it fills")
    key: str = Field(description="input field whose value is counted (phone, deviceId…)")
    window: str | int = Field(description="90s, 15m, 24h, 7d, 2w or seconds")
    scope: Literal["partner", "global"] = Field(
        default="partner",
        description="partner: only this partner's applications count; global: the lender's own "
        "cross-channel view, shared by every partner whose strategy opts in",
    )

    @property
    def window_seconds(self) -> int:
        """The window in seconds."""
        return parse_window(self.window)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | int) -> str | int:
        parse_window(value)
        return value


class ListSignal(_Model):
    """Whether ``key``'s value is on watch list ``list``."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="input field it fills")
    list: str = Field(description="watch-list type, e.g. phone, id_number, device")
    key: str = Field(description="input field whose value is looked up")
    scope: Literal["partner", "global"] = Field(
        default="partner",
        description="partner: entries listed for this partner; global: the lender's own list",
    )


class Signals(_Model):
    """Fraud signals computed by the service; in batch runs they are ordinary input columns."""

    velocity: list[VelocitySignal] = Field(default_factory=list)
    lists: list[ListSignal] = Field(default_factory=list)


class StrategyDoc(_Model):
    """A strategy: input schema, reason catalogue and a flow of nodes."""

    schema_: str | None = Field(default=None, alias="$schema")
    id: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
    version: str = "1"
    title: str = ""
    description: str = ""
    decision_field: str = "decision"
    decision_order: list[str] = Field(
        default_factory=lambda: ["decline", "refer", "approve"],
        description="decision values from most to least severe (all-hits rulesets keep the worst)",
    )
    inputs: dict[str, InputField]
    parameters: dict[str, ParameterField] = Field(
        default_factory=dict,
        description="named, typed values (cut-offs, limits) that deployments and backtests may "
        "override without a new version",
    )
    outputs: list[str] | None = Field(
        default=None, description="fields returned; default: all assigned"
    )
    reasons: dict[str, ReasonText] = Field(default_factory=dict)
    signals: Signals | None = Field(
        default=None, description="fraud signals the service computes before evaluation"
    )
    nodes: list[NodeDoc] = Field(min_length=1)
    offer: OfferDoc | None = Field(
        default=None,
        description="what an approved application is offered: limit, price under the rate cap, "
        "schedule (built by ruleplus.lending)",
    )


def strategy_json_schema() -> dict[str, Any]:
    """The JSON Schema of strategy documents (draft 2020-12)."""
    schema = StrategyDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ruleplus.dev/schemas/strategy.schema.json"
    return schema


class LoadedDocument:
    """A validated strategy document with where it came from."""

    def __init__(
        self,
        doc: StrategyDoc,
        path: Path | None,
        lines: dict[tuple[Any, ...], int],
        name: str | None = None,
    ):
        self.doc = doc
        self.path = path
        self.lines = lines
        self.name = name
        """Name shown in errors when the document did not come from a file."""

    def line_of(self, *path: Any) -> int | None:
        """Line of the deepest known prefix of ``path``."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def node_line(self, node_id: str) -> int | None:
        """Line where the node with this id starts."""
        for index, node in enumerate(self.doc.nodes):
            if node.id == node_id:
                return self.line_of("nodes", index)
        return None


MAX_DOCUMENT_BYTES = 2_000_000
"""Largest strategy document accepted, in UTF-8 bytes."""

MAX_DOCUMENT_NODES = 100_000
"""Most YAML nodes (mappings, sequences, keys and scalars) once aliases are expanded."""

MAX_DOCUMENT_DEPTH = 100
"""Deepest nesting of mappings and sequences (a scalar counts as one level), aliases expanded."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_CHARS = 40  # longer integer literals are refused before int() is asked to parse them
_INT_TAG = "tag:yaml.org,2002:int"


class _LimitError(Exception):
    """A document over one of the limits (turned into a StrategyLoadError with the line)."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = mark.line + 1 if mark is not None else None


class _Loader(yaml.SafeLoader):
    """The safe loader, with a composer that stops at :data:`MAX_DOCUMENT_DEPTH`.

    PyYAML composes recursively: without this guard a deep enough ``[[[[...]]]]`` ends in a
    RecursionError instead of an error about the document.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DOCUMENT_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in stubs
                raise _LimitError(_too_deep(), event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_deep() -> str:
    return f"the document is nested deeper than {MAX_DOCUMENT_DEPTH} levels (the limit)"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_graph(loader: _Loader, root: yaml.Node) -> None:
    """Refuse too large or too deep expansions, recursive aliases and integers beyond int64.

    An alias is the very node object of its anchor, so the expanded size and height of each
    node are computed once per node object (memoised on identity), bottom-up, without recursion:
    the cost follows the text, not the expansion. Sizes are capped just above the limit so that
    an exponential expansion stays a small number.
    """
    cap = MAX_DOCUMENT_NODES + 1
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()  # nodes whose subtree is being counted (a repeat is a cycle)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            children = _children(node)
            size[key] = min(cap, 1 + sum(size[id(c)] for c in children))
            height[key] = 1 + max((height[id(c)] for c in children), default=0)
            on_path.discard(key)
            if size[key] > MAX_DOCUMENT_NODES:
                raise _LimitError(
                    f"the document has more than {MAX_DOCUMENT_NODES:,} nodes once its aliases "
                    f"are expanded (the limit); write repeated parts out or split the strategy",
                    node.start_mark,
                )
            if height[key] > MAX_DOCUMENT_DEPTH:
                raise _LimitError(_too_deep() + " once its aliases are expanded", node.start_mark)
            continue
        if key in size:
            continue
        if key in on_path:
            raise _LimitError("an alias refers to a node that contains it", node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(loader, node)
            size[key] = height[key] = 1
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _check_scalar(loader: _Loader, node: yaml.ScalarNode) -> None:
    if node.tag != _INT_TAG:
        return
    digits = node.value.replace("_", "").lstrip("+-")
    value: int | None = None
    if len(digits) <= _MAX_INT_CHARS:
        try:
            value = loader.construct_yaml_int(node)
        except ValueError:
            value = None
    if value is None or not _INT64_MIN <= value <= _INT64_MAX:
        raise _LimitError(_big_int(len(digits)), node.start_mark)


def _big_int(digits: int) -> str:
    return (
        f"an integer of {digits} digits is out of range: integers must fit in 64 bits "
        "(quote it to make it a string)"
    )


def _check_data(data: Any) -> None:
    """Integers beyond int64 in an in-memory document (the text path checks while composing)."""
    stack: list[Any] = [data]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise StrategyLoadError(_big_int(len(str(abs(item)))))
        elif isinstance(item, Mapping | list | tuple) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, Mapping) else item)


def _line_map(root: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each mapping/sequence path of a composed document to its 1-based line.

    Only called on a graph that passed :func:`_check_graph`, so the walk is bounded.
    """
    lines: dict[tuple[Any, ...], int] = {}
    stack: list[tuple[tuple[Any, ...], yaml.Node]] = [((), root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(((*path, key.value), value))
                lines.setdefault((*path, key.value), key.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                stack.append(((*path, index), value))
    return lines


def _syntax_error(
    exc: yaml.YAMLError | json.JSONDecodeError, file: str | None
) -> StrategyLoadError:
    """What is wrong and where, without the snippet of the document that PyYAML appends."""
    line = column = None
    if isinstance(exc, json.JSONDecodeError):
        what, line, column = exc.msg, exc.lineno, exc.colno
    elif isinstance(exc, yaml.MarkedYAMLError):
        what = "; ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
    elif isinstance(exc, yaml.reader.ReaderError):
        what = f"unacceptable character at position {exc.position}: {exc.reason}"
    else:
        what = type(exc).__name__
    return StrategyLoadError(f"not valid YAML/JSON: {what}", file=file, line=line, column=column)


def read_strategy_file(path: Path) -> str:
    """The text of a strategy file (refused above :data:`MAX_DOCUMENT_BYTES`).

    Raises
    ------
    StrategyLoadError
        The file cannot be read, is too large or is not UTF-8.
    """
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise StrategyLoadError(_too_large(), file=str(path))
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StrategyLoadError(
            f"cannot read strategy file: {exc.strerror}", file=str(path)
        ) from None
    except UnicodeDecodeError:
        raise StrategyLoadError("the strategy file is not UTF-8 text", file=str(path)) from None


def _too_large() -> str:
    return f"the document is larger than {MAX_DOCUMENT_BYTES:,} bytes (the limit)"


def _parse(text: str, file: str | None, fmt: str | None) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Compose once, check the limits, then build the data and the line map."""
    if len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8", "surrogatepass")) > (
        MAX_DOCUMENT_BYTES
    ):
        raise StrategyLoadError(_too_large(), file=file)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        root = loader.get_single_node()
        if root is not None:
            _check_graph(loader, root)
        if fmt == "json":  # JSON semantics; the YAML composition above gave limits and lines
            data: Any = json.loads(text)
        else:
            data = loader.construct_document(root) if root is not None else None
    except _LimitError as exc:
        raise StrategyLoadError(exc.message, file=file, line=exc.line) from None
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise _syntax_error(exc, file) from None
    except (ValueError, OverflowError) as exc:  # a constructor's, e.g. the date 2024-13-45
        raise StrategyLoadError(
            f"not valid YAML/JSON: a value cannot be read: {exc}", file=file
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, _line_map(root)


def _looks_like_a_file_name(text: str) -> bool:
    stripped = text.strip()
    return "\n" not in stripped and stripped.endswith((".yaml", ".yml", ".json"))


def _load_text(
    text: str, *, name: str | None, path: Path | None = None, fmt: str | None = None
) -> LoadedDocument:
    file = str(path) if path is not None else name
    data, lines = _parse(text, file, fmt)
    if not isinstance(data, dict) and path is None and _looks_like_a_file_name(text):
        raise StrategyLoadError(
            "a strategy document must be a mapping; this text is one line that looks like a "
            "file name, and text is never read as a file name (pass a pathlib.Path, or "
            "load_strategy(), to load a file)",
            file=file,
        )
    return _validate(data, lines, path, name)


def load_document_text(
    text: str, *, name: str | None = None, format: Literal["yaml", "json"] | None = None
) -> LoadedDocument:
    """Load and validate a strategy from its YAML or JSON text (never from a file).

    This is the entry point for documents that come from outside (uploads, the database): the
    text is the document itself, even when it reads like a file name.

    Parameters
    ----------
    text : str
        The document.
    name : str, optional
        Name shown in errors (e.g. ``"loan@3"``).
    format : {"yaml", "json"}, optional
        ``json`` parses with JSON semantics; by default YAML (JSON documents are YAML too).

    Raises
    ------
    StrategyLoadError
        Invalid YAML/JSON (line and column, no snippet), a document over
        :data:`MAX_DOCUMENT_BYTES`, :data:`MAX_DOCUMENT_NODES` or :data:`MAX_DOCUMENT_DEPTH`,
        an integer beyond 64 bits, or a schema violation (line and field path of each).
    """
    if not isinstance(text, str):
        raise TypeError(f"load_document_text takes the document text, not {type(text).__name__}")
    return _load_text(text, name=name, fmt=format)


def load_document(
    source: str | os.PathLike[str] | Mapping[str, Any], *, name: str | None = None
) -> LoadedDocument:
    """Load and validate a strategy from a file, its text or its parsed mapping.

    Parameters
    ----------
    source : str, Path or mapping
        A :class:`~pathlib.Path` (or other path object) is a ``.yaml``/``.yml``/``.json``
        file; a ``str`` is always the document text (see :func:`load_document_text`), never a
        file name; a mapping is the parsed document.
    name : str, optional
        Name shown in errors when ``source`` is text or a mapping.

    Raises
    ------
    StrategyLoadError
        With file, line and the field path of every problem.
    """
    if isinstance(source, str):
        return _load_text(source, name=name)
    if isinstance(source, os.PathLike):
        path = Path(source)
        text = read_strategy_file(path)
        return _load_text(
            text, name=name, path=path, fmt="json" if path.suffix == ".json" else None
        )
    if isinstance(source, Mapping):
        _check_data(source)
        return _validate(dict(source), {}, None, name)
    raise TypeError(f"cannot load a strategy from {type(source).__name__}")


def _validate(
    data: Any, lines: dict[tuple[Any, ...], int], path: Path | None, name: str | None
) -> LoadedDocument:
    file = str(path) if path is not None else name
    if not isinstance(data, dict):
        raise StrategyLoadError("a strategy document must be a mapping", file=file)
    try:
        doc = StrategyDoc.model_validate(data)
    except ValidationError as exc:
        problems = []
        first_line = None
        for err in exc.errors():
            loc = tuple(err["loc"])
            shown = tuple(p for p in loc if not (isinstance(p, str) and p in _NODE_TAGS))
            line = _closest_line(lines, shown)
            first_line = first_line or line
            where = ".".join(str(p) for p in shown) or "(document)"
            problems.append(f"{where}{f' (line {line})' if line else ''}: {err['msg']}")
        raise StrategyLoadError(
            "strategy document is invalid:\n  " + "\n  ".join(problems),
            file=file or None,
            line=first_line,
        ) from None
    return LoadedDocument(doc, path, lines, name)


_NODE_TAGS = {
    "expression",
    "rule",
    "ruleset",
    "table",
    "scorecard",
    "tree",
    "model",
    "switch",
    "split",
    "call",
    "TableOutput",
    "str",
    "TableRule",
    "list[any]",
}


def _closest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return None
