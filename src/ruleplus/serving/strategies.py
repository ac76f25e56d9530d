"""Strategy versions through storage: the core reads and compiles, the store keeps.

The store never parses a document (it sits below the core); these functions are where uploaded
text becomes a :class:`~ruleplus.store.repos.StrategyDraft` and where validating compiles it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from ruleplus.decision import ArtifactResolver, compile_strategy, load_document_text
from ruleplus.decision.importers.jdm import jdm_source, strategy_yaml
from ruleplus.errors import DataError, StrategyLoadError
from ruleplus.store.artifacts import is_ref
from ruleplus.store.repos import StrategyDraft, StrategyRepo
from ruleplus.store.tables import StrategyVersion

__all__ = ["add_draft", "read_draft", "transition", "validator", "with_stored_references"]


def read_draft(
    text: str, strategy_id: str | None = None, version: str | None = None
) -> StrategyDraft:
    """Validate uploaded strategy text and tell its format (``json`` or ``yaml``).

    The text is the document itself, never a file name, and it is parsed once, under the
    loader's size, alias-expansion and depth limits. A GoRules JDM graph is imported and kept
    as the readable strategy YAML ``ruleplus import jdm`` writes; a graph names no strategy,
    so ``strategy_id`` (and ``version``, default ``"1"``) say which one it is.

    Raises
    ------
    StrategyLoadError
        The text is not a valid strategy document (a file name is text that is not).
    DataError
        A JDM graph without ``strategy_id``, or an id or version that contradicts the
        document's own.
    """
    if not isinstance(text, str):
        raise TypeError(f"a strategy draft is the document text, not {type(text).__name__}")
    imported = jdm_source(text, name=strategy_id) if text.lstrip().startswith("{") else None
    if imported is not None:
        if not strategy_id:
            raise DataError(
                "a GoRules JDM graph names no strategy: give its strategy_id (CLI: --id)",
                field="strategy_id",
            )
        imported["id"], imported["version"] = strategy_id, version or "1"
        text = strategy_yaml(imported, "(uploaded)")
    loaded = load_document_text(text, name="(uploaded strategy)")
    for field, given, own in (
        ("strategy_id", strategy_id, loaded.doc.id),
        ("version", version, loaded.doc.version),
    ):
        if given is not None and given != own:
            raise DataError(f"{field} {given!r} is not the document's own ({own!r})", field=field)
    if imported is not None:
        return StrategyDraft(loaded.doc.id, loaded.doc.version, text, "yaml")
    fmt = "yaml"
    if text.lstrip().startswith("{"):  # a label only: YAML flow mappings start with '{' too
        try:
            json.loads(text)
            fmt = "json"
        except ValueError:
            pass
    return StrategyDraft(loaded.doc.id, loaded.doc.version, text, fmt)


def validator(artifacts: ArtifactResolver | None = None) -> Callable[[StrategyVersion], object]:
    """The check run when a version is validated: it must compile.

    ``artifacts`` resolves the document's references (the service's content-addressed
    :class:`~ruleplus.store.artifacts.ArtifactStore`); without it a strategy that references
    sub-strategies or model files does not validate.
    """

    def check(row: StrategyVersion) -> object:
        name = f"{row.strategy_id}@{row.version}"
        return compile_strategy(row.document, name=name, artifacts=artifacts)

    return check


def add_draft(
    session: Session, text: str, strategy_id: str | None = None, version: str | None = None
) -> StrategyVersion:
    """Store ``text`` as a draft version (see :func:`read_draft`)."""
    return StrategyRepo(session).add_draft(read_draft(text, strategy_id, version))


def transition(
    session: Session,
    strategy_id: str,
    version: str,
    action: str,
    artifacts: ArtifactResolver | None = None,
) -> StrategyVersion:
    """Apply a lifecycle action; ``validate`` compiles the document first."""
    return StrategyRepo(session).transition(
        strategy_id, version, action, check=validator(artifacts)
    )


def with_stored_references(
    path: Path, put: Callable[[bytes], str], _seen: tuple[Path, ...] = ()
) -> str:
    """The text of the strategy file ``path`` with every file it references stored by ``put``
    and named by the ``sha256:`` reference ``put`` returns, ready to publish to the service.

    ``call.strategy`` and ``model.artifact`` paths are relative to the file that names them; a
    sub-strategy's own references are stored first, so its stored text (and digest) is the
    one the service will resolve. References that are already ``sha256:`` stay. The document
    is rewritten through YAML, so comments and layout are not kept.

    Raises
    ------
    StrategyLoadError
        A file is not a strategy document, or a strategy calls itself.
    DataError
        A referenced file cannot be read.
    """
    path = path.resolve()
    if path in _seen:
        raise StrategyLoadError(
            f"{path.name} calls itself (through {' -> '.join(p.name for p in _seen)})",
            file=str(path),
        )
    text = _read(path)
    load_document_text(text, name=str(path))  # a strategy, within the loader's limits
    data = yaml.safe_load(text)

    def store(ref: str, kind: str) -> str:
        if is_ref(ref):
            return ref
        target = (path.parent / ref).resolve()
        if kind == "strategy":
            content = with_stored_references(target, put, (*_seen, path)).encode()
        else:
            try:
                content = target.read_bytes()
            except OSError as exc:
                raise DataError(
                    f"cannot read {ref}: {exc.strerror}", file=str(path), field=kind
                ) from None
        return put(content)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: walk(v) for k, v in value.items()}
            if out.get("type") == "call" and isinstance(out.get("strategy"), str):
                out["strategy"] = store(out["strategy"], "strategy")
            if out.get("type") == "model" and isinstance(out.get("artifact"), str):
                out["artifact"] = store(out["artifact"], "artifact")
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    rewritten = walk(data)
    if rewritten == data:
        return text  # nothing referenced: the file as it is
    return str(yaml.safe_dump(rewritten, sort_keys=False, allow_unicode=True))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text", file=str(path)) from None
