"""ruleplus: an intelligent decision platform for consumer-finance risk ("rules plus").

Strategies are data (YAML/JSON) compiled once into fast evaluators that run one application
at a time or a DataFrame at a time with one semantics.

>>> import ruleplus
>>> strategy = ruleplus.load_strategy("examples/strategies/reference_loan.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

from ruleplus import errors
from ruleplus._version import __version__
from ruleplus.decision import (
    CompiledStrategy,
    Decision,
    Reason,
    compile_strategy,
    load_strategy,
    strategy_json_schema,
)
from ruleplus.expr import compile_expression

__all__ = [
    "CompiledStrategy",
    "Decision",
    "Reason",
    "__version__",
    "compile_expression",
    "compile_strategy",
    "errors",
    "load_strategy",
    "strategy_json_schema",
]
