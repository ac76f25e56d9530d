"""Prometheus metrics of the service (one registry per app, so tests stay independent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ServiceMetrics"]

_MAX_CHILDREN = 10_000
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """Decision latency by strategy and outcome; decisions by outcome and arm; HTTP responses."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "ruleplus_decision_latency_seconds",
            "Decision latency (request to commit)",
            ["strategy", "outcome"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "ruleplus_decisions",
            "Decisions made",
            ["strategy", "outcome", "arm"],
            registry=self.registry,
        )
        self.responses = Counter(
            "ruleplus_http_responses", "HTTP responses", ["route", "status"], registry=self.registry
        )
        self.psi = Gauge(
            "ruleplus_input_psi",
            "Population stability of a strategy's input: the last day against the 28 before",
            ["strategy", "input"],
            registry=self.registry,
        )
        self.approval_rate = Gauge(
            "ruleplus_approval_rate",
            "Approval rate of a strategy's decisions over the last day",
            ["strategy"],
            registry=self.registry,
        )

        # the labelled children of the per-request metrics, looked up once: ``labels()`` takes
        # a lock and rebuilds its key on every call (their labels are bounded by what the
        # administrator deployed, and by the routes and statuses there are)
        self._decided: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._responded: dict[tuple[str, int], Any] = {}

    def decided(self, strategy: str, outcome: str, arm: str, seconds: float) -> None:
        """Count one decision and observe its latency."""
        key = (strategy, outcome, arm)
        children = self._decided.get(key)
        if children is None:
            if len(self._decided) > _MAX_CHILDREN:
                self._decided.clear()
            children = self._decided[key] = (
                self.latency.labels(strategy, outcome),
                self.decisions.labels(strategy, outcome, arm),
            )
        children[0].observe(seconds)
        children[1].inc()

    def responded(self, route: str, status: int) -> None:
        """Count one HTTP response."""
        key = (route, status)
        child = self._responded.get(key)
        if child is None:
            if len(self._responded) > _MAX_CHILDREN:
                self._responded.clear()
            child = self._responded[key] = self.responses.labels(route, str(status))
        child.inc()

    def set_drift(self, points: Iterable[dict[str, Any]]) -> None:
        """Replace the drift gauges with the latest computation (``lab.stored_drift``)."""
        self.psi.clear()
        self.approval_rate.clear()
        for point in points:
            for name, value in point["columns"].items():
                self.psi.labels(point["strategy"], name).set(value)
            self.approval_rate.labels(point["strategy"]).set(point["approval_rate"])
