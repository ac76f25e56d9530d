"""Node types. Each entry type-checks a node document into a :class:`CompiledNode`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ruleplus.decision.nodes._base import (
    CompiledNode,
    NodeContext,
    RawRow,
    RowGen,
    SubCompiler,
    SubStrategy,
    VecGen,
    append_to,
    first_match,
)
from ruleplus.decision.nodes.call import check_call
from ruleplus.decision.nodes.expression import check_expression
from ruleplus.decision.nodes.ml_model import check_model
from ruleplus.decision.nodes.routing import check_split, check_switch
from ruleplus.decision.nodes.rules import check_rule, check_ruleset
from ruleplus.decision.nodes.scorecard import check_scorecard
from ruleplus.decision.nodes.table import check_table
from ruleplus.decision.nodes.tree import check_tree
from ruleplus.expr import Ty

__all__ = [
    "NODE_TYPES",
    "CompiledNode",
    "NodeContext",
    "RawRow",
    "RowGen",
    "SubCompiler",
    "SubStrategy",
    "VecGen",
    "append_to",
    "first_match",
]

NodeChecker = Callable[[Any, dict[str, Ty], NodeContext], CompiledNode]

NODE_TYPES: dict[str, NodeChecker] = {
    "expression": check_expression,
    "rule": check_rule,
    "ruleset": check_ruleset,
    "table": check_table,
    "scorecard": check_scorecard,
    "tree": check_tree,
    "model": check_model,
    "call": check_call,
    "switch": check_switch,
    "split": check_split,
}
"""Registry of node types (plug-ins add themselves here)."""
