"""Compile-time errors name file, line, node and field; table warnings; the JSON Schema.

Each broken strategy is written to a file and loaded with :func:`load_strategy`, so the error must
name that file and the line (from the YAML) where the problem is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ruleplus.decision import compile_strategy, load_strategy, strategy_json_schema
from ruleplus.errors import StrategyCompileError, StrategyError, StrategyLoadError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "strategies"
SCHEMA_FILE = ROOT / "src" / "ruleplus" / "decision" / "strategy.schema.json"

HEAD = """\
id: broken
version: "2"
inputs:
  income: {type: number, required: true}
  score: {type: integer}
  name: {type: string}
"""
CATALOGUE = """\
reasons:
  R1: {en: one, zh: 一}
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in the document"
    return hits[occurrence - 1]


def load_error(
    tmp_path: Path,
    text: str,
    kind: type[StrategyError] = StrategyCompileError,
    suffix: str = ".yaml",
) -> StrategyError:
    path = tmp_path / f"strategy{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(kind) as info:
        load_strategy(path)
    error = info.value
    assert error.context["file"] == str(path)
    assert str(path) in str(error)
    return error


def where(error: StrategyError) -> tuple[Any, Any, Any]:
    return error.context.get("line"), error.context.get("node"), error.context.get("field")


# expressions ---------------------------------------------------------------------------------


def test_unknown_field_with_did_you_mean(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: derive
    type: expression
    assign:
      ratio: incme / 12
"""
    )
    error = load_error(tmp_path, text)
    assert "unknown field 'incme'" in error.message
    assert "did you mean income" in error.message
    assert where(error) == (line_of(text, "incme"), "derive", "incme")
    assert error.context["expression"] == "incme / 12"
    assert error.context["strategy"] == "broken" and error.context["version"] == "2"


def test_unknown_field_in_a_later_node_sees_earlier_fields(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: derive, type: expression, assign: {monthly: income / 12}}
  - id: check
    type: rule
    when: monthy > 100
    then: {decision: approve}
"""
    )
    error = load_error(tmp_path, text)
    assert "did you mean monthly" in error.message
    assert where(error) == (line_of(text, "monthy >"), "check", "monthy")


def test_type_mismatch(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: derive
    type: expression
    assign:
      x: income + name
"""
    )
    error = load_error(tmp_path, text)
    assert "needs numbers" in error.message and "string" in error.message
    assert error.context["line"] == line_of(text, "income + name")
    assert error.context["node"] == "derive"
    assert error.context["expression"] == "income + name"


def test_comparing_text_with_a_number(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: check
    type: rule
    when: name > 5
    then: {decision: approve}
"""
    )
    error = load_error(tmp_path, text)
    assert "cannot compare" in error.message
    assert error.context["line"] == line_of(text, "name > 5")
    assert error.context["node"] == "check"


def test_rule_condition_must_be_boolean(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: check
    type: rule
    when: income + 1
    then: {decision: approve}
"""
    )
    error = load_error(tmp_path, text)
    assert "true/false" in error.message
    assert where(error)[:2] == (line_of(text, "income + 1"), "check")


def test_expression_syntax_error_has_a_column(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: derive
    type: expression
    assign:
      x: income +
"""
    )
    error = load_error(tmp_path, text)
    assert where(error)[:2] == (line_of(text, "income +"), "derive")
    assert error.context["column"] == len("income +")


def test_assigning_an_input_field_is_refused(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: fix, type: rule, when: income < 0, then: {income: 0}}
"""
    )
    error = load_error(tmp_path, text)
    assert "input field 'income'" in error.message
    assert where(error) == (line_of(text, "id: fix"), "fix", "income")


# the flow -------------------------------------------------------------------------------------


def test_cycle_shows_the_path(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: a, type: expression, assign: {x: "1"}, next: b}
  - {id: b, type: expression, assign: {y: "2"}, next: c}
  - {id: c, type: expression, assign: {z: "3"}, next: a}
"""
    )
    error = load_error(tmp_path, text)
    assert "cycle" in error.message
    assert "a -> b -> c -> a" in error.message
    assert where(error)[:2] == (line_of(text, "id: a"), "a")


def test_cycle_through_a_switch(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: start, type: expression, assign: {n: "1"}}
  - id: loop
    type: switch
    cases: [{when: score > 1, goto: start}]
    default: end
