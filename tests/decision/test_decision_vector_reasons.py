"""The vector back end's reason lists: the fast join-and-split and the exact concatenation it
falls back to when a code is empty text or holds the separator give what the row path gives."""

from __future__ import annotations

import polars as pl
import pytest

from ruleplus.decision import compile_strategy

DOC = """
id: reasons
inputs:
  x: {type: integer}
  c: {type: string}
nodes:
  - id: tb
    type: table
    hit_policy: collect
    inputs: [x]
    outputs: [{name: why, reason: true}]
    rules:
      - {when: [">= 0"], then: [{expr: c}]}
      - {when: [">= 5"], then: ["B"]}
  - id: r
    type: rule
    when: x > 7
    then: {decision: decline}
    reason: HIGH
"""


@pytest.mark.parametrize(
    "codes",
    [
        ["A", None, "C", "D"],
        ["A", "", "C", None],  # an empty code is a code
        ["A", "x\x1fy", None, "D"],  # a code holding the separator
    ],
)
def test_vector_reasons_equal_the_row_path(codes: list[str | None]) -> None:
    strategy = compile_strategy(DOC)
    xs = [1, 6, 9, -1]
    frame = pl.DataFrame({"x": xs, "c": codes}, schema={"x": pl.Int64, "c": pl.String})
    vector = strategy.evaluate_frame(frame, reasons=True)["reasons"].to_list()
    row = [
        [r.code for r in strategy.evaluate({"x": x, "c": c}).reasons]
        for x, c in zip(xs, codes, strict=True)
    ]
    assert vector == row
