"""What an evaluation returns: outputs, the decision, ranked reasons and the optional trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Decision", "Explainer", "NodeTrace", "Reason"]


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason code with its text.

    Attributes
    ----------
    code : str
        The code, e.g. ``R03``.
    text_en, text_zh : str
        Text from the strategy's reason catalogue (the code itself when it has none).
    node : str
        Id of the node that gave it.
    weight : float
        Ranking weight (points lost for scorecard reasons, else 0).
    """

    code: str
    text_en: str
    text_zh: str
    node: str
    weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "code": self.code,
            "text": self.text_en,
            "text_zh": self.text_zh,
            "node": self.node,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class NodeTrace:
    """What one node saw and did."""

    node: str
    type: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    detail: Any
    elapsed_us: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "node": self.node,
            "type": self.type,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "matched": self.detail,
            "elapsed_us": self.elapsed_us,
        }


class Explainer(Protocol):
    """What a :class:`Decision` needs of the strategy that made it (a ``CompiledStrategy``)."""

    @property
    def id(self) -> str:
        """Strategy id."""
        ...

    @property
    def version(self) -> str:
        """Strategy version."""
        ...

    @property
    def decision_field(self) -> str:
        """Name of the decision field."""
        ...

    def render_reasons(self, raw: list[tuple[Any, int, float]]) -> list[Reason]:
        """Raw ``(code, node index, weight)`` entries -> reasons with texts."""
        ...

    def render_trace(self, raw: list[tuple[Any, ...]]) -> list[NodeTrace]:
        """Raw trace tuples -> per-node records."""
        ...


class Decision:
    """The result of evaluating a strategy on one record.

    Attributes
    ----------
    outputs : dict
        The strategy's output fields (null outputs are left out).
    decision : Any
        The value of the strategy's decision field, if any.
    arm : str or None
        The champion/challenger arm taken at a ``split`` node.
    """

    __slots__ = ("_raw_reasons", "_raw_trace", "_strategy", "arm", "decision", "outputs")

    def __init__(
        self,
        outputs: dict[str, Any],
        raw_reasons: list[tuple[Any, int, float]],
        arm: str | None,
        raw_trace: list[tuple[Any, ...]] | None,
        strategy: Explainer,
    ) -> None:
        self.outputs = outputs
        self.decision = outputs.get(strategy.decision_field)
        self.arm = arm
        self._raw_reasons = raw_reasons
        self._raw_trace = raw_trace
        self._strategy = strategy

    @property
    def reasons(self) -> list[Reason]:
        """Reason codes, most important first (scorecard reasons by points lost)."""
        return self._strategy.render_reasons(self._raw_reasons)

    @property
    def trace(self) -> list[NodeTrace] | None:
        """Per node: inputs, outputs, matched rows/rules and time (``None`` unless requested)."""
        if self._raw_trace is None:
            return None
        return self._strategy.render_trace(self._raw_trace)

    @property
    def strategy_id(self) -> str:
        """Id of the strategy that decided."""
        return self._strategy.id

    @property
    def strategy_version(self) -> str:
        """Version of the strategy that decided."""
        return self._strategy.version

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: decision, outputs, reasons, strategy, arm and trace."""
        out: dict[str, Any] = {
            "decision": self.decision,
            "outputs": self.outputs,
            "reasons": [r.to_dict() for r in self.reasons],
            "strategy": {"id": self.strategy_id, "version": self.strategy_version},
        }
        if self.arm is not None:
            out["arm"] = self.arm
        trace = self.trace
        if trace is not None:
            out["trace"] = [t.to_dict() for t in trace]
        return out

    def __repr__(self) -> str:
        return f"Decision(decision={self.decision!r}, outputs={self.outputs!r})"
