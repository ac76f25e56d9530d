"""A compiled strategy: evaluate one record or a whole frame, explain the result."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from ruleplus.decision._compile import FlowProgram, compile_flow
from ruleplus.decision._document import LoadedDocument, StrategyDoc, load_document
from ruleplus.decision._inputs import frame_problems
from ruleplus.decision._result import Decision, NodeTrace, Reason
from ruleplus.decision._vector_flow import run_frame
from ruleplus.errors import FieldProblem, InputValidationError

__all__ = ["CompiledStrategy", "compile_strategy", "load_strategy"]


class CompiledStrategy:
    """A strategy compiled once into a row program and a vector program.

    Use :func:`load_strategy` to build one. The same object serves one application at a time
    (:meth:`evaluate`) and a DataFrame at a time (:meth:`evaluate_frame`), with one semantics.
    """

    def __init__(self, loaded: LoadedDocument) -> None:
        self.document: StrategyDoc = loaded.doc
        self.path: Path | None = loaded.path
        self.id = loaded.doc.id
        self.version = loaded.doc.version
        self.decision_field = loaded.doc.decision_field
        self._catalogue = loaded.doc.reasons
        self._program: FlowProgram = compile_flow(loaded, self._invalid)
        self._row = self._program.row
        self._row_traced = self._program.row_traced
        self._node_ids = {n.index: n.id for n in self._program.nodes.values()}
        self._node_info = {n.index: n for n in self._program.nodes.values()}

    # properties ---------------------------------------------------------------------------------
    @property
    def outputs(self) -> list[str]:
        """Output field names."""
        return list(self._program.outputs)

    @property
    def input_fields(self) -> list[str]:
        """Input field names."""
        return [s.name for s in self._program.specs]

    @property
    def warnings(self) -> list[str]:
        """Compile-time warnings (e.g. overlapping or incomplete unique tables)."""
        return list(self._program.warnings)

    @property
    def generated_source(self) -> str:
        """The Python source of the row program (for review and debugging)."""
        return self._program.row_source

    # evaluation -----------------------------------------------------------------------------------
    def evaluate(self, record: Mapping[str, Any], trace: bool = False) -> Decision:
        """Decide one record.

        Parameters
        ----------
        record : mapping
            The application, keyed by input field name (extra keys are ignored).
        trace : bool, default=False
            Record per node its inputs, outputs, matched rules and time.

        Raises
        ------
        InputValidationError
            Listing every bad field.
        EvaluationError
            When a node fails (e.g. a ``unique`` table with two matching rules).
        """
        outputs, reasons, arm, raw_trace = (self._row_traced if trace else self._row)(record)
        return Decision(outputs, reasons, arm, raw_trace, self)

    def evaluate_frame(
        self, frame: Any, *, reasons: bool = False, keep: tuple[str, ...] = ()
    ) -> pl.DataFrame:
        """Decide every row of a DataFrame (polars or pandas).

        Parameters
        ----------
        frame : polars.DataFrame or pandas.DataFrame
            One application per row.
        reasons : bool, default=False
            Add a ``reasons`` column (list of codes) and, with a split, an ``arm`` column.
        keep : tuple of str, default=()
            Input columns copied to the output (e.g. an application id).

        Returns
        -------
        polars.DataFrame
            Output columns, in input row order, plus ``_error`` (null for good rows).
        """
        if not isinstance(frame, pl.DataFrame):
            frame = pl.from_pandas(frame) if hasattr(frame, "to_numpy") else pl.DataFrame(frame)
        return run_frame(self._program, frame, reasons=reasons, keep=keep)

    def validate_record(self, record: Mapping[str, Any]) -> list[FieldProblem]:
        """Every problem of one record against the input schema (empty when valid)."""
        return frame_problems(self._program.specs, record)

    # rendering ------------------------------------------------------------------------------------
    def _invalid(self, problems: list[FieldProblem]) -> Any:
        raise InputValidationError(problems, strategy=self.id, version=self.version)

    def render_reasons(self, raw: list[tuple[Any, int, float]]) -> list[Reason]:
        """Turn raw ``(code, node index, weight)`` entries into reasons with texts."""
        out = []
        for code, index, weight in raw:
            text = self._catalogue.get(code)
            out.append(
                Reason(
                    str(code),
                    text.en if text else str(code),
                    text.zh if text and text.zh else (text.en if text else str(code)),
                    self._node_ids.get(index, "?"),
                    float(weight),
                )
            )
        return out

    def render_trace(self, raw: list[tuple[Any, ...]]) -> list[NodeTrace]:
        """Turn raw trace tuples into :class:`NodeTrace` records."""
        out = []
        for index, read_values, write_values, detail, elapsed in raw:
            node = self._node_info[index]
            writes = [w for w in node.assigns if not w.startswith("_")]
            out.append(
                NodeTrace(
                    node.id,
                    node.kind,
                    dict(zip(node.reads, read_values, strict=False)),
                    dict(zip(writes, write_values, strict=False)),
                    detail,
                    elapsed / 1000.0,
                )
            )
        return out

    def __repr__(self) -> str:
        return (
            f"CompiledStrategy(id={self.id!r}, version={self.version!r}, "
            f"nodes={len(self._program.nodes)})"
        )


def compile_strategy(
    source: str | Path | dict[str, Any] | LoadedDocument, *, name: str | None = None
) -> CompiledStrategy:
    """Compile a strategy from a path, YAML/JSON text, a dict or a loaded document."""
    loaded = source if isinstance(source, LoadedDocument) else load_document(source, name=name)
    return CompiledStrategy(loaded)


def load_strategy(path: str | Path) -> CompiledStrategy:
    """Load and compile a strategy file (``.yaml``, ``.yml`` or ``.json``).

    Raises
    ------
    StrategyLoadError
        The document does not match the schema (with file and line).
    StrategyCompileError
        Cycles, unreachable nodes, unknown or mistyped fields (with file, line, node and field).
    """
    return compile_strategy(Path(path))
