"""Per-partner rate limits: token buckets in process, or shared by every worker through Redis.

With ``uvicorn --workers N`` an in-process bucket lets a partner send N times its rate; with
``RULEPLUS_REDIS_URL`` set, one bucket per partner lives in Redis and every worker spends from
it (a Lua script, so the read-modify-write is atomic). Both are awaited on the event loop: the
Redis client is the asyncio one, so a limit check never blocks other partners' requests.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Protocol

from ruleplus.errors import RateLimitedError

__all__ = ["MemoryRateLimiter", "RateLimiter", "RedisRateLimiter", "rate_limited"]


class RateLimiter(Protocol):
    """Spend one token of ``key``'s bucket or raise :class:`RateLimitedError`."""

    default_rate: float

    async def take(self, key: str, rate: float | None = None) -> None:
        """Spend one token (``rate`` tokens a second, bursts up to ``rate``, at least 1)."""
        ...


def _refused(rate: float, tokens: float) -> RateLimitedError:
    return rate_limited(rate, _wait(rate, tokens))


def _wait(rate: float, tokens: float) -> int:
    return max(math.ceil((1 - tokens) / rate), 1)


def rate_limited(rate: float, wait: int) -> RateLimitedError:
    """The refusal of a request over ``rate`` requests a second, to retry after ``wait`` s."""
    return RateLimitedError(f"rate limit of {rate:g} requests/s exceeded", retry_after=wait)


class MemoryRateLimiter:
    """Token bucket per key in this process.

    Parameters
    ----------
    default_rate : float
        Requests per second when the partner has no rate of its own (0: unlimited).
    """

    def __init__(self, default_rate: float) -> None:
        self.default_rate = default_rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_now(self, key: str, rate: float) -> int:
        """Spend one token of ``key``'s bucket (``rate`` a second, already resolved: see
        :meth:`take_now`) and return 0, or, with none left, the whole seconds to wait before
        retrying. A refusal raises nothing, so that refusing a flood costs little."""
        if rate <= 0:
            return 0
        capacity = max(rate, 1.0)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return _wait(rate, tokens)
            self._buckets[key] = (tokens - 1, now)
        return 0

    def take_now(self, key: str, rate: float | None = None) -> None:
        """The synchronous check (no I/O); ``rate`` defaults to ``default_rate``."""
        rate = rate or self.default_rate
        wait = self.wait_now(key, rate)
        if wait:
            raise rate_limited(rate, wait)

    async def take(self, key: str, rate: float | None = None) -> None:
        """Spend one token."""
        self.take_now(key, rate)


# KEYS[1] bucket; ARGV: rate, capacity, now (s). Returns {allowed, tokens*1000}.
_BUCKET = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, math.floor(tokens * 1000)}
"""


class RedisRateLimiter:
    """One token bucket per key in Redis, shared by every worker process.

    Parameters
    ----------
    url : str
        Redis URL.
    default_rate : float
        Requests per second when the partner has no rate of its own (0: unlimited).
    prefix : str, default="ruleplus:rl:"
        Key prefix.
    """

    def __init__(self, url: str, default_rate: float, prefix: str = "ruleplus:rl:") -> None:
        import redis.asyncio

        self.default_rate = default_rate
        self.prefix = prefix
        self.client: Any = redis.asyncio.Redis.from_url(url)
        self._script: Any = self.client.register_script(_BUCKET)

    async def take(self, key: str, rate: float | None = None) -> None:
        """Spend one token of the shared bucket (Redis' clock is not used: each worker sends
        its wall time, which agree closely enough for rates of requests a second)."""
        rate = rate or self.default_rate
        if rate <= 0:
            return
        allowed, milli = await self._script(
            keys=[self.prefix + key], args=[rate, max(rate, 1.0), time.time()]
        )
        if not int(allowed):
            raise _refused(rate, int(milli) / 1000)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
