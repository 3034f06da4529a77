"""Prometheus metrics of the feature server: requests by route and status, latency, store errors.

With several worker processes each keeps its own counters; prometheus-client's multiprocess
mode (``PROMETHEUS_MULTIPROC_DIR``, set by `feature-platform serve --workers N`) sums them, so
any worker's ``/metrics`` answers for the whole server.
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

MULTIPROCESS_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
# Online reads take from a fraction of a millisecond (embedded) to tens (DynamoDB, big batches).
BUCKETS: Final = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    float("inf"),
)


class ServerMetrics:
    """The server's metrics, in a registry of their own (not the process-global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "feature_server_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "feature_server_request_seconds",
            "Time from a request's arrival to its response, by route.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.store_errors = Counter(
            "feature_server_online_store_errors",
            "Requests that failed because the online store could not be reached or refused.",
            registry=self.registry,
        )

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status == 503:
            self.store_errors.inc()

    def exposition(self) -> bytes:
        """The Prometheus text format: of all workers in multiprocess mode, else of this one."""
        if os.environ.get(MULTIPROCESS_VARIABLE):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
