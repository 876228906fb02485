"""Prometheus metrics, one registry per app instance (tests run several apps per process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Metrics"]


class _Live(Collector):
    """Gauges computed at scrape time from the running services."""

    def __init__(self) -> None:
        self.status_counts: Callable[[], dict[str, int]] = dict
        self.sse_subscribers: Callable[[], int] = lambda: 0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        deployments = GaugeMetricFamily(
            "catalyst_deployments", "Deployments by status", labels=["status"]
        )
        for status, count in sorted(self.status_counts().items()):
            deployments.add_metric([status], count)
        yield deployments
        yield GaugeMetricFamily(
            "catalyst_sse_subscribers",
            "Open deployment SSE streams",
            value=self.sse_subscribers(),
        )


class Metrics:
    """Every metric catalyst-api exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "catalyst_http_requests_total",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "catalyst_http_request_duration_seconds",
            "HTTP request latency (until the response starts for streams)",
            ["method", "route"],
            registry=self.registry,
        )
        self.events_written = Counter(
            "catalyst_events_written_total",
            "Deployment events emitted (and queued for the durable log)",
            registry=self.registry,
        )
        self.audit_events = Counter(
            "catalyst_audit_events_total",
            "Audited requests (create, retry, destroy, kubeconfig GET/PUT, denials) by outcome",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.tofu_runs = Counter(
            "catalyst_tofu_runs_total",
            "OpenTofu steps by step and outcome",
            ["step", "outcome"],
            registry=self.registry,
        )
        self.plans = Counter(
            "catalyst_plans_total",
            "Plan previews by outcome (ok, failed, timeout, refused)",
            ["outcome"],
            registry=self.registry,
        )
        self.sse_rejected = Counter(
            "catalyst_sse_rejected_total",
            "Deployment SSE streams refused with 503 too-many-streams (CATALYST_SSE_MAX_STREAMS)",
            registry=self.registry,
        )
        self.slow_clients_disconnected = Counter(
            "catalyst_http_slow_clients_disconnected_total",
            "Connections aborted because the client read nothing for CATALYST_WRITE_TIMEOUT "
            "while a response waited to be sent (mostly SSE clients; they resume with "
            "Last-Event-ID)",
            registry=self.registry,
        )
        self.request_timeouts = Counter(
            "catalyst_http_request_timeouts_total",
            "Connections closed because request headers or body did not arrive in time",
            ["stage"],
            registry=self.registry,
        )
        self.live = _Live()
        self.registry.register(self.live)
