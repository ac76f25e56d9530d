"""Where a strategy's references lead: ``call.strategy`` and ``model.artifact``.

A strategy names other files: the sub-strategy of a ``call`` node, the model file of a ``model``
node. What such a reference may reach is decided by the resolver the strategy is compiled with,
never by the document:

- :class:`FileArtifacts` resolves them relative to a folder (the strategy file's own folder when
  a strategy is compiled from a :class:`~pathlib.Path`): the CLI and batch runs, where the user
  owns the files.
- :data:`NO_ARTIFACTS` refuses every reference. It is the default for a strategy compiled from
  text or a dict, which has no folder: a server must opt in to a resolver.
- :class:`StoredArtifacts` resolves ``sha256:<hex>`` references into a content-addressed store
  (the service's :class:`ruleplus.store.artifacts.ArtifactStore`), so that an uploaded strategy
  cannot read the server's disk and a published version cannot change when a file changes.

Any object with the two methods of :class:`ArtifactResolver` can serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ruleplus.decision._document import MAX_DOCUMENT_BYTES, read_strategy_file
from ruleplus.errors import ArtifactError

__all__ = [
    "NO_ARTIFACTS",
    "ArtifactError",
    "ArtifactResolver",
    "ContentStore",
    "FileArtifacts",
    "NoArtifacts",
    "StoredArtifacts",
    "StrategySource",
]


@dataclass(frozen=True)
class StrategySource:
    """A resolved sub-strategy: its text and how its own references resolve.

    Parameters
    ----------
    key : str
        Identity of the document (a resolved path, a ``sha256:`` reference), used to detect a
        strategy that calls itself.
    text : str
        The document.
    name : str
        Shown in errors about the document.
    artifacts : ArtifactResolver
        Resolves the sub-strategy's own references.
    path : Path or None
        The file it was read from, when it is one.
    format : {"yaml", "json"} or None
        ``json`` to parse the text as JSON; None for YAML (of which JSON is a subset).
    """

    key: str
    text: str
    name: str
    artifacts: ArtifactResolver
    path: Path | None = None
    format: Literal["yaml", "json"] | None = None


class ArtifactResolver(Protocol):
    """Resolves the references of a strategy; raises :class:`ArtifactError` to refuse one."""

    def strategy(self, ref: str) -> StrategySource:
        """The sub-strategy named by a ``call`` node's ``strategy``."""
        ...

    def artifact(self, ref: str) -> Path:
        """A local file holding the artifact named by a ``model`` node's ``artifact``."""
        ...


class NoArtifacts:
    """Refuses every reference (strategies compiled from text or a dict, by default)."""

    _WHY = (
        "the strategy was compiled from text, which has no folder to resolve references "
        "against; compile it with artifacts=FileArtifacts(folder), or upload the file to the "
        "service's artifact store and reference it as sha256:<hex>"
    )

    def strategy(self, ref: str) -> StrategySource:
        """Always refuses."""
        raise ArtifactError(f"sub-strategy {ref!r} refused: {self._WHY}")

    def artifact(self, ref: str) -> Path:
        """Always refuses."""
        raise ArtifactError(f"artifact {ref!r} refused: {self._WHY}")

    def __repr__(self) -> str:
        return "NO_ARTIFACTS"


NO_ARTIFACTS = NoArtifacts()
"""The resolver that refuses every reference."""


class FileArtifacts:
    """References are file paths relative to ``base_dir`` (absolute paths are taken as they are).

    For strategy files on the user's own disk (CLI, batch, notebooks). A sub-strategy's own
    references are relative to the sub-strategy's folder.

    Parameters
    ----------
    base_dir : str or Path
        The folder references are relative to (usually the strategy file's folder).
    """

    def __init__(self, base_dir: str | Path) -> None:
        self.base_dir = Path(base_dir)

    def strategy(self, ref: str) -> StrategySource:
        """Read the sub-strategy file ``base_dir / ref``."""
        path = (self.base_dir / ref).resolve()
        if not path.is_file():
            raise ArtifactError(f"sub-strategy file not found: {path}")
        text = read_strategy_file(path)  # same size limit and errors as the top-level file
        return StrategySource(
            key=str(path),
            text=text,
            name=str(path),
            artifacts=FileArtifacts(path.parent),
            path=path,
            format="json" if path.suffix == ".json" else None,
        )

    def artifact(self, ref: str) -> Path:
        """The file ``base_dir / ref``."""
        path = self.base_dir / ref
        if not path.is_file():
            raise ArtifactError(f"artifact not found: {path}")
        return path

    def __repr__(self) -> str:
        return f"FileArtifacts({str(self.base_dir)!r})"


class ContentStore(Protocol):
    """A content-addressed store (such as :class:`ruleplus.store.artifacts.ArtifactStore`)."""

    def read_text(self, ref: str, what: str, max_bytes: int) -> str:
        """The verified UTF-8 text stored under ``ref``; :class:`ArtifactError` to refuse."""
        ...

    def path(self, ref: str) -> Path:
        """The verified file stored under ``ref``; :class:`ArtifactError` to refuse."""
        ...


class StoredArtifacts:
    """References are ``sha256:`` digests in a content-addressed store (the service's).

    A sub-strategy's own references resolve in the same store. The model loader gets the
    verified file's path, so the store directory must be writable by the service alone.

    Parameters
    ----------
    store : ContentStore
        Where the artifacts are.
    """

    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def strategy(self, ref: str) -> StrategySource:
        """The sub-strategy stored under ``ref``."""
        text = self.store.read_text(ref, "sub-strategy", MAX_DOCUMENT_BYTES)
        return StrategySource(key=ref, text=text, name=ref, artifacts=self)

    def artifact(self, ref: str) -> Path:
        """The verified file of a model artifact."""
        return self.store.path(ref)

    def __repr__(self) -> str:
        return f"StoredArtifacts({self.store!r})"