"""
    )
    error = load_error(tmp_path, text)
    assert "start -> loop -> start" in error.message


def test_unreachable_node(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: a, type: expression, assign: {x: "1"}, next: end}
  - {id: orphan, type: expression, assign: {y: "2"}}
"""
    )
    error = load_error(tmp_path, text)
    assert "unreachable" in error.message
    assert where(error)[:2] == (line_of(text, "id: orphan"), "orphan")


def test_unknown_goto_target(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: route
    type: switch
    cases:
      - {when: score > 1, goto: nowhere}
    default: end
"""
    )
    error = load_error(tmp_path, text)
    assert "unknown node 'nowhere'" in error.message
    assert "route" in error.message  # the known nodes are listed
    assert where(error)[:2] == (line_of(text, "id: route"), "route")


def test_unknown_next_target(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: a, type: expression, assign: {x: "1"}, next: b}
"""
    )
    error = load_error(tmp_path, text)
    assert "unknown node 'b'" in error.message
    assert where(error)[:2] == (line_of(text, "id: a"), "a")


def test_duplicate_node_id(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: a, type: expression, assign: {x: "1"}}
  - {id: a, type: expression, assign: {y: "2"}}
"""
    )
    error = load_error(tmp_path, text)
    assert "'a' is used twice" in error.message
    assert error.context["node"] == "a"
    assert error.context["line"] in (line_of(text, "id: a"), line_of(text, "id: a", 2))


def test_split_key_must_be_a_field(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: ab
    type: split
    key: applicant
    arms: [{name: one, share: 1, goto: end}]
"""
    )
    error = load_error(tmp_path, text)
    assert "applicant" in error.message
    assert where(error) == (line_of(text, "key: applicant"), "ab", "applicant")


def test_output_never_assigned(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
outputs: [x, y]
nodes:
  - {id: a, type: expression, assign: {x: "1"}}
"""
    )
    error = load_error(tmp_path, text)
    assert "output 'y' is never assigned" in error.message
    assert error.context["line"] == line_of(text, "outputs:")
    assert error.context["field"] == "y"


def test_field_typed_differently_on_two_paths(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: route
    type: switch
    cases: [{when: score > 1, goto: as_number}]
    default: as_text
  - {id: as_number, type: expression, assign: {v: "1"}, next: join}
  - {id: as_text, type: expression, assign: {v: '"one"'}, next: join}
  - {id: join, type: expression, assign: {w: "2"}}
"""
    )
    error = load_error(tmp_path, text)
    assert "'v'" in error.message
    assert error.context["field"] == "v"
    assert error.context["node"] == "join"


# tables ---------------------------------------------------------------------------------------

TABLE = (
    HEAD
    + """\
nodes:
  - id: grid
    type: table
    inputs: [score, name]
    outputs: [grade]
    rules:
      - ["< 500", -, C]
      - [">= 500", '"x"', B]
"""
)


def test_bad_table_cell(tmp_path: Path) -> None:
    text = (
        TABLE
        + """\
      - [">> 700", -, A]
"""
    )
    error = load_error(tmp_path, text)
    assert error.context["expression"] == ">> 700"
    assert where(error)[:2] == (line_of(text, ">> 700"), "grid")


def test_table_cell_with_unknown_field(tmp_path: Path) -> None:
    text = (
        TABLE
        + """\
      - ["> scor", -, A]
"""
    )
    error = load_error(tmp_path, text)
    assert "did you mean score" in error.message
    assert where(error) == (line_of(text, "> scor"), "grid", "scor")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('["> 700", A]', "rule 3 has 0 output cells, the table has 1 outputs"),
        ('{when: ["> 700"], then: [A]}', "rule 3 has 1 input cells, the table has 2 inputs"),
        (
            '{when: ["> 700", -], then: [A, B]}',
            "rule 3 has 2 output cells, the table has 1 outputs",
        ),
    ],
)
def test_wrong_number_of_table_cells(tmp_path: Path, row: str, message: str) -> None:
    text = TABLE + f"      - {row}\n"
    error = load_error(tmp_path, text)
    assert message in error.message
    assert where(error)[:2] == (line_of(text, row), "grid")


