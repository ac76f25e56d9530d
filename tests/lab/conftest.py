"""Lab fixtures: synthetic applications, the consumer-loan strategy and variants of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
import yaml

from ruleplus.cli.demo import example_strategy_path
from ruleplus.datasets import synth_applications
from ruleplus.decision import CompiledStrategy, compile_strategy, load_strategy


@pytest.fixture(scope="session")
def consumer_loan() -> CompiledStrategy:
    return load_strategy(example_strategy_path("consumer_loan.yaml"))


@pytest.fixture(scope="session")
def consumer_doc() -> dict[str, Any]:
    text = example_strategy_path("consumer_loan.yaml").read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    doc.pop("$schema", None)
    return doc


@pytest.fixture(scope="session")
def variant(consumer_doc: dict[str, Any]) -> Callable[..., CompiledStrategy]:
    """A variant of the consumer-loan document: each keyword edits one node (by id)."""

    def make(**edits: Callable[[dict[str, Any]], None]) -> CompiledStrategy:
        doc = copy.deepcopy(consumer_doc)
        doc["version"] = "9.9.9-test"
        for node in doc["nodes"]:
            if node["id"] in edits:
                edits[node["id"]](node)
        return compile_strategy(doc)

    return make


@pytest.fixture(scope="session")
def applications() -> pl.DataFrame:
    frame = synth_applications(6_000, seed=7)
    # some outcomes not known yet (recent loans), as in a real book
    known = pl.int_range(pl.len()) % 5 != 0
    return frame.with_columns(
        pl.when(known).then(pl.col("defaulted")).otherwise(None).alias("bad_12m")
    )
