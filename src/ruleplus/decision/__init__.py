"""Strategies: documents, compilation and evaluation.

>>> from ruleplus.decision import load_strategy
>>> strategy = load_strategy("examples/strategies/reference_loan.yaml")  # doctest: +SKIP
>>> strategy.evaluate({"creditScore": 790, ...}).decision                # doctest: +SKIP
'approve'
"""

from __future__ import annotations

from ruleplus.decision._document import StrategyDoc, load_document, strategy_json_schema
from ruleplus.decision._result import Decision, NodeTrace, Reason
from ruleplus.decision._strategy import CompiledStrategy, compile_strategy, load_strategy
from ruleplus.decision._vector_flow import ERROR_COLUMN

__all__ = [
    "ERROR_COLUMN",
    "CompiledStrategy",
    "Decision",
    "NodeTrace",
    "Reason",
    "StrategyDoc",
    "compile_strategy",
    "load_document",
    "load_strategy",
    "strategy_json_schema",
]