def test_table_output_cell_of_the_wrong_type(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: grid
    type: table
    hit_policy: first
    inputs: [score]
    outputs: [{name: limit, type: number}]
    rules:
      - ["< 500", 1000]
      - [-, lots]
"""
    )
    error = load_error(tmp_path, text)
    assert "'limit'" in error.message and "lots" in error.message
    assert where(error)[:2] == (line_of(text, "lots"), "grid")


def test_unknown_reason_code_with_a_catalogue(tmp_path: Path) -> None:
    text = (
        HEAD
        + CATALOGUE
        + """\
nodes:
  - id: check
    type: rule
    when: score > 1
    then: {decision: decline}
    reason: R9
"""
    )
    error = load_error(tmp_path, text)
    assert "'R9'" in error.message
    assert where(error)[:2] == (line_of(text, "reason: R9"), "check")


def test_unknown_reason_code_in_a_table_and_a_scorecard(tmp_path: Path) -> None:
    table = (
        HEAD
        + CATALOGUE
        + """\
nodes:
  - id: grid
    type: table
    inputs: [score]
    outputs: [grade, {name: why, reason: true}]
    rules:
      - ["< 500", C, R1]
      - [">= 500", B, R2]
"""
    )
    error = load_error(tmp_path, table)
    assert "'R2'" in error.message
    assert where(error)[:2] == (line_of(table, "R2"), "grid")
    card = (
        HEAD
        + CATALOGUE
        + """\
nodes:
  - id: card
    type: scorecard
    characteristics:
      - name: s
        input: score
        reason: R7
        bins: [{when: "< 500", points: 0}, {when: ">= 500", points: 10}]
"""
    )
    error = load_error(tmp_path, card)
    assert "'R7'" in error.message
    assert where(error)[:2] == (line_of(card, "reason: R7"), "card")


def test_any_reason_code_without_a_catalogue() -> None:
    text = (
        HEAD
        + """\
nodes:
  - {id: check, type: rule, when: score > 1, then: {decision: decline}, reason: ANYTHING}
"""
    )
    decision = compile_strategy(text).evaluate({"income": 1.0, "score": 2})
    assert [(r.code, r.text_en, r.text_zh) for r in decision.reasons] == [
        ("ANYTHING", "ANYTHING", "ANYTHING")
    ]


# schema errors --------------------------------------------------------------------------------


def test_extra_key_is_a_schema_error_with_its_line(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: check
    type: rule
    when: score > 1
    then: {decision: approve}
    colour: red
"""
    )
    error = load_error(tmp_path, text, StrategyLoadError)
    assert "nodes.0.colour" in error.message
    assert "Extra inputs are not permitted" in error.message
    assert error.context["line"] == line_of(text, "colour: red")
    assert f"(line {line_of(text, 'colour: red')})" in error.message


def test_wrong_value_type_is_a_schema_error_with_its_line(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
nodes:
  - id: card
    type: scorecard
    characteristics:
      - name: s
        input: score
        bins:
          - {when: "< 5", points: 1}
          - {when: ">= 5", points: lots}
"""
    )
    error = load_error(tmp_path, text, StrategyLoadError)
    assert "nodes.0.characteristics.0.bins.1.points" in error.message
    assert error.context["line"] == line_of(text, "points: lots")


def test_every_schema_problem_is_listed(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
decision_order: refer
nodes:
  - {id: a, type: tabel}
  - {id: "1bad", type: expression, assign: {x: "1"}}
"""
    )
    error = load_error(tmp_path, text, StrategyLoadError)
    assert "decision_order" in error.message
    assert "tabel" in error.message
    assert "nodes.1.id" in error.message
    assert error.context["line"] == line_of(text, "decision_order")


def test_missing_required_keys(tmp_path: Path) -> None:
    error = load_error(tmp_path, "id: nothing\n", StrategyLoadError)
    assert "inputs" in error.message and "nodes" in error.message


def test_json_documents_are_checked_too(tmp_path: Path) -> None:
    doc = yaml.safe_load(HEAD + "nodes:\n  - {id: a, type: expression, assign: {x: '1'}}\n")
    doc["nodes"][0]["colour"] = "red"
    text = json.dumps(doc, indent=2)
    error = load_error(tmp_path, text, StrategyLoadError, suffix=".json")
    assert "nodes.0.colour" in error.message
    assert error.context["line"] == line_of(text, '"colour"')


def test_invalid_yaml(tmp_path: Path) -> None:
    error = load_error(tmp_path, HEAD + "nodes: [\n", StrategyLoadError)
    assert "not valid YAML" in error.message
    assert isinstance(error.context.get("line"), int)


