"""References to other files (``call.strategy``, ``model.artifact``) go through a resolver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ruleplus.decision.nodes.call as call_module
from ruleplus.decision import (
    NO_ARTIFACTS,
    ArtifactError,
    FileArtifacts,
    StrategySource,
    compile_strategy,
    load_strategy,
)
from ruleplus.decision.nodes.ml_model import MODEL_FORMATS, FakeModel
from ruleplus.errors import StrategyCompileError
from strategy_documents import CHILD, PARENT
from strategy_documents import MODEL as SCORED

MODEL = SCORED + "    output: pd\n"  # the probability under a name of its own


def test_text_refuses_references_by_default(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text(CHILD, encoding="utf-8")
    with pytest.raises(StrategyCompileError) as info:
        compile_strategy(PARENT.replace("REF", str(tmp_path / "child.yaml")))
    error = info.value
    assert "sub-strategy" in error.message and "refused" in error.message
    assert "artifacts=" in error.message  # says how to opt in
    assert error.context["node"] == "sub" and error.context["field"] == "strategy"
    assert error.context["line"] == PARENT.splitlines().index("    strategy: REF") + 1
    with pytest.raises(StrategyCompileError, match="model artifact '/etc/passwd' refused") as info:
        compile_strategy(MODEL.replace("REF", "/etc/passwd"))
    assert info.value.context["node"] == "pd" and info.value.context["field"] == "artifact"
    with pytest.raises(StrategyCompileError, match="refused"):  # a mapping has no folder either
        compile_strategy(
            {
                "id": "m",
                "inputs": {"x": {"type": "number"}},
                "nodes": [
                    {"id": "c", "type": "call", "strategy": "child.yaml", "outputs": {"t": "t"}}
                ],
            }
        )


def test_text_with_a_folder_resolver(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text(CHILD, encoding="utf-8")
    strategy = compile_strategy(
        PARENT.replace("REF", "child.yaml"), artifacts=FileArtifacts(tmp_path)
    )
    assert strategy.evaluate({"salary": 500.0}).outputs["grade"] == "C"


def test_files_resolve_relative_to_their_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text(CHILD, encoding="utf-8")
    path = tmp_path / "parent.yaml"
    path.write_text(PARENT.replace("REF", "sub/child.yaml"), encoding="utf-8")
    strategy = load_strategy(path)
    assert strategy.evaluate({"salary": 5000.0}).outputs["grade"] == "A"
    assert isinstance(strategy.artifacts, FileArtifacts)
    assert compile_strategy(CHILD).artifacts is NO_ARTIFACTS


class _Memory:
    """A resolver over a dict: any object with ``strategy`` and ``artifact`` serves."""

    def __init__(self, texts: dict[str, str], files: dict[str, Path]) -> None:
        self.texts = texts
        self.files = files

    def strategy(self, ref: str) -> StrategySource:
        if ref not in self.texts:
            raise ArtifactError(f"sub-strategy {ref!r} is not known")
        return StrategySource(key=ref, text=self.texts[ref], name=ref, artifacts=self)

    def artifact(self, ref: str) -> Path:
        if ref not in self.files:
            raise ArtifactError(f"artifact {ref!r} is not known")
        return self.files[ref]


def test_a_custom_resolver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = _Memory({"child@1": CHILD}, {"pd@1": tmp_path / "pd.onnx"})
    strategy = compile_strategy(PARENT.replace("REF", "child@1"), artifacts=resolver)
    assert strategy.evaluate({"salary": 5000.0}).outputs["grade"] == "A"
    with pytest.raises(StrategyCompileError, match="'child@2' is not known"):
        compile_strategy(PARENT.replace("REF", "child@2"), artifacts=resolver)
    seen: list[Path] = []

    def load(path: Path) -> FakeModel:
        seen.append(path)
        return FakeModel([1.0], feature_names=["f_income"])

    monkeypatch.setitem(MODEL_FORMATS, "onnx", load)
    scored = compile_strategy(MODEL.replace("REF", "pd@1"), artifacts=resolver)
    assert seen == [tmp_path / "pd.onnx"]
    assert scored.evaluate({"income": 0.0}).outputs["pd"] == 0.5


def test_a_loop_through_a_resolver_is_found() -> None:
    loop = PARENT.replace("REF", "me").replace("id: parent", "id: me")
    resolver = _Memory({"me": loop.replace("salary", "income")}, {})
    with pytest.raises(StrategyCompileError, match="strategy calls itself: me -> me"):
        compile_strategy(loop, artifacts=resolver)


def test_the_call_node_does_not_import_the_strategy_compiler() -> None:
    tree = ast.parse(Path(call_module.__file__).read_text(encoding="utf-8"))
    runtime_imports = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module == "ruleplus.decision._strategy"
        and not any(
            isinstance(parent, ast.If)
            and isinstance(parent.test, ast.Name)
            and parent.test.id == "TYPE_CHECKING"
            and node in ast.walk(parent)
            for parent in ast.walk(tree)
        )
    ]
    assert runtime_imports == []
