"""Keyed digests for values that must never be stored or logged in clear (ID numbers, phones).

The key comes from ``RULEPLUS_SECRET_KEY`` (hex or text) or, for the embedded default, from a
key file under the data directory created on first use with 0600 permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _secrets
from pathlib import Path

__all__ = ["load_secret", "mask", "value_digest"]


def load_secret(data_dir: Path, env: dict[str, str] | None = None) -> bytes:
    """The server secret (see module docstring)."""
    env = dict(os.environ if env is None else env)
    configured = env.get("RULEPLUS_SECRET_KEY")
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(_secrets.token_hex(32))
    return path.read_text().strip().encode()


def value_digest(secret: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalised value, namespaced by its kind (``phone``, ``id_number``…)."""
    normal = "".join(str(value).split()).upper()
    return hmac.new(secret, f"{kind}\x1f{normal}".encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    """What may be shown of a sensitive value: its last four characters."""
    text = "".join(str(value).split())
    return "*" * max(len(text) - 4, 0) + text[-4:]
