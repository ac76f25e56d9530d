"""The row path and the vector path of a strategy never disagree.

For the example strategies and every node-type strategy of ``test_decision_nodes.py``, a frame of
synthetic applications plus corrupted rows (nulls, wrong types, out-of-range and non-finite
values, fractional integers) is decided record by record (``evaluate``) and all at once
(``evaluate_frame``). For every row both must give the same outputs, the same reason codes in the
same order, the same arm, and the same validation problems: the row path raises
:class:`InputValidationError` whose problems, rendered ``"field: problem"`` and joined by
``"; "``, are exactly the vector path's ``_error`` text. A hypothesis test does the same for
random decision tables over random data.

Scope: a frame column holds one type. A record with a wrong-typed value therefore arrives in the
frame as a text column (as when a JSON lines file mixes types); the other records of that
column keep their original values on the row path, and their text form on the vector path.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decision_nodes import NODE_DOCS, same, same_outputs

from ruleplus.datasets import synth_applications
from ruleplus.decision import ERROR_COLUMN, CompiledStrategy, compile_strategy, load_strategy
from ruleplus.errors import EvaluationError, InputValidationError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "strategies"
N_SYNTH = 3000


# frames from records ---------------------------------------------------------------------------


def _column(name: str, values: list[Any]) -> pl.Series:
    """One column as a frame would hold it: mixed types become text, ints and floats Float64."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if not kinds:
        return pl.Series(name, values, dtype=pl.Null)
    if kinds == {bool}:
        return pl.Series(name, values, dtype=pl.Boolean)
    if kinds == {int}:
        return pl.Series(name, values, dtype=pl.Int64)
    if kinds <= {int, float}:
        return pl.Series(name, [None if v is None else float(v) for v in values], dtype=pl.Float64)
    if kinds <= {dt.date} or kinds <= {dt.datetime}:
        return pl.Series(name, values)
    return pl.Series(name, [_text(v) for v in values], dtype=pl.String)


