"""Structured JSON logs with allow-listed fields only: never bodies, keys, ID numbers or images."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["JsonFormatter", "configure_logging"]

_ALLOWED = (
    "method",
    "path",
    "status",
    "ms",
    "partner",
    "decision",
    "product",
    "outcome",
    "error",
    "event",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the allow-listed ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in _ALLOWED:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send ruleplus logs as JSON lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ruleplus")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
