"""The in-process token bucket: a burst of its rate, then one request per 1/rate seconds; a
refusal says how long to wait and spends nothing."""

from __future__ import annotations

import pytest

from ruleplus.errors import RateLimitedError
from ruleplus.service import ratelimit
from ruleplus.service.ratelimit import MemoryRateLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(ratelimit.time, "monotonic", fake.monotonic)
    return fake


def test_a_burst_then_the_rate(clock: _Clock) -> None:
    limiter = MemoryRateLimiter(default_rate=0)
    assert [limiter.wait_now("a", 4) for _ in range(5)] == [0, 0, 0, 0, 1]
    clock.now += 0.25  # one token back
    assert limiter.wait_now("a", 4) == 0
    assert limiter.wait_now("a", 4) == 1
    assert limiter.wait_now("b", 4) == 0  # another key, another bucket


def test_the_wait_is_whole_seconds_until_a_token(clock: _Clock) -> None:
    limiter = MemoryRateLimiter(default_rate=0)
    assert limiter.wait_now("slow", 0.1) == 0  # a bucket of one token, refilled in 10 s
    assert limiter.wait_now("slow", 0.1) == 10
    clock.now += 4.5
    assert limiter.wait_now("slow", 0.1) == 6  # refusals spend nothing
    clock.now += 5.5
    assert limiter.wait_now("slow", 0.1) == 0


def test_take_now_raises_with_the_partners_or_the_default_rate(clock: _Clock) -> None:
    limiter = MemoryRateLimiter(default_rate=1)
    limiter.take_now("x")
    with pytest.raises(RateLimitedError, match="rate limit of 1 requests/s") as raised:
        limiter.take_now("x")
    assert raised.value.context["retry_after"] == 1
    unlimited = MemoryRateLimiter(default_rate=0)
    for _ in range(1000):
        unlimited.take_now("y")  # 0: no limit
