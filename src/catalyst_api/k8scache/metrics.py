"""The k8scache metrics of spec §6.10, registered in the app's Prometheus registry."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["CacheMetrics"]

_P = "catalyst_k8scache_"


class CacheMetrics:
    """Every `catalyst_k8scache_*` metric; `forget(cluster)` drops a removed cluster's series."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.registry = r
        ck = ["cluster", "kind"]
        self.last_event = Gauge(
            _P + "informer_last_event_seconds", "Unix time of the last event", ck, registry=r
        )
        self.cache_size = Gauge(_P + "informer_cache_size", "Cached objects", ck, registry=r)
        self.resyncs = Counter(
            _P + "informer_resync_total",
            "Full re-lists after the first (410 or resume)",
            ck,
            registry=r,
        )
        self.events = Counter(
            _P + "informer_events_total", "Watch events applied", [*ck, "event_type"], registry=r
        )
        self.sse_clients = Gauge(_P + "sse_clients_connected", "Open k8scache streams", registry=r)
        self.drops = Counter(
            _P + "sse_event_drops_total",
            "Events dropped for slow stream subscribers",
            ck,
            registry=r,
        )
        self.snapshot_writes = Counter(
            _P + "snapshot_writes_total", "Snapshot files written", ck, registry=r
        )
        self.hydrate = Counter(
            _P + "snapshot_hydrate_total",
            "Snapshot reads at start by result",
            [*ck, "result"],
            registry=r,
        )
        self.sar_hits = Counter(
            _P + "sar_cache_hits_total",
            "SubjectAccessReview decisions served from cache",
            ck,
            registry=r,
        )
        self.sar_misses = Counter(
            _P + "sar_cache_miss_total",
            "SubjectAccessReview decisions asked of the apiserver",
            ck,
            registry=r,
        )

    def forget(self, cluster: str, kinds: list[str]) -> None:
        """Remove the per-(cluster, kind) gauges of a removed cluster."""
        for kind in kinds:
            for gauge in (self.last_event, self.cache_size):
                with contextlib.suppress(KeyError):
                    gauge.remove(cluster, kind)
