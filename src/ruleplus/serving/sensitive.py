"""Personal data at rest: the fields a strategy or mapping marks sensitive are stored as keyed
digests, never in clear.

A canonical field is sensitive when the strategy's input declares ``sensitive: true``, when a
fraud signal uses it as its key (a phone counted by velocity is personal data by definition), or
when the partner's mapping marks the rule ``sensitive: true``. In the stored partner request the
same values are found through the mapping's ``from`` paths (or, without a mapping or with
``passthrough``, under the canonical name). The digest is the HMAC the velocity counters and watch
lists use for that field, so stored decisions can still be joined on it by whoever holds the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ruleplus.store.secrets import value_digest

__all__ = ["PREFIX", "Redactor", "sensitive_inputs"]

PREFIX = "hmac-sha256:"
"""How a stored digest starts (a stored value that starts so was redacted)."""


def sensitive_inputs(document: Any) -> set[str]:
    """The canonical fields a strategy document treats as personal data."""
    names = {name for name, spec in document.inputs.items() if getattr(spec, "sensitive", False)}
    signals = getattr(document, "signals", None)
    if signals is not None:
        names.update(counter.key for counter in signals.velocity)
        names.update(entry.key for entry in signals.lists)
    return names


class Redactor:
    """Replaces sensitive values by keyed digests in the stored forms of one binding's requests.

    Parameters
    ----------
    secret : bytes
        The server secret (HMAC key).
    fields : iterable of str
        Sensitive canonical field names.
    request_paths : iterable of (str, str)
        ``(dotted path in the partner's request, canonical name)`` of the same values.
    """

    def __init__(
        self, secret: bytes, fields: Iterable[str], request_paths: Iterable[tuple[str, str]]
    ) -> None:
        self.secret = secret
        self.fields = frozenset(fields)
        self.request_paths = tuple(
            (tuple(path.split(".")), name) for path, name in sorted(set(request_paths))
        )

    def __bool__(self) -> bool:
        return bool(self.fields or self.request_paths)

    def digest(self, name: str, value: Any) -> Any:
        """The stored form of one value of field ``name`` (nulls and digests stay as they are)."""
        if value is None or (isinstance(value, str) and value.startswith(PREFIX)):
            return value
        return PREFIX + value_digest(self.secret, name, str(value))

    def application(self, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of the canonical application with its sensitive fields digested."""
        if not self.fields:
            return record
        return {k: (self.digest(k, v) if k in self.fields else v) for k, v in record.items()}

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of the partner's request with the sensitive values digested (nested paths
        copied on the way down; the caller's dict is never changed)."""
        if not self.request_paths:
            return body
        out = dict(body)
        for path, name in self.request_paths:
            _replace(out, path, lambda value, name=name: self.digest(name, value))
        return out


def _replace(container: dict[str, Any], path: tuple[str, ...], change: Any) -> None:
    head, rest = path[0], path[1:]
    if head not in container:
        return
    if not rest:
        container[head] = change(container[head])
        return
    child = container[head]
    if isinstance(child, dict):
        child = dict(child)
        container[head] = child
        _replace(child, rest, change)
    elif isinstance(child, list) and rest[0].isdigit() and int(rest[0]) < len(child):
        items = list(child)
        container[head] = items
        holder = {rest[0]: items[int(rest[0])]}
        _replace(holder, rest, change)
        items[int(rest[0])] = holder[rest[0]]
