"""Canonical JSON: the one form in which ruleplus hashes a value.

Compact, keys sorted, UTF-8 kept (no ``\\u`` escapes), anything JSON lacks (dates, decimals)
by its ``str``. The audit chain's entry hashes and head MACs, the decision digests and the
request digest behind idempotency all use it, so the same value hashes the same everywhere.
The standard library writes it: its float and date spellings are what existing audit chains
were hashed with, and they must not change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical", "canonical_digest"]


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value``.

    Raises
    ------
    TypeError
        ``value`` holds a mapping key JSON cannot have (a tuple, an object).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_digest(value: Any) -> str:
    """The SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()
