"""A compiled strategy: evaluate one record or a whole frame, explain the result."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from ruleplus.decision._artifacts import (
    NO_ARTIFACTS,
    ArtifactResolver,
    FileArtifacts,
    StrategySource,
)
from ruleplus.decision._compile import FlowProgram, compile_flow
from ruleplus.decision._document import (
    LoadedDocument,
    StrategyDoc,
    _load_text,
    load_document,
    load_document_text,
)
from ruleplus.decision._inputs import frame_problems
from ruleplus.decision._offer import OfferProgram, compile_offer
from ruleplus.decision._parameters import ParameterSpec, parameter_specs, resolve_parameters
from ruleplus.decision._result import Decision, NodeTrace, Reason
from ruleplus.decision._vector_flow import run_frame
from ruleplus.decision.importers.jdm import jdm_source
from ruleplus.decision.nodes import SubStrategy
from ruleplus.errors import FieldProblem, InputValidationError

__all__ = ["CompiledStrategy", "compile_strategy", "load_strategy"]


class CompiledStrategy:
    """A strategy compiled once into a row program and a vector program.

    Use :func:`load_strategy` or :func:`compile_strategy` to build one. The same object serves
    one application at a time (:meth:`evaluate`) and a DataFrame at a time
    (:meth:`evaluate_frame`), with one semantics.

    Parameters
    ----------
    loaded : LoadedDocument
        The validated document.
    artifacts : ArtifactResolver, optional
        Resolves ``call.strategy`` and ``model.artifact``; by default the file's folder for a
        document read from a file, else :data:`~ruleplus.decision.NO_ARTIFACTS` (refuses).
    chain : tuple of str, optional
        Keys of the calling documents (sub-strategies; see :class:`NodeContext`).
    parameters : mapping, optional
        Overrides of the document's declared ``parameters`` (name -> value), checked against
        their types and ranges; see :meth:`with_parameters`.
    """

    _MAX_VARIANTS = 64  # compiled parameter variants kept per strategy (deployments, sweeps)

    def __init__(
        self,
        loaded: LoadedDocument,
        *,
        artifacts: ArtifactResolver | None = None,
        chain: tuple[str, ...] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.document: StrategyDoc = loaded.doc
        self.path: Path | None = loaded.path
        self.id = loaded.doc.id
        self.version = loaded.doc.version
        self.decision_field = loaded.doc.decision_field
        self._catalogue = loaded.doc.reasons
        if artifacts is None:
            artifacts = FileArtifacts(loaded.path.parent) if loaded.path else NO_ARTIFACTS
        if chain is None:
            chain = (str(loaded.path.resolve()),) if loaded.path else ()
        self.artifacts = artifacts
        self._loaded = loaded
        self._chain = chain
        self._specs = parameter_specs(loaded.doc.parameters, strategy=loaded.doc.id)
        values, self._overrides = resolve_parameters(
            self._specs, parameters, strategy=loaded.doc.id
        )
        self._values = values
        self._variants: dict[tuple[tuple[str, Any], ...], CompiledStrategy] = {}
        self._variants_lock = threading.Lock()
        self._program: FlowProgram = compile_flow(
            loaded,
            self._invalid,
            artifacts=artifacts,
            chain=chain,
            compile_sub=_compile_sub,
            parameters={name: (self._specs[name].ty, value) for name, value in values.items()},
        )
        self._row = self._program.row
        self._row_traced = self._program.row_traced
        self._node_ids = {n.index: n.id for n in self._program.nodes.values()}
        self._node_info = {n.index: n for n in self._program.nodes.values()}
        self._offer = _offer_program(loaded, self._program, self._values, self._specs)

    # properties ---------------------------------------------------------------------------------
    @property
    def offer(self) -> OfferProgram | None:
        """The compiled ``offer:`` section (None without one): its document, and the terms of
        a decided application (:meth:`OfferProgram.terms`, :meth:`OfferProgram.terms_frame`)."""
        return self._offer

    @property
    def outputs(self) -> list[str]:
        """Output field names."""
        return list(self._program.outputs)

    @property
    def input_fields(self) -> list[str]:
        """Input field names."""
        return [s.name for s in self._program.specs]

    @property
    def parameters(self) -> dict[str, ParameterSpec]:
        """The declared parameters (name -> declaration with type, default and bounds)."""
        return dict(self._specs)

    @property
    def parameter_values(self) -> dict[str, Any]:
        """Every parameter's value in this compiled variant."""
        return dict(self._values)

    @property
    def overrides(self) -> dict[str, Any]:
        """The parameters whose value differs from the declared default (empty: none)."""
        return dict(self._overrides)

    def with_parameters(self, overrides: Mapping[str, Any] | None) -> CompiledStrategy:
        """The same strategy version with ``overrides`` in place of the declared defaults.

        Overrides replace the defaults (they do not add to this variant's own overrides). The
        variant is compiled once and kept (up to 64 per strategy), so a deployment's cut-offs or
        a sweep's values cost one compile each.

        Parameters
        ----------
        overrides : mapping or None
            Parameter name -> value; ``None`` or empty gives the defaults.

        Returns
        -------
        CompiledStrategy
            ``self`` when the values are those of this variant.

        Raises
        ------
        ParameterError
            An undeclared name, a value of the wrong type, out of range or not allowed.
        """
        values, changed = resolve_parameters(self._specs, overrides, strategy=self.id)
        if values == self._values and changed == self._overrides:
            return self
        key = tuple(sorted((name, (type(v).__name__, v)) for name, v in changed.items()))
        variant = self._variants.get(key)
        if variant is None:
            variant = CompiledStrategy(
                self._loaded, artifacts=self.artifacts, chain=self._chain, parameters=changed
            )
            with self._variants_lock:  # service threads share one compiled strategy
                while len(self._variants) >= self._MAX_VARIANTS:
                    self._variants.pop(next(iter(self._variants)))
                variant = self._variants.setdefault(key, variant)
        return variant

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