def test_errors_of_an_in_memory_document_use_its_name() -> None:
    text = HEAD + "nodes:\n  - {id: a, type: expression, assign: {x: incme}}\n"
    with pytest.raises(StrategyCompileError) as info:
        compile_strategy(text, name="inline.yaml")
    assert info.value.context["file"] == "inline.yaml"
    assert info.value.context["line"] == line_of(text, "incme")
    with pytest.raises(StrategyCompileError) as info:
        compile_strategy(text)
    assert "file" not in info.value.context
    with pytest.raises(StrategyLoadError) as load:
        compile_strategy("- not a mapping\n")
    assert "file" not in load.value.context


# warnings for unique tables -------------------------------------------------------------------


def unique_table(rules: str, hit_policy: str = "unique") -> str:
    return (
        HEAD
        + f"""\
nodes:
  - id: grid
    type: table
    hit_policy: {hit_policy}
    inputs: [score, name]
    outputs: [grade]
    rules:
{rules}"""
    )


def test_overlapping_unique_table_warns() -> None:
    text = unique_table("""\
      - ["< 600", -, C]
      - ["[550..700]", -, B]
      - ["> 700", -, A]
""")
    warnings = compile_strategy(text).warnings
    assert any("'grid'" in w and "r1 and r2 overlap" in w for w in warnings), warnings
    assert not any("r2 and r3" in w or "r1 and r3" in w for w in warnings), warnings
    assert not any("incomplete" in w for w in warnings), warnings


def test_incomplete_unique_table_warns_with_an_example() -> None:
    text = unique_table("""\
      - ["< 600", '"a"', C]
      - [">= 600", -, B]
""")
    warnings = compile_strategy(text).warnings
    assert len(warnings) == 1, warnings
    assert "'grid' is incomplete" in warnings[0]
    assert "score=" in warnings[0]


def test_complete_disjoint_unique_table_has_no_warnings() -> None:
    text = unique_table("""\
      - ["< 600", -, C]
      - ["[600..700]", -, B]
      - ["> 700", -, A]
      - ['null', -, X]
""")
    assert compile_strategy(text).warnings == []


def test_only_unique_tables_are_analysed() -> None:
    text = unique_table(
        """\
      - ["< 600", '"a"', C]
      - ["[550..700]", -, B]
""",
        hit_policy="first",
    )
    assert compile_strategy(text).warnings == []


def test_the_example_strategies_compile_without_warnings() -> None:
    for file in ("reference_loan.yaml", "consumer_loan.yaml"):
        assert load_strategy(EXAMPLES / file).warnings == []


# the JSON Schema ------------------------------------------------------------------------------


def test_published_schema_file_is_up_to_date() -> None:
    expected = json.dumps(strategy_json_schema(), indent=2, ensure_ascii=False) + "\n"
    assert SCHEMA_FILE.is_file(), f"write {SCHEMA_FILE} from strategy_json_schema()"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == expected, (
        "strategy.schema.json is stale: regenerate it from strategy_json_schema()"
    )


def test_examples_point_at_the_published_schema() -> None:
    for file in ("reference_loan.yaml", "consumer_loan.yaml"):
        data = yaml.safe_load((EXAMPLES / file).read_text(encoding="utf-8"))
        assert (EXAMPLES / data["$schema"]).resolve() == SCHEMA_FILE.resolve()


def test_schema_describes_every_node_type() -> None:
    schema = strategy_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    text = json.dumps(schema)
    for kind in ("expression", "rule", "ruleset", "table", "scorecard", "tree", "switch", "split"):
        assert f'"const": "{kind}"' in text or f'"enum": ["{kind}"]' in text, kind


def test_schema_validates_the_examples_and_rejects_broken_documents() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    schema = strategy_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for file in ("reference_loan.yaml", "consumer_loan.yaml"):
        data = yaml.safe_load((EXAMPLES / file).read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], (file, errors[:3])
        broken = yaml.safe_load((EXAMPLES / file).read_text(encoding="utf-8"))
        broken["nodes"][0]["colour"] = "red"
        assert not validator.is_valid(broken)
        broken = yaml.safe_load((EXAMPLES / file).read_text(encoding="utf-8"))
        del broken["inputs"]
        assert not validator.is_valid(broken)
