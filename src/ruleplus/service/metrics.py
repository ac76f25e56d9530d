"""Prometheus metrics of the service (one registry per app, so tests stay independent)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["ServiceMetrics"]

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
