"""Strategy documents as the console edits them: structured JSON in, the engine's own checks
out, each error pointed at the place (node, table cell, routing target) it is about.

The console sends the whole edited document; it is written out as YAML (block style, one
scalar per line) and compiled by the engine exactly as an upload is, so the errors are the
CLI's. An error's line is mapped back to the path of the value on that line.
"""

from __future__ import annotations

from typing import Any

import yaml

from ruleplus.decision import ArtifactResolver, compile_strategy
from ruleplus.errors import DataError, RuleplusError

__all__ = ["check_document", "document_text", "locate", "parse_document"]

Path = list[str | int]


def document_text(document: dict[str, Any]) -> str:
    """The YAML text of an edited document (keys in the order given, no line wrapping)."""
    if not isinstance(document, dict):
        raise DataError("the document is a JSON object", field="document")
    return str(
        yaml.safe_dump(
            document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1 << 16
        )
    )


def parse_document(text: str) -> Any:
    """A stored document's text as JSON-like data (YAML is a superset of JSON)."""
    return yaml.safe_load(text)


def locate(text: str, line: int) -> Path | None:
    """The path of the value written on (1-based) ``line`` of ``text``, or None."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    found: list[Path] = []

    def walk(node: Any, path: Path) -> None:
        if found:
            return
        if isinstance(node, yaml.ScalarNode):
            if node.start_mark.line + 1 == line:
                found.append(path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, [*path, i])
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, [*path, str(key.value)])
            if not found:  # the key itself (a bad key is reported on its line)
                for key, _ in node.value:
                    if key.start_mark.line + 1 == line:
                        found.append([*path, str(key.value)])
                        break

    if root is not None:
        walk(root, [])
    return found[0] if found else None


def check_document(
    document: dict[str, Any], artifacts: ArtifactResolver | None = None
) -> dict[str, Any]:
    """Compile an edited document with the engine.

    Returns
    -------
    dict
        ``valid``; ``errors`` (the engine's error as ``to_dict()`` with ``path`` where its line
        points at a value); ``warnings`` (table overlap and gap analysis); ``inputs`` and
        ``outputs`` of a valid strategy.
    """
    text = document_text(document)
    try:
        compiled = compile_strategy(text, name="(console draft)", artifacts=artifacts)
    except RuleplusError as exc:
        error = exc.to_dict()
        line = exc.context.get("line")
        error.pop("file", None)
        if isinstance(line, int):
            path = _target(document, locate(text, line), exc.message)
            error["path"] = _cell(document, path, exc.context.get("expression"))
        return {"valid": False, "errors": [error], "warnings": []}
    return {
        "valid": True,
        "errors": [],
        "warnings": list(compiled.warnings),
        "inputs": list(compiled.input_fields),
        "outputs": list(compiled.outputs),
    }


def _target(document: dict[str, Any], path: Path | None, message: str) -> Path | None:
    """A routing error is reported on its node's line: point at the target that names the
    unknown node instead (``next``, a case's or an arm's ``goto``, ``default``)."""
    marker = "unknown node '"
    if path is None or len(path) < 2 or path[0] != "nodes" or marker not in message:
        return path
    name = message.split(marker, 1)[1].split("'", 1)[0]
    node = document.get("nodes", [])[int(path[1])]
    if not isinstance(node, dict):
        return path
    for key in ("next", "default"):
        if node.get(key) == name:
            return ["nodes", path[1], key]
    for key in ("cases", "arms"):
        for i, item in enumerate(node.get(key) or []):
            if isinstance(item, dict) and item.get("goto") == name:
                return ["nodes", path[1], key, i, "goto"]
    return path


def _cell(document: dict[str, Any], path: Path | None, expression: Any) -> Path | None:
    """A bad table cell is reported on its rule's line: pick the cell of that rule whose text
    is the expression the engine names."""
    if path is None or len(path) < 4 or path[0] != "nodes" or path[2] != "rules":
        return path
    if not isinstance(expression, str):
        return path
    row = document["nodes"][int(path[1])]["rules"][int(path[3])]
    cells = row if isinstance(row, list) else []
    for k, cell in enumerate(cells):
        if isinstance(cell, str) and cell.strip() == expression.strip():
            return [*path[:4], k]
    return path
