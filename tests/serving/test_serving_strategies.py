"""Strategy files made ready for the service: every referenced file stored first, by digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from ruleplus.errors import DataError, StrategyLoadError
from ruleplus.serving.strategies import with_stored_references

LOOP = """\
id: {me}
inputs:
  x: {{type: number}}
nodes:
  - id: again
    type: call
    strategy: {other}
    inputs: {{x: x}}
    outputs: {{y: y}}
"""


def _store() -> tuple[dict[str, bytes], object]:
    stored: dict[str, bytes] = {}

    def put(content: bytes) -> str:
        ref = "sha256:" + hashlib.sha256(content).hexdigest()
        stored[ref] = content
        return ref

    return stored, put


def test_model_files_are_stored_and_named_by_digest(tmp_path: Path) -> None:
    (tmp_path / "pd.onnx").write_bytes(b"\x08\x07model-bytes")
    kept = "sha256:" + "a" * 64
    doc = {
        "id": "scored",
        "inputs": {"income": {"type": "number"}},
        "nodes": [
            {
                "id": "pd",
                "type": "model",
                "format": "onnx",
                "artifact": "pd.onnx",
                "features": {"f": "income"},
            },
            {
                "id": "pd2",
                "type": "model",
                "format": "onnx",
                "artifact": kept,
                "features": {"f": "income"},
            },
        ],
    }
    path = tmp_path / "scored.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    stored, put = _store()
    out = yaml.safe_load(with_stored_references(path, put))  # type: ignore[arg-type]
    ref = out["nodes"][0]["artifact"]
    assert stored[ref] == b"\x08\x07model-bytes"
    assert out["nodes"][1]["artifact"] == kept  # already a reference: left alone
    assert list(stored) == [ref]


def test_a_file_without_references_is_published_as_it_is(tmp_path: Path) -> None:
    text = (
        "id: plain\n# kept\ninputs:\n  x: {type: number}\n"
        "nodes:\n  - {id: e, type: expression, assign: {y: x + 1}}\n"
    )
    path = tmp_path / "plain.yaml"
    path.write_text(text, encoding="utf-8")
    stored, put = _store()
    assert with_stored_references(path, put) == text  # type: ignore[arg-type]
    assert stored == {}


def test_a_strategy_that_calls_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(LOOP.format(me="a", other="b.yaml"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(LOOP.format(me="b", other="a.yaml"), encoding="utf-8")
    _, put = _store()
    with pytest.raises(StrategyLoadError, match="calls itself"):
        with_stored_references(tmp_path / "a.yaml", put)  # type: ignore[arg-type]


def test_a_missing_model_file_names_itself(tmp_path: Path) -> None:
    doc = {
        "id": "scored",
        "inputs": {"income": {"type": "number"}},
        "nodes": [
            {
                "id": "pd",
                "type": "model",
                "format": "onnx",
                "artifact": "gone.onnx",
                "features": {"f": "income"},
            }
        ],
    }
    path = tmp_path / "scored.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    _, put = _store()
    with pytest.raises(DataError, match=r"gone\.onnx"):
        with_stored_references(path, put)  # type: ignore[arg-type]
