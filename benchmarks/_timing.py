"""Per-call timing shared by the engine and JDM benchmarks (one clock, one summary)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["summarise", "time_calls"]


def time_calls(
    fn: Callable[[Any], Any], inputs: Sequence[Any], calls: int, warmup: int = 2_000
) -> list[int]:
    """Nanoseconds of each of ``calls`` calls of ``fn`` on ``inputs`` cycled, after a warm-up."""
    n = len(inputs)
    for i in range(warmup):
        fn(inputs[i % n])
    gc.collect()
    clock = time.perf_counter_ns
    out = [0] * calls
    for i in range(calls):
        rec = inputs[i % n]
        t0 = clock()
        fn(rec)
        out[i] = clock() - t0
    return out


def summarise(samples: list[int]) -> dict[str, float]:
    """Median, p99 (µs) and mean-based throughput (calls/s) of one round."""
    ordered = sorted(samples)
    return {
        "median_us": ordered[len(ordered) // 2] / 1e3,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3,
        "per_s": len(ordered) / (sum(ordered) / 1e9),
    }
