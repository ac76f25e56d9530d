"""What the console's browser tests share: the demo password and the running service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASSWORD = "demo-password-2026"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Served:
    """A service running on ``url`` with the demo partner and stored decisions."""

    url: str
    partner_id: str
    api_key: str
    decision_ids: list[str]
    state: Any
