"""Keyed digests for values that must never be stored or logged in clear (ID numbers, phones).

The key is the server secret, :meth:`ruleplus.config.Settings.server_secret`
(``RULEPLUS_SECRET_KEY``, else a 0600 key file under the data directory).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["mask", "value_digest"]


def value_digest(secret: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalised value, namespaced by its kind (``phone``, ``id_number``…)."""
    normal = "".join(str(value).split()).upper()
    return hmac.new(secret, f"{kind}\x1f{normal}".encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    """What may be shown of a sensitive value: its last four characters."""
    text = "".join(str(value).split())
    return "*" * max(len(text) - 4, 0) + text[-4:]
