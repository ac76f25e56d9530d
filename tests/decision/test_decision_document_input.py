"""Strategy documents come in as text or as a Path, never a string read as a file name; the
loader refuses YAML bombs, deep nesting and out-of-range integers before building objects."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ruleplus.decision import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_DEPTH,
    MAX_DOCUMENT_NODES,
    compile_strategy,
    load_document,
    load_document_text,
    load_strategy,
)
from ruleplus.errors import StrategyCompileError, StrategyLoadError

DOC = textwrap.dedent("""\
    id: tiny
    version: "1"
    inputs:
      x: {type: number, required: true}
    nodes:
      - id: decide
        type: rule
        when: x > 10
        then: {decision: decline}
    """)


@pytest.fixture
def strategy_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(DOC, encoding="utf-8")
    return path


# text is text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [load_document_text, load_document, compile_strategy])
def test_a_one_line_path_is_text_and_the_file_is_not_read(
    load: Any, strategy_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reading(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("a file was read")

    monkeypatch.setattr(Path, "read_text", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(StrategyLoadError, match="must be a mapping") as info:
        load(str(strategy_file))
    assert "never read as a file name" in info.value.message
    assert "tiny" not in str(info.value)  # nothing of the file, nor the file name


def test_files_load_through_an_explicit_path(strategy_file: Path) -> None:
    assert load_document(strategy_file).doc.id == "tiny"
    assert load_strategy(strategy_file).id == "tiny"
    assert load_strategy(str(strategy_file)).id == "tiny"  # load_strategy takes file names
    assert compile_strategy(strategy_file).evaluate({"x": 11}).decision == "decline"
    assert compile_strategy(DOC).evaluate({"x": 11}).decision == "decline"


def test_load_document_text_takes_only_text(strategy_file: Path) -> None:
    with pytest.raises(TypeError, match="document text"):
        load_document_text(strategy_file)  # type: ignore[arg-type]


def test_json_text_with_json_semantics() -> None:
    data = {
        "id": "j",
        "inputs": {"x": {"type": "number"}},
        "nodes": [{"id": "a", "type": "expression", "assign": {"y": "x + 1"}}],
    }
    text = json.dumps(data, indent=2)
    loaded = load_document_text(text, format="json")
    assert loaded.doc.id == "j"
    assert loaded.line_of("nodes", 0) == text.splitlines().index('  "nodes": [') + 2


# error messages -------------------------------------------------------------------------------


def test_yaml_errors_give_line_and_column_but_no_snippet() -> None:
    text = "id: s\ninputs: {}\nsecret_token_ABC: [unclosed, SECRET_VALUE_XYZ\nnodes: []\n"
    with pytest.raises(StrategyLoadError) as info:
        load_document_text(text, name="up")
    error = info.value
    assert "not valid YAML/JSON" in error.message
    assert isinstance(error.context["line"], int) and isinstance(error.context["column"], int)
    assert "SECRET_VALUE_XYZ" not in str(error) and "secret_token_ABC" not in str(error)
    assert "^" not in str(error)  # PyYAML's snippet marker


def test_file_yaml_errors_do_not_echo_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n  : [\n", encoding="utf-8")
    with pytest.raises(StrategyLoadError) as info:
        load_strategy(path)
    assert "/bin/bash" not in str(info.value)
    assert info.value.context["file"] == str(path)


def test_json_errors_give_line_and_column() -> None:
    with pytest.raises(StrategyLoadError) as info:
        load_document_text('{"id": "x",\n "SECRET": ]}', format="json")
    assert info.value.context["line"] == 2
    assert "SECRET" not in str(info.value)


def test_unreadable_characters_and_values_are_load_errors() -> None:
    with pytest.raises(StrategyLoadError, match="unacceptable character"):
        load_document_text("id: \x00\n")
    with pytest.raises(StrategyLoadError, match="a value cannot be read"):
        load_document_text("id: 2024-13-45\n")  # a date the YAML resolver accepts
    with pytest.raises(StrategyLoadError, match="constructor"):
        load_document_text("id: !!python/object/apply:os.system [echo]\n")


# limits -------------------------------------------------------------------------------------------

BOMB = "\n".join(
    [f'a0: &a0 ["{"lol" * 3}", "{"lol" * 3}", "{"lol" * 3}", "{"lol" * 3}", "{"lol" * 3}"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["id: bomb", "inputs: {}", "nodes: [*a8]"]
)


@pytest.mark.timeout(10)
def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    assert len(BOMB) < 600  # a few hundred bytes that expand to about 5 * 9**8 scalars
    with pytest.raises(StrategyLoadError) as info:
        load_document_text(BOMB, name="bomb")
    assert f"more than {MAX_DOCUMENT_NODES:,} nodes" in info.value.message
    assert "aliases" in info.value.message
    with pytest.raises(StrategyLoadError, match="aliases are expanded"):
        compile_strategy(BOMB)


def test_small_aliases_are_still_fine() -> None:
    text = DOC.replace("inputs:\n  x:", "inputs:\n  x: &num").replace("nodes:", "  z: *num\nnodes:")
    assert set(load_document_text(text).doc.inputs) == {"x", "z"}


@pytest.mark.timeout(10)
def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(StrategyLoadError, match="contains it"):
        load_document_text("id: x\ninputs: &loop {a: *loop}\nnodes: []\n")


@pytest.mark.timeout(10)
@pytest.mark.parametrize("depth", [MAX_DOCUMENT_DEPTH + 1, 5000])
def test_deep_nesting_is_refused(depth: int) -> None:
    text = "id: deep\ninputs: {}\nnodes: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(StrategyLoadError, match=f"deeper than {MAX_DOCUMENT_DEPTH} levels"):
        load_document_text(text)


@pytest.mark.timeout(10)
def test_deep_nesting_through_aliases_is_refused() -> None:
    lines = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [[[[[[[[[[*l{i - 1}]]]]]]]]]]" for i in range(1, 12)]
    with pytest.raises(StrategyLoadError, match="once its aliases are expanded"):
        load_document_text("\n".join(lines) + "\n")


def test_documents_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    big = DOC + "# " + "x" * MAX_DOCUMENT_BYTES + "\n"
    with pytest.raises(StrategyLoadError, match="larger than 2,000,000 bytes"):
        load_document_text(big)
    path = tmp_path / "big.yaml"
    path.write_text(big, encoding="utf-8")
    with pytest.raises(StrategyLoadError, match="larger than"):
        load_strategy(path)


BIG = "9" * 400


@pytest.mark.parametrize(
    "text",
    [
        DOC.replace("then: {decision: decline}", f"then: {{decision: decline, limit: {BIG}}}"),
        DOC.replace("required: true}", f"required: true, max: {BIG}}}"),
        DOC.replace('version: "1"', "version: 1\nextra: 9223372036854775808"),
        DOC + "    score: -" + "9" * 5000 + "\n",  # past Python's int() digit limit too
    ],
)
def test_integers_beyond_64_bits_are_load_errors(text: str) -> None:
    with pytest.raises(StrategyLoadError, match="must fit in 64 bits") as info:
        compile_strategy(text)
    assert isinstance(info.value.context.get("line"), int)


def test_integers_beyond_64_bits_in_expressions_and_mappings() -> None:
    with pytest.raises(StrategyCompileError, match="number literal"):
        compile_strategy(DOC.replace("when: x > 10", f"when: x > {BIG}"))
    data: dict[str, Any] = {
        "id": "m",
        "inputs": {"x": {"type": "number"}},
        "nodes": [{"id": "a", "type": "rule", "when": "x > 1", "then": {"y": int(BIG)}}],
    }
    with pytest.raises(StrategyLoadError, match="must fit in 64 bits"):
        compile_strategy(data)


def test_non_finite_numbers_are_not_field_names() -> None:
    node = "  - {id: calc, type: expression, assign: {y: 1.0e+999}}\n"  # YAML reads inf
    text = DOC.replace("nodes:\n", "nodes:\n" + node)
    with pytest.raises(StrategyCompileError, match="finite number"):
        compile_strategy(text)
