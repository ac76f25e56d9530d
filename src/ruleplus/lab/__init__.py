"""The strategy lab: backtests, swap sets, what-if sweeps, champion/challenger analysis and
drift monitoring over compiled strategies (decisions are always the engine's)."""

from __future__ import annotations

__all__: list[str] = []
