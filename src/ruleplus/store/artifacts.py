"""A content-addressed artifact store: the only files an uploaded strategy may reference.

The store is a directory of immutable files, each named by the SHA-256 of its content. A strategy
uploaded to the service names its sub-strategies (``call.strategy``) and model files
(``model.artifact``) as ``sha256:<64 hex digits>``; anything else (an absolute path, ``..``, a
bare file name) is refused, so an upload cannot read the server's disk, and a published strategy
version cannot change behind its digest. Every read re-hashes the file: a file altered on disk is
refused rather than used. Entries are opened without following symbolic links.

>>> store = ArtifactStore("/var/lib/ruleplus/artifacts")               # doctest: +SKIP
>>> ref = store.put(Path("model.txt").read_bytes())                    # doctest: +SKIP
>>> compile_strategy(text, artifacts=StoredArtifacts(store))         # doctest: +SKIP
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from ruleplus.errors import ArtifactError

__all__ = ["ArtifactStore", "is_ref"]

_REF = re.compile(r"sha256:([0-9a-f]{64})")
_CHUNK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
# O_NONBLOCK: a FIFO planted under a digest's name must not block the open (it is then refused)


def is_ref(value: str) -> bool:
    """Whether ``value`` is an artifact reference ``sha256:<64 lowercase hex digits>``."""
    return _REF.fullmatch(value) is not None


class ArtifactStore:
    """Files named by their SHA-256, in one directory.

    Parameters
    ----------
    root : str or Path
        The store's directory (created on the first :meth:`put`).

    Notes
    -----
    Strategies resolve their ``call.strategy`` and ``model.artifact`` references in it through
    :class:`ruleplus.decision.StoredArtifacts` (``compile_strategy(text,
    artifacts=StoredArtifacts(store))``). :meth:`path` verifies the digest and then hands out the
    file's path: the store directory must be writable by the service alone.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

    # writing ------------------------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its reference ``sha256:<hex>``."""
        digest = hashlib.sha256(data).hexdigest()
        ref = f"sha256:{digest}"
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / digest
        try:
            self._verified(ref, "artifact")
            return ref  # already stored, intact
        except ArtifactError:
            pass  # absent, or damaged: (re)write it
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".put-")  # never a 64-hex name
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)  # atomic; replaces a symlink itself, not what it points to
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return ref

    def put_file(self, path: str | Path) -> str:
        """Store a file's content and return its reference."""
        return self.put(Path(path).read_bytes())

    # reading ------------------------------------------------------------------------------------
    def __contains__(self, ref: object) -> bool:
        if not isinstance(ref, str) or not is_ref(ref):
            return False
        try:
            self._verified(ref, "artifact")
        except ArtifactError:
            return False
        return True

    def read(self, ref: str) -> bytes:
        """The content of ``ref``, verified against its digest.

        Raises
        ------
        ArtifactError
            ``ref`` is not a ``sha256:`` reference, is not in the store, is a symbolic link or
            not a regular file, or its content no longer matches its digest.
        """
        data = self._verified(ref, "artifact", keep=True)
        assert data is not None
        return data

    def open(self, ref: str) -> BinaryIO:
        """A binary stream of the verified content of ``ref`` (see :meth:`read`)."""
        return io.BytesIO(self.read(ref))

    def path(self, ref: str) -> Path:
        """The file holding ``ref``, after verifying its content (see :meth:`read`)."""
        self._verified(ref, "artifact")
        return self.root / self._digest(ref, "artifact")

    def read_text(self, ref: str, what: str = "artifact", max_bytes: int | None = None) -> str:
        """The verified content of ``ref`` as UTF-8 text, at most ``max_bytes`` long.

        ``what`` names the reference in errors (``sub-strategy``, ``artifact``).
        """
        data = self._verified(ref, what, keep=True, max_bytes=max_bytes)
        assert data is not None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ArtifactError(f"{what} {ref} is not UTF-8 text") from None

    # internals ----------------------------------------------------------------------------------
    @staticmethod
    def _digest(ref: str, what: str) -> str:
        match = _REF.fullmatch(ref) if isinstance(ref, str) else None
        if match is not None:
            return match.group(1)
        if not isinstance(ref, str):
            why = f"a reference is text, not {type(ref).__name__}"
        elif os.path.isabs(ref) or ref.startswith(("/", "\\", "~")):
            why = "absolute paths are not accepted"
        elif ".." in re.split(r"[\\/]", ref):
            why = "'..' is not accepted"
        elif ref.lower().startswith("sha256:"):
            why = "a reference is sha256: and 64 lowercase hex digits"
        else:
            why = "file names are not accepted"
        raise ArtifactError(
            f"{what} {ref!r} refused: {why}; upload the file to the artifact store and "
            "reference it as sha256:<64 hex digits>"
        )

    def _verified(
        self, ref: str, what: str, *, keep: bool = False, max_bytes: int | None = None
    ) -> bytes | None:
        """Hash the stored file of ``ref``; its content when ``keep``. Refuses symlinks."""
        digest = self._digest(ref, what)
        path = self.root / digest
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            raise ArtifactError(f"{what} {ref} is not in the artifact store") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
                raise ArtifactError(
                    f"{what} {ref} refused: the store entry is a symbolic link"
                ) from None
            raise ArtifactError(f"{what} {ref} cannot be read: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode) or (not _NOFOLLOW and path.is_symlink()):
                raise ArtifactError(f"{what} {ref} refused: the store entry is not a regular file")
            if max_bytes is not None and info.st_size > max_bytes:
                raise ArtifactError(f"{what} {ref} is larger than {max_bytes:,} bytes")
            hasher = hashlib.sha256()
            parts: list[bytes] = []
            total = 0
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:  # it grew since fstat
                    raise ArtifactError(f"{what} {ref} is larger than {max_bytes:,} bytes")
                hasher.update(chunk)
                if keep:
                    parts.append(chunk)
        if hasher.hexdigest() != digest:
            raise ArtifactError(
                f"{what} {ref} is corrupt: the stored file no longer matches its digest"
            )
        return b"".join(parts) if keep else None
