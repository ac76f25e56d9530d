"""Strategies: documents, compilation and evaluation.

>>> from ruleplus.decision import load_strategy
>>> strategy = load_strategy("examples/strategies/reference_loan.yaml")  # doctest: +SKIP
>>> strategy.evaluate({"creditScore": 790, ...}).decision                # doctest: +SKIP
'approve'

A ``str`` is always a document's text and a :class:`~pathlib.Path` a file. References to other
files (``call.strategy``, ``model.artifact``) go through the resolver a strategy is compiled
with: its folder for a file, none for text unless ``compile_strategy(text, artifacts=...)``.
"""

from __future__ import annotations

from ruleplus.decision._artifacts import (
    NO_ARTIFACTS,
    ArtifactError,
    ArtifactResolver,
    ContentStore,
    FileArtifacts,
    StoredArtifacts,
    StrategySource,
)
from ruleplus.decision._document import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_DEPTH,
    MAX_DOCUMENT_NODES,
    LoadedDocument,
    StrategyDoc,
    load_document,
    load_document_text,
    strategy_json_schema,
)
from ruleplus.decision._inputs import ERROR_COLUMN
from ruleplus.decision._offer import (
    OfferDoc,
    OfferFeeDoc,
    OfferLimitDoc,
    OfferPriceDoc,
    OfferProgram,
    ScoreBandDoc,
)
from ruleplus.decision._parameters import (
    ParameterSpec,
    check_parameter_overrides,
    parse_parameter_text,
)
from ruleplus.decision._result import Decision, NodeTrace, Reason
from ruleplus.decision._strategy import CompiledStrategy, compile_strategy, load_strategy
from ruleplus.decision._windows import parse_window

__all__ = [
    "ERROR_COLUMN",
    "MAX_DOCUMENT_BYTES",
    "MAX_DOCUMENT_DEPTH",
    "MAX_DOCUMENT_NODES",
    "NO_ARTIFACTS",
    "ArtifactError",
    "ArtifactResolver",
    "CompiledStrategy",
    "ContentStore",
    "Decision",
    "FileArtifacts",
    "LoadedDocument",
    "NodeTrace",
    "OfferDoc",
    "OfferFeeDoc",
    "OfferLimitDoc",
    "OfferPriceDoc",
    "OfferProgram",
    "ParameterSpec",
    "Reason",
    "ScoreBandDoc",
    "StoredArtifacts",
    "StrategyDoc",
    "StrategySource",
    "check_parameter_overrides",
    "compile_strategy",
    "load_document",
    "load_document_text",
    "load_strategy",
    "parse_parameter_text",
    "parse_window",
    "strategy_json_schema",
]
