"""Strategy versions through storage: the core reads and compiles, the store keeps.

The store never parses a document (it sits below the core); these functions are where uploaded
text becomes a :class:`~ruleplus.store.repos.StrategyDraft` and where validating compiles it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy.orm import Session

from ruleplus.decision import ArtifactResolver, compile_strategy, load_document_text
from ruleplus.store.repos import StrategyDraft, StrategyRepo
from ruleplus.store.tables import StrategyVersion

__all__ = ["add_draft", "read_draft", "transition", "validator"]


def read_draft(text: str) -> StrategyDraft:
    """Validate uploaded strategy text and tell its format (``json`` or ``yaml``).

    The text is the document itself, never a file name, and it is parsed once, under the
    loader's size, alias-expansion and depth limits.

    Raises
    ------
    StrategyLoadError
        The text is not a valid strategy document (a file name is text that is not).
    """
    if not isinstance(text, str):
        raise TypeError(f"a strategy draft is the document text, not {type(text).__name__}")
    loaded = load_document_text(text, name="(uploaded strategy)")
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


def add_draft(session: Session, text: str) -> StrategyVersion:
    """Store ``text`` as a draft version (see :func:`read_draft`)."""
    return StrategyRepo(session).add_draft(read_draft(text))


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
