"""Canonical JSON: the forms in which ruleplus hashes a value, all built here.

Both are compact, keys sorted, UTF-8 kept (no ``\\u`` escapes), and anything JSON lacks (dates,
decimals) by its ``str``; they differ only in how a float is spelled:

- :func:`canonical` (the standard library's spelling, ``1e+16``) is the form of the audit
  chain's entries and head, and of the decision digests written before ``fast_digest``:
  existing chains were hashed with it, so it must never change.
- :func:`fast_digest` (orjson's spelling, ``1e16``) hashes a whole stored decision: fifteen
  times faster on a decision's few kilobytes of trace and outputs, and self-describing
  (``o1:`` + hex) so that a verifier knows which form an entry holds. The request behind an
  idempotency key is hashed by :func:`fast_hex` (the same form, bare hex: it fits its column
  and is only ever compared with itself).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

__all__ = ["FAST_PREFIX", "canonical", "canonical_digest", "fast_digest", "fast_hex"]

FAST_PREFIX = "o1:"
"""How a :func:`fast_digest` begins (a :func:`canonical_digest` is bare hex)."""


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value`` (the audit chain's form).

    Raises
    ------
    TypeError
        ``value`` holds a mapping key JSON cannot have (a tuple, an object).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_digest(value: Any) -> str:
    """The SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def fast_hex(value: Any) -> str:
    """The SHA-256 (hex) of ``value`` in orjson's canonical form (sorted keys, compact).

    Raises
    ------
    TypeError
        ``value`` holds something orjson cannot write (a non-string key, an integer beyond
        64 bits, an unpaired surrogate).
    """
    return hashlib.sha256(orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)).hexdigest()


def fast_digest(value: Any) -> str:
    """``o1:`` and :func:`fast_hex` of ``value``: a digest that says which form it is."""
    return FAST_PREFIX + fast_hex(value)
