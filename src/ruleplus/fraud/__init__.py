"""Fraud signals for strategies: velocity counters over sliding windows and watch lists."""

from __future__ import annotations

from ruleplus.fraud.velocity import (
    CounterSpec,
    DatabaseVelocity,
    MemoryVelocity,
    RedisVelocity,
    VelocityStore,
    parse_window,
)

__all__ = [
    "CounterSpec",
    "DatabaseVelocity",
    "MemoryVelocity",
    "RedisVelocity",
    "VelocityStore",
    "parse_window",
]
