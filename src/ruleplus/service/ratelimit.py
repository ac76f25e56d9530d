"""Per-partner token buckets (in-process; each server process enforces its own share)."""

from __future__ import annotations

import math
import threading
import time

from ruleplus.errors import RateLimitedError

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token bucket per key: ``rate`` tokens a second, bursts up to ``rate`` (at least 1).

    Parameters
    ----------
    default_rate : float
        Requests per second when the partner has no rate of its own.
    """

    def __init__(self, default_rate: float) -> None:
        self.default_rate = default_rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: float | None = None) -> None:
        """Spend one token or raise :class:`RateLimitedError` with the seconds to wait."""
        rate = rate or self.default_rate
        if rate <= 0:
            return
        capacity = max(rate, 1.0)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / rate)
                raise RateLimitedError(
                    f"rate limit of {rate:g} requests/s exceeded", retry_after=max(wait, 1)
                )
            self._buckets[key] = (tokens - 1, now)
