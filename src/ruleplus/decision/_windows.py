"""Time windows written in strategy documents (velocity signals): ``"24h"`` -> seconds."""

from __future__ import annotations

import re

__all__ = ["parse_window"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_window(text: str | int) -> int:
    """``"90s"``, ``"15m"``, ``"24h"``, ``"7d"``, ``"2w"`` (or seconds) -> seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", str(text))
        if match is None:
            raise ValueError(f"window {text!r} must look like 90s, 15m, 24h, 7d or 2w")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a window must be positive")
    return seconds
