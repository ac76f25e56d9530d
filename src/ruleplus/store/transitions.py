"""The only writer of a strategy version's status: one state-transition table."""

from __future__ import annotations

from ruleplus.errors import ConflictError

__all__ = ["STRATEGY_TRANSITIONS", "next_status"]

STRATEGY_TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"validate": "validated", "retire": "retired"},
    "validated": {"publish": "published", "retire": "retired"},
    "published": {"retire": "retired"},
    "retired": {},
}
"""status -> action -> new status. Anything else is a conflict (HTTP 409)."""


def next_status(current: str, action: str, *, what: str = "strategy version") -> str:
    """The status after ``action``, or a :class:`ConflictError` naming the allowed actions."""
    allowed = STRATEGY_TRANSITIONS.get(current, {})
    if action not in allowed:
        options = ", ".join(sorted(allowed)) or "none"
        raise ConflictError(
            f"cannot {action} a {current} {what} (allowed: {options})",
            status=current,
            action=action,
        )
    return allowed[action]
