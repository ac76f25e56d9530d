"""GoRules JDM decision graphs: run them natively, test them, import them as strategies."""

from __future__ import annotations

from ruleplus.decision.importers.jdm._conformance import ConformanceReport, run_suite, same_json
from ruleplus.decision.importers.jdm._graph import (
    JDM_CONTENT_TYPE,
    FunctionNodeError,
    JdmGraph,
    is_jdm_document,
    load_jdm,
)
from ruleplus.decision.importers.jdm._translate import (
    UntranslatableError,
    jdm_source,
    jdm_to_strategy,
    strategy_yaml,
)

__all__ = [
    "JDM_CONTENT_TYPE",
    "ConformanceReport",
    "FunctionNodeError",
    "JdmGraph",
    "UntranslatableError",
    "is_jdm_document",
    "jdm_source",
    "jdm_to_strategy",
    "load_jdm",
    "run_suite",
    "same_json",
    "strategy_yaml",
]
