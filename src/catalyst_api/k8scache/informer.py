"""One informer per (cluster, kind): a `Reflector` feeding an `Indexer` and the fan-out.

A list (the first, or after a 410) replaces the indexed set and is turned into the deltas a
subscriber needs (ADDED for new keys, MODIFIED for a changed resourceVersion, DELETED for keys
gone), so a stream never misses a delete made while the watch was down. Objects are redacted and
stripped of `managedFields` once, here, before anything else sees them.

A kind the cluster does not serve (404 on list) is marked unserved for that cluster only and
checked again every `recheck` seconds (Flux CRDs, for example, arrive after the cluster does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from ..kube import Changed, KubeClient, KubeNotFound, Listed, Reflector, ResourceRef, WatchTiming
from ..timefmt import format_rfc3339
from .kinds import Kind
from .metrics import CacheMetrics
from .redact import redact, strip_managed_fields
from .store import Entry, Indexer
from .types import CacheEvent, Obj

__all__ = ["Informer"]

log = structlog.get_logger(__name__)


ALL_NAMESPACES = "*"
"""The kube layer's (lightkube's) "every namespace"; None would mean the kubeconfig's."""


def kube_ref(kind: Kind) -> ResourceRef:
    """The kube layer's reference for a registry kind."""
    return ResourceRef(kind.group, kind.version, kind.resource, kind.resource, kind.namespaced)


class Informer:
    """Keeps `indexer` equal to the cluster's objects of `kind` until cancelled."""

    def __init__(
        self,
        *,
        cluster: str,
        kind: Kind,
        client: KubeClient,
        indexer: Indexer,
        publish: Callable[[CacheEvent], None],
        metrics: CacheMetrics,
        clock: Callable[[], float],
        timing: WatchTiming,
        recheck: float = 30.0,
    ) -> None:
        self.cluster = cluster
        self.kind = kind
        self.client = client
        self.indexer = indexer
        self._publish = publish
        self._metrics = metrics
        self._clock = clock
        self._timing = timing
        self._recheck = recheck
        self.lists = 0

    async def run(self) -> None:
        """Run until cancelled; never raises for apiserver trouble (the reflector retries)."""
        while True:
            reflector = Reflector(
                self.client,
                kube_ref(self.kind),
                namespace=ALL_NAMESPACES if self.kind.namespaced else None,
                timing=self._timing,
                stop_on=(KubeNotFound,),
            )
            events = reflector.events()
            try:
                async with contextlib.aclosing(events):
                    async for item in events:
                        if isinstance(item, Listed):
                            self._apply_list(item)
                        else:
                            self._apply_change(item)
            except KubeNotFound:
                if self.indexer.served:
                    log.info(
                        "k8scache: kind not served by this cluster, skipped",
                        cluster=self.cluster,
                        kind=self.kind.name,
                    )
                self.indexer.served = False
                self.indexer.synced = False
                self._apply_list(Listed([], "", initial=False), served=False)
                await asyncio.sleep(self._recheck)

    def _clean(self, raw: Obj) -> Obj:
        return redact(strip_managed_fields(raw), self.kind)

    def _event(self, etype: str, obj: Obj, at: float) -> None:
        self._publish(
            CacheEvent(
                cluster=self.cluster,
                kind=self.kind.name,
                type=etype,
                object=obj,
                at=format_rfc3339(datetime.fromtimestamp(at, UTC)),
            )
        )

    def _apply_list(self, listed: Listed, *, served: bool = True) -> None:
        now = self._clock()
        new = [self._clean(o) for o in listed.items]
        entries = [Entry(o) for o in new]
        self.lists += 1
        if self.lists > 1:
            self._metrics.resyncs.labels(self.cluster, self.kind.name).inc()
        had = len(self.indexer) > 0
        old = self.indexer.replace_entries(entries, now if (new or had) else None)
        if served:
            self.indexer.served = True
            self.indexer.synced = True
        seen: set[str] = set()
        for obj, entry in zip(new, entries, strict=True):
            seen.add(entry.key)
            before = old.get(entry.key)
            if before is None:
                self._event("ADDED", obj, now)
            elif before.rv != entry.rv or before.raw != entry.raw:
                self._event("MODIFIED", obj, now)
        for key, gone in old.items():
            if key not in seen:
                self._event("DELETED", gone.obj(), now)
        self._gauges(now)

    def _apply_change(self, change: Changed) -> None:
        now = self._clock()
        obj = self._clean(change.object)
        if change.type == "DELETED":
            self.indexer.delete(obj, now)
        elif change.type in ("ADDED", "MODIFIED"):
            self.indexer.upsert(obj, now)
        else:
            return
        self._metrics.events.labels(self.cluster, self.kind.name, change.type).inc()
        self._event(change.type, obj, now)
        self._gauges(now)

    def _gauges(self, now: float) -> None:
        labels = (self.cluster, self.kind.name)
        self._metrics.cache_size.labels(*labels).set(len(self.indexer))
        if self.indexer.last_event is not None:
            self._metrics.last_event.labels(*labels).set(self.indexer.last_event)
