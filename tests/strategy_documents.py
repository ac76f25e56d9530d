"""Strategy documents that several test packages share: a child strategy, a parent that calls
it and a strategy scored by a model file (``REF`` is replaced with the reference under test).

Importable from any test module (the suite's ``conftest.py`` puts ``tests/`` on the path)."""

from __future__ import annotations

import textwrap

CHILD = textwrap.dedent("""\
    id: child
    inputs:
      income: {type: number, required: true}
    outputs: [tier]
    nodes:
      - id: grade
        type: ruleset
        mode: first
        rules:
          - {when: income < 1000, then: {tier: C}}
          - {when: "true", then: {tier: A}}
    """)

PARENT = textwrap.dedent("""\
    id: parent
    version: "1"
    inputs:
      salary: {type: number, required: true}
    nodes:
      - id: sub
        type: call
        strategy: REF
        inputs: {income: salary}
        outputs: {grade: tier}
    """)

MODEL = textwrap.dedent("""\
    id: scored
    inputs:
      income: {type: number}
    nodes:
      - id: pd
        type: model
        format: onnx
        artifact: REF
        features: {f_income: income}
    """)
