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

__all__ = [
    "JDM_CONTENT_TYPE",
    "ConformanceReport",
    "FunctionNodeError",
    "JdmGraph",
    "is_jdm_document",
    "load_jdm",
    "run_suite",
    "same_json",
]
