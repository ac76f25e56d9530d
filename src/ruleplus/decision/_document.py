"""The strategy document: a YAML/JSON file validated against pydantic models.

The models are the single source of the published JSON Schema (``strategy.schema.json``).
Line numbers of every mapping are kept while loading so that errors can name file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ruleplus.errors import StrategyLoadError

__all__ = [
    "CallNode",
    "Characteristic",
    "ExpressionNode",
    "InputField",
    "ListSignal",
    "ModelNode",
    "NodeDoc",
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
    artifact: str = Field(description="path, relative to the strategy file")
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
    strategy: str = Field(description="path of the sub-strategy, relative to this file")
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

    @property
    def window_seconds(self) -> int:
        """The window in seconds."""
        from ruleplus.fraud.velocity import parse_window

        return parse_window(self.window)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | int) -> str | int:
        from ruleplus.fraud.velocity import parse_window

        parse_window(value)
        return value


class ListSignal(_Model):
    """Whether ``key``'s value is on watch list ``list``."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="input field it fills")
    list: str = Field(description="watch-list type, e.g. phone, id_number, device")
    key: str = Field(description="input field whose value is looked up")


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
    outputs: list[str] | None = Field(
        default=None, description="fields returned; default: all assigned"
    )
    reasons: dict[str, ReasonText] = Field(default_factory=dict)
    signals: Signals | None = Field(
        default=None, description="fraud signals the service computes before evaluation"
    )
    nodes: list[NodeDoc] = Field(min_length=1)


def strategy_json_schema() -> dict[str, Any]:
    """The JSON Schema of strategy documents (draft 2020-12)."""
    schema = StrategyDoc.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ruleplus.dev/schemas/strategy.schema.json"
    return schema


def _line_map(text: str) -> dict[tuple[Any, ...], int]:
    """Map each mapping/sequence path of a YAML (or JSON) document to its 1-based line."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
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


def load_document(
    source: str | Path | dict[str, Any], *, name: str | None = None
) -> LoadedDocument:
    """Load and validate a strategy from a file path, YAML/JSON text or a dict.

    Parameters
    ----------
    source : str, Path or dict
        A path to a ``.yaml``/``.yml``/``.json`` file, the document text, or the parsed dict.
    name : str, optional
        Name shown in errors when ``source`` is text or a dict.

    Raises
    ------
    StrategyLoadError
        With file, line and the field path of every problem.
    """
    path: Path | None = None
    lines: dict[tuple[Any, ...], int] = {}
    if isinstance(source, dict):
        data: Any = source
    else:
        text: str
        if isinstance(source, Path) or (
            isinstance(source, str)
            and "\n" not in source
            and source.endswith((".yaml", ".yml", ".json"))
        ):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise StrategyLoadError(
                    f"cannot read strategy file: {exc.strerror}", file=str(path)
                ) from exc
        else:
            text = str(source)
        try:
            data = (
                json.loads(text)
                if path is not None and path.suffix == ".json"
                else yaml.safe_load(text)
            )
            lines = _line_map(text)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)
            line = (
                exc.lineno
                if isinstance(exc, json.JSONDecodeError)
                else (mark.line + 1 if mark else None)
            )
            raise StrategyLoadError(
                f"not valid YAML/JSON: {exc}", file=str(path) if path else name, line=line
            ) from exc
    if not isinstance(data, dict):
        raise StrategyLoadError(
            "a strategy document must be a mapping", file=str(path) if path else name
        )
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
            file=str(path or name) if (path or name) else None,
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