def _offer_program(
    loaded: LoadedDocument,
    program: FlowProgram,
    values: Mapping[str, Any],
    specs: Mapping[str, ParameterSpec],
) -> OfferProgram | None:
    """The offer section compiled over the inputs, the outputs and the parameters."""
    if loaded.doc.offer is None:
        return None
    env = {s.name: s.ty for s in program.specs}
    env.update(program.output_types)
    env.update({name: specs[name].ty for name in values})
    return compile_offer(
        loaded.doc.offer,
        env,
        values,
        strategy=loaded.doc.id,
        file=str(loaded.path) if loaded.path else loaded.name,
        line_of=loaded.line_of,
    )


def compile_strategy(
    source: str | os.PathLike[str] | Mapping[str, Any] | LoadedDocument,
    *,
    name: str | None = None,
    artifacts: ArtifactResolver | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> CompiledStrategy:
    """Compile a strategy from its YAML/JSON text, a file, a mapping or a loaded document.

    Parameters
    ----------
    source : str, Path, mapping or LoadedDocument
        A ``str`` is always the document text (even one that reads like a file name); a
        :class:`~pathlib.Path` is a file; a mapping is the parsed document.
    name : str, optional
        Name shown in errors when ``source`` is text or a mapping.
    artifacts : ArtifactResolver, optional
        What ``call.strategy`` and ``model.artifact`` may reference. Default: paths relative to
        the file for a :class:`~pathlib.Path` (:class:`~ruleplus.decision.FileArtifacts`);
        nothing for text and mappings (:data:`~ruleplus.decision.NO_ARTIFACTS`: a strategy with
        references does not compile). A server passes its
        :class:`~ruleplus.store.artifacts.ArtifactStore`.
    parameters : mapping, optional
        Overrides of the declared parameters (see :meth:`CompiledStrategy.with_parameters`).

    Raises
    ------
    StrategyLoadError
        The document is not valid YAML/JSON, is over a size limit or does not match the schema.
    StrategyCompileError
        Cycles, unknown or mistyped fields, refused or missing references (with node and line).
    ParameterError
        An override that does not fit the declared parameters.
    """
    translated = None if isinstance(source, LoadedDocument) else jdm_source(source, name)
    if translated is not None:  # a GoRules JDM graph: compiled as the strategy it translates to
        source = translated
    if isinstance(source, LoadedDocument):
        loaded = source
    elif isinstance(source, str):
        loaded = load_document_text(source, name=name)
    else:
        loaded = load_document(source, name=name)
    return CompiledStrategy(loaded, artifacts=artifacts, parameters=parameters)


def _compile_sub(source: StrategySource, chain: tuple[str, ...]) -> SubStrategy:
    """Compile a sub-strategy resolved by a ``call`` node (given to nodes as ``compile_sub``)."""
    loaded = _load_text(source.text, name=source.name, path=source.path, fmt=source.format)
    sub = CompiledStrategy(loaded, artifacts=source.artifacts, chain=chain)
    program = sub._program
    return SubStrategy(
        id=sub.id,
        version=sub.version,
        warnings=sub.warnings,
        reason_codes=tuple(sub.document.reasons),
        specs=program.specs,
        outputs=sub.outputs,
        output_types=program.output_types,
        row=sub._row,
        row_traced=sub._row_traced,
        render_trace=sub.render_trace,
        evaluate_frame=lambda frame: sub.evaluate_frame(frame, reasons=True),
    )


def load_strategy(path: str | os.PathLike[str]) -> CompiledStrategy:
    """Load and compile a strategy file (``.yaml``, ``.yml`` or ``.json``).

    ``path`` is always a file name here; references in the strategy are relative to its folder.

    Raises
    ------
    StrategyLoadError
        The document does not match the schema (with file and line).
    StrategyCompileError
        Cycles, unreachable nodes, unknown or mistyped fields (with file, line, node and field).
    """
    return compile_strategy(Path(path))