def _text(value: Any) -> str | None:
    """A value in a text column (NaN, which means missing, becomes null)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else repr(value)


def frame_of(records: list[dict[str, Any]]) -> pl.DataFrame:
    names = list(dict.fromkeys(k for r in records for k in r))
    return pl.DataFrame([_column(n, [r.get(n) for r in records]) for n in names])


# the comparison --------------------------------------------------------------------------------


def row_outcome(strategy: CompiledStrategy, record: dict[str, Any]) -> dict[str, Any]:
    try:
        decision = strategy.evaluate(record)
    except InputValidationError as exc:
        return {"invalid": "; ".join(str(p) for p in exc.problems)}
    except EvaluationError as exc:
        return {"failed": exc}
    return {
        "outputs": decision.outputs,
        "reasons": [r.code for r in decision.reasons],
        "arm": decision.arm,
    }


def assert_backends_agree(
    strategy: CompiledStrategy, records: list[dict[str, Any]], frame: pl.DataFrame | None = None
) -> dict[str, int]:
    """Compare every record; return how many were decided, invalid and failed."""
    frame = frame_of(records) if frame is None else frame
    result = strategy.evaluate_frame(frame, reasons=True)
    assert result.height == len(records)
    has_arm = "arm" in result.columns
    counts = {"decided": 0, "invalid": 0, "failed": 0}
    problems: list[str] = []
    for number, (record, vec) in enumerate(zip(records, result.iter_rows(named=True), strict=True)):
        row = row_outcome(strategy, record)
        error = vec[ERROR_COLUMN]
        vec_outputs = {k: vec[k] for k in strategy.outputs if vec[k] is not None}
        if "invalid" in row:
            counts["invalid"] += 1
            ok = error == row["invalid"] and not vec_outputs and vec["reasons"] == []
        elif "failed" in row:
            counts["failed"] += 1
            node = row["failed"].context.get("node", "")
            ok = error is not None and node in error and not vec_outputs
        else:
            counts["decided"] += 1
            ok = (
                error is None
                and same_outputs(row["outputs"], vec_outputs)
                and row["reasons"] == vec["reasons"]
                and row["arm"] == (vec["arm"] if has_arm else None)
            )
        if not ok:
            problems.append(f"row {number}: {record}\n    row:    {row}\n    vector: {vec}")
    assert not problems, f"{len(problems)} rows differ:\n" + "\n".join(problems[:5])
    return counts


# node-type strategies ----------------------------------------------------------------------------


def random_records(schema: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    draw: dict[Any, Callable[[], Any]] = {
        pl.Int64: lambda: rng.choice([None, -9, *range(-2, 25)]),
        pl.Float64: lambda: rng.choice(
            [None, 0.0, 0.25, 0.5, 0.99, 1.0, 1.5, 3.0, round(rng.uniform(-1, 5), 3)]
        ),
        pl.String: lambda: rng.choice(
            [None, "a", "b", "c", "z", "bad", "good", f"k{rng.random()}"]
        ),
    }
    return [{name: draw[dtype]() for name, dtype in schema.items()} for _ in range(n)]


def corrupt_node_records(records: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Fractional, non-finite and NaN values in the integer / number inputs."""
    rng = random.Random(seed)
    out = copy.deepcopy(records)
    for record in rng.sample(out, k=len(out) // 10):
        field = rng.choice([f for f in ("x", "y") if f in record] or ["x"])
        record[field] = rng.choice([2.5, float("nan"), float("inf"), -float("inf")])
    return out


@pytest.mark.parametrize("name", sorted(NODE_DOCS))
def test_node_strategies_agree_on_random_data(name: str) -> None:
    doc, schema = NODE_DOCS[name]
    strategy = compile_strategy(copy.deepcopy(doc))
    records = random_records(schema, 1500, seed=len(name))
    counts = assert_backends_agree(strategy, records, pl.DataFrame(records, schema=schema))
    assert counts["decided"] > 0
    corrupted = corrupt_node_records(records, seed=7)
    counts = assert_backends_agree(strategy, corrupted)
    assert counts["invalid"] > 0 or "x" not in schema


# the example strategies --------------------------------------------------------------------------


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(record: dict[str, Any]) -> None:
        record[field] = value

    return apply


def _drop(field: str) -> Callable[[dict[str, Any]], None]:
    def apply(record: dict[str, Any]) -> None:
        record.pop(field, None)

    return apply


def _many(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(record: dict[str, Any]) -> None:
        for change in changes:
            change(record)

    return apply


CORRUPTIONS: list[Callable[[dict[str, Any]], None]] = [
    # nulls and missing keys
    _set("creditScore", None),
    _set("monthlyIncome", None),
    _set("residentialStatus", None),
    _set("applicantId", None),
    _set("utilization", None),
    _set("employmentType", None),
    _drop("termMonths"),
    _drop("monthlyDebt"),
    # NaN counts as missing, infinities are not numbers
    _set("monthlyIncome", float("nan")),
    _set("utilization", float("nan")),
    _set("loanAmount", float("inf")),
    _set("employmentYears", -float("inf")),
    # out of range
    _set("creditScore", 950),
    _set("creditScore", 299),
    _set("age", 121),
    _set("age", -1),
    _set("termMonths", 0),
    _set("termMonths", 481),
    _set("monthlyDebt", -5.0),
    _set("inquiries6m", -1),
    _set("utilization", -0.1),
    _set("employmentYears", -1.0),
    # fractional integers (and whole-valued floats, which are fine)
    _set("age", 30.5),
    _set("termMonths", 12.5),
    _set("delinquencies24m", 0.5),
    _set("creditScore", 700.0),
    # wrong types
    _set("creditScore", "abc"),
    _set("monthlyIncome", "lots"),
    _set("termMonths", ""),
    _set("delinquencies24m", True),
    _set("loanAmount", [1000]),
    # several problems at once
    _many(
        _set("creditScore", None),
        _set("age", 150),
        _set("monthlyIncome", "x"),
        _set("termMonths", 2.5),
        _drop("monthlyDebt"),
    ),
]


def example_records(seed: int) -> list[dict[str, Any]]:
    frame = synth_applications(N_SYNTH, seed=seed)
    records = frame.to_dicts()
    rng = random.Random(seed)
    corrupted = []
    for change in CORRUPTIONS:
        for record in rng.sample(records, k=4):
            bad = dict(record)
            change(bad)
            corrupted.append(bad)
    mixed = records + corrupted
    rng.shuffle(mixed)
    return mixed


@pytest.fixture(scope="module")
def examples() -> list[dict[str, Any]]:
    return example_records(seed=11)


@pytest.mark.parametrize("file", ["reference_loan.yaml", "consumer_loan.yaml"])
def test_example_strategies_agree_on_synthetic_and_corrupted_rows(
    file: str, examples: list[dict[str, Any]]
) -> None:
    strategy = load_strategy(EXAMPLES / file)
    counts = assert_backends_agree(strategy, examples)
    assert counts["decided"] >= N_SYNTH * 0.95
    assert counts["invalid"] >= 40
    assert counts["failed"] == 0


def test_consumer_loan_takes_both_arms_and_every_decision(examples: list[dict[str, Any]]) -> None:
    strategy = load_strategy(EXAMPLES / "consumer_loan.yaml")
    result = strategy.evaluate_frame(frame_of(examples), reasons=True)
    good = result.filter(pl.col(ERROR_COLUMN).is_null())
    assert set(good.get_column("decision").to_list()) == {"approve", "decline"}
    assert set(good.get_column("arm").drop_nulls().to_list()) == {"champion", "challenger"}
    # knocked-out applicants stop before the split: no arm
    assert good.filter(pl.col("knockouts") > 0).get_column("arm").null_count() > 0


def test_wrong_column_types_fail_every_row_on_both_paths() -> None:
    strategy = load_strategy(EXAMPLES / "reference_loan.yaml")
    records = synth_applications(50, seed=3).to_dicts()
    for record in records:
        record["residentialStatus"] = 1  # a number where text is expected
        record["creditScore"] = str(record["creditScore"]) + "x"
    counts = assert_backends_agree(strategy, records)
    assert counts["invalid"] == len(records)


def test_an_empty_frame_gives_an_empty_result() -> None:
    strategy = load_strategy(EXAMPLES / "consumer_loan.yaml")
    empty = synth_applications(10, seed=1).head(0)
    result = strategy.evaluate_frame(empty, reasons=True)
    assert result.height == 0
    assert {*strategy.outputs, ERROR_COLUMN, "reasons"} <= set(result.columns)


# random decision tables --------------------------------------------------------------------------

TABLE_POLICIES = [
    ("first", None),
    ("collect", None),
    ("collect", "count"),
    ("collect", "sum"),
    ("collect", "min"),
    ("collect", "max"),
    ("rule_order", None),
    ("priority", None),
    ("output_order", None),
]
THRESHOLDS = st.integers(min_value=-3, max_value=12)


@st.composite
def cells(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["-", "<", "<=", ">", ">=", "==", "range", "list", "not"]))
    a = draw(THRESHOLDS)
    if kind == "-":
        return "-"
    if kind == "range":
        b = draw(THRESHOLDS)
        low, high = min(a, b), max(a, b)
        return f"{draw(st.sampled_from('[('))}{low}..{high}{draw(st.sampled_from('])'))}"
    if kind == "list":
        return ", ".join(str(v) for v in draw(st.lists(THRESHOLDS, min_size=1, max_size=3)))
    if kind == "not":
        return f"not({a})"
    return f"{kind} {a}" if kind != "==" else str(a)


@st.composite
def random_tables(draw: st.DrawFn) -> dict[str, Any]:
    n_inputs = draw(st.integers(min_value=2, max_value=3))
    names = ["a", "b", "c"][:n_inputs]
    types = {name: draw(st.sampled_from(["integer", "number"])) for name in names}
    policy, aggregation = draw(st.sampled_from(TABLE_POLICIES))
    values = ["p1", "p2", "p3"]
    rules = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        cells_ = [draw(cells()) for _ in names]
        if policy in ("priority", "output_order"):
            output: Any = draw(st.sampled_from(values))
        else:
            output = draw(st.integers(min_value=-5, max_value=20))
        rules.append([*cells_, output])
    out: dict[str, Any] = {"name": "out", "type": "integer"}
    if policy in ("priority", "output_order"):
        out = {"name": "out", "priority": values}
    node: dict[str, Any] = {
        "id": "random",
        "type": "table",
        "hit_policy": policy,
        "inputs": names,
        "outputs": [out],
        "rules": rules,
    }
    if aggregation is not None:
        node["aggregation"] = aggregation
    return {
        "id": "random_table",
        "inputs": {n: {"type": t} for n, t in types.items()},
        "nodes": [node],
    }


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "integer":
        return st.one_of(st.none(), st.integers(min_value=-5, max_value=15))
    halves = st.integers(min_value=-10, max_value=30).map(lambda v: v / 2)
    return st.one_of(
        st.none(),
        halves,
        st.floats(min_value=-5, max_value=15, allow_nan=False, allow_infinity=False),
    )


@st.composite
def tables_with_data(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    doc = draw(random_tables())
    kinds = {name: spec["type"] for name, spec in doc["inputs"].items()}
    records = draw(
        st.lists(
            st.fixed_dictionaries({n: _value(k) for n, k in kinds.items()}), min_size=1, max_size=25
        )
    )
    return doc, records


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(tables_with_data())
def test_random_tables_agree(case: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    doc, records = case
    strategy = compile_strategy(doc)
    kinds = {
        n: pl.Int64 if spec["type"] == "integer" else pl.Float64
        for n, spec in doc["inputs"].items()
    }
    frame = pl.DataFrame(records, schema=kinds)
    result = strategy.evaluate_frame(frame)
    for record, vec in zip(records, result.iter_rows(named=True), strict=True):
        assert vec[ERROR_COLUMN] is None
        got = strategy.evaluate(record).outputs.get("out")
        assert same(got, vec["out"]), (doc, record, got, vec["out"])
        if isinstance(got, float):
            assert math.isfinite(got)
