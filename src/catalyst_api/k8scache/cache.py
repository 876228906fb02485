"""`K8sCache`: the facade the HTTP layer and the wiring use.

Lifecycle (`async with K8sCache(...)` or `start()` / `aclose()`): prepare the snapshot
directory (unwritable → one warning, no snapshots), discover clusters, hydrate each cluster's
indexers from its snapshots, then start one informer task per (cluster, kind)
(`informer:<cluster>:<kind>`), a rescan loop (every 30 s) and a snapshot loop (once at start,
then every 60 s, purge after each pass). `register(id)` / `remove(id)` add or drop one cluster
at once (kubeconfig PUT, destroy). Nothing here raises for a broken cluster: a bad kubeconfig
is one warning, an unreachable apiserver only leaves its kinds unsynced.

Longer than most modules: the cluster lifecycle and the reads share one cluster table and its
lock; snapshots live in `persistence`, each informer in `informer`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import structlog

from ..kube import KubeConfigError, WatchTiming
from . import discovery
from .fanout import Fanout, Subscriber
from .informer import Informer
from .kinds import Kind, KindRegistry
from .metrics import CacheMetrics
from .persistence import SnapshotKeeper
from .ratelimit import LimitedKubeClient, TokenBucket
from .sar import SarGate
from .store import Entry, Indexer
from .types import Obj

__all__ = ["CacheTimings", "ClusterView", "K8sCache"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CacheTimings:
    """Intervals (seconds) and limits; the defaults are the spec's."""

    rescan: float = 30.0
    snapshot: float = 60.0
    recheck_unserved: float = 30.0
    stale_after: float = 30.0
    sar_ttl: float = 30.0
    buffer: int = 4096
    qps: float = 50.0
    burst: int = 100
    request_timeout: float = 10.0
    watch: WatchTiming = field(default_factory=WatchTiming)


@dataclass
class ClusterView:
    """One registered cluster: its client, indexers by kind name and informer tasks."""

    id: str
    digest: str
    client: LimitedKubeClient
    indexers: dict[str, Indexer]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def synced(self) -> dict[str, bool]:
        return {name: ix.synced for name, ix in sorted(self.indexers.items()) if ix.served}

    def unserved(self) -> list[str]:
        return sorted(name for name, ix in self.indexers.items() if not ix.served)


class K8sCache:
    """The multi-cluster informer cache (see the module docstring)."""

    def __init__(
        self,
        *,
        kubeconfigs_dir: Path,
        snapshot_dir: Path | None,
        registry: KindRegistry,
        metrics: CacheMetrics,
        timings: CacheTimings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kubeconfigs_dir = kubeconfigs_dir
        self.snapshot_dir = snapshot_dir
        self.registry = registry
        self.metrics = metrics
        self.timings = timings or CacheTimings()
        self.clock = clock
        self.fanout = Fanout(buffer=self.timings.buffer, on_drop=self._count_drop)
        self.sar = SarGate(metrics=metrics, ttl=self.timings.sar_ttl)
        self._clusters: dict[str, ClusterView] = {}
        self._pending: dict[str, Path] = {}
        """Clusters found at start and not registered yet (`start(background=True)`)."""
        self._bad: dict[str, str] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._locks: dict[str, asyncio.Lock] = {}
        """One per cluster: its registration and removal never interleave, while another
        cluster (a request's, during the background start) registers at the same time."""
        self._started = False
        self.snapshots_enabled = False
        self._snapshots = SnapshotKeeper(snapshot_dir, metrics=metrics, clock=clock)

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> K8sCache:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self, *, background: bool = False) -> None:
        """Prepare snapshots, register every discovered cluster, start the loops.

        With `background`, only the directory scan happens here: the clusters are hydrated
        and their informers started by a task, so the server can answer while that runs
        (platform §4: lists from snapshots within a second of process start). A read of a
        cluster still waiting registers it first (`view`), ahead of the others.
        """
        self._started = True
        self.snapshots_enabled = await asyncio.to_thread(self._snapshots.prepare)
        if not await asyncio.to_thread(self.kubeconfigs_dir.is_dir):
            log.warning(
                "k8scache: kubeconfigs directory missing; no clusters until it appears",
                dir=str(self.kubeconfigs_dir),
            )
        if background:
            self._pending = await asyncio.to_thread(discovery.scan, self.kubeconfigs_dir)
            self._loops.append(
                asyncio.create_task(self._register_pending_then_loop(), name="k8scache:start")
            )
            return
        await self.rescan()
        self._start_loops()

    def _start_loops(self) -> None:
        self._loops.append(asyncio.create_task(self._rescan_loop(), name="k8scache:rescan"))
        if self.snapshots_enabled:
            self._loops.append(
                asyncio.create_task(self._snapshot_loop(), name="k8scache:snapshots")
            )

    async def _register_pending_then_loop(self) -> None:
        """Register the clusters found at start one by one (each yields to requests), then
        start the rescan and snapshot loops."""
        while self._pending:
            cluster, path = next(iter(self._pending.items()))
            try:
                await self._register_pending(cluster, path)
            except Exception:
                log.exception("k8scache: cluster registration failed", cluster=cluster)
        self._start_loops()

    async def _register_pending(self, cluster: str, path: Path) -> None:
        try:
            await self._register_path(cluster, path)
        finally:
            self._pending.pop(cluster, None)

    async def aclose(self) -> None:
        """Stop every loop and informer, close the clients (idempotent)."""
        loops, self._loops = self._loops, []
        for task in loops:
            task.cancel()
        if loops:
            await asyncio.wait(loops)
        for cluster in list(self._clusters):
            await self._drop(cluster)

    # --- clusters ------------------------------------------------------------------------------

    def clusters(self) -> list[str]:
        return sorted(self._clusters)

    def cluster(self, cluster: str) -> ClusterView | None:
        """The registered cluster (None while it is unknown or still waiting to register)."""
        return self._clusters.get(cluster)

    def _lock(self, cluster: str) -> asyncio.Lock:
        lock = self._locks.get(cluster)
        if lock is None:
            lock = self._locks[cluster] = asyncio.Lock()
        return lock

    async def view(self, cluster: str) -> ClusterView | None:
        """The registered cluster; one found at start and still waiting is registered now."""
        path = self._pending.get(cluster)
        if path is not None:
            await self._register_pending(cluster, path)
        return self._clusters.get(cluster)

    async def rescan(self) -> None:
        """Add new or changed kubeconfigs, remove clusters whose file is gone."""
        found = await asyncio.to_thread(discovery.scan, self.kubeconfigs_dir)
        for cluster, path in found.items():
            await self._register_path(cluster, path)
        for cluster in list(self._clusters):
            if cluster not in found:
                log.info("k8scache: kubeconfig removed, cluster dropped", cluster=cluster)
                await self.remove(cluster)
        for cluster in list(self._bad):
            if cluster not in found:
                del self._bad[cluster]

    async def register(self, cluster: str) -> bool:
        """(Re)register one cluster from its kubeconfig file now; True when it is registered."""
        if not self._started:
            return False
        path = await asyncio.to_thread(discovery.cluster_file, self.kubeconfigs_dir, cluster)
        if path is None:
            return False
        self._pending.pop(cluster, None)
        await self._register_path(cluster, path)
        return cluster in self._clusters

    async def remove(self, cluster: str) -> None:
        """Stop a cluster's informers and free its memory (idempotent)."""
        self._pending.pop(cluster, None)
        async with self._lock(cluster):
            await self._drop(cluster)

    async def _register_path(self, cluster: str, path: Path) -> None:
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            log.warning("k8scache: kubeconfig unreadable, skipped", cluster=cluster, error=str(exc))
            return
        digest = hashlib.sha256(data).hexdigest()
        async with self._lock(cluster):
            current = self._clusters.get(cluster)
            if (current is not None and current.digest == digest) or self._bad.get(
                cluster
            ) == digest:
                return
            try:
                client = LimitedKubeClient.from_kubeconfig(
                    data, request_timeout=self.timings.request_timeout, trust_env=False
                )
            except KubeConfigError as exc:
                self._bad[cluster] = digest
                log.warning(
                    "k8scache: kubeconfig unusable, cluster skipped",
                    cluster=cluster,
                    file=path.name,
                    error=str(exc),
                )
                return
            self._bad.pop(cluster, None)
            await self._drop(cluster)
            client.bucket = TokenBucket(self.timings.qps, self.timings.burst)
            view = ClusterView(cluster, digest, client, {k.name: Indexer(k) for k in self.registry})
            self._clusters[cluster] = view
            await self._snapshots.hydrate(view.id, view.indexers)
            for kind in self.registry:
                informer = Informer(
                    cluster=cluster,
                    kind=kind,
                    client=client,
                    indexer=view.indexers[kind.name],
                    publish=self.fanout.publish,
                    metrics=self.metrics,
                    clock=self.clock,
                    timing=self.timings.watch,
                    recheck=self.timings.recheck_unserved,
                )
                view.tasks.append(
                    asyncio.create_task(
                        self._guard(informer), name=f"informer:{cluster}:{kind.name}"
                    )
                )
            log.info("k8scache: cluster registered", cluster=cluster, kinds=len(view.indexers))

    async def _guard(self, informer: Informer) -> None:
        try:
            await informer.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "k8scache: informer crashed", cluster=informer.cluster, kind=informer.kind.name
            )

    async def _drop(self, cluster: str) -> None:
        view = self._clusters.pop(cluster, None)
        if view is None:
            return
        try:
            for task in view.tasks:
                task.cancel()
            if view.tasks:
                # asyncio.wait, not `await task` under suppress(CancelledError): that would also
                # swallow a cancellation of the caller (the rescan loop being stopped).
                await asyncio.wait(view.tasks)
        finally:
            view.indexers.clear()
            self.fanout.close_cluster(cluster)
            self.sar.forget(cluster)
            self.metrics.forget(cluster, self.registry.names())
            await asyncio.shield(view.client.aclose())

    async def snapshot_pass(self) -> int:
        """Write every synced (cluster, kind) once, then purge old files; returns files written."""
        if not self.snapshots_enabled:
            return 0
        return await self._snapshots.write_pass(
            [(view.id, view.indexers) for view in self._clusters.values()]
        )

    async def _snapshot_loop(self) -> None:
        while True:
            try:
                await self.snapshot_pass()
            except Exception:
                log.exception("k8scache: snapshot pass failed")
            await asyncio.sleep(self.timings.snapshot)

    async def _rescan_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timings.rescan)
            try:
                await self.rescan()
            except Exception:
                log.exception("k8scache: rescan failed")

    # --- reads ---------------------------------------------------------------------------------

    def kind(self, name: str) -> Kind | None:
        return self.registry.get(name)

    def objects(self, cluster: str, kind: Kind) -> list[Obj]:
        """Cached objects of one kind, decoded, sorted by namespace/name ([] if unknown)."""
        return [e.obj() for e in self.entries(cluster, kind)]

    def entries(self, cluster: str, kind: Kind) -> list[Entry]:
        """Cached entries (JSON bytes + namespace/labels) of one kind, sorted by namespace/name
        ([] if unknown): what the list and stream endpoints read without decoding."""
        view = self._clusters.get(cluster)
        indexer = view.indexers.get(kind.name) if view else None
        return indexer.entries() if indexer is not None else []

    def age_seconds(self, cluster: str, kind: Kind) -> float:
        """Now minus the last event of (cluster, kind); 0 when it never had one."""
        view = self._clusters.get(cluster)
        indexer = view.indexers.get(kind.name) if view else None
        if indexer is None or indexer.last_event is None:
            return 0.0
        return max(0.0, self.clock() - indexer.last_event)

    def subscribe(self, cluster: str, kinds: frozenset[str], user: str) -> Subscriber:
        sub = self.fanout.subscribe(cluster, kinds, user)
        self.metrics.sse_clients.inc()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.fanout.unsubscribe(sub)
        self.metrics.sse_clients.dec()

    async def allowed(self, *, user: str, cluster: str, kind: Kind, namespace: str) -> bool:
        """SAR decision (True for an empty user); fails closed."""
        view = self._clusters.get(cluster)
        return await self.sar.allowed(
            user=user,
            cluster=cluster,
            client=view.client if view else None,
            kind=kind,
            namespace=namespace,
        )

    def readiness(self) -> dict[str, object]:
        """The `/readyz` k8scache check: informational per-cluster sync state (never fails
        readiness: an unsynced Sovereign must not take the API out of its Service)."""
        clusters = {}
        all_core = True
        for cid, view in sorted(self._clusters.items()):
            synced = view.synced()
            core = all(synced.get(k, False) for k in ("pod", "deployment") if k in synced)
            all_core = all_core and core
            clusters[cid] = {
                "synced": all(synced.values()) if synced else False,
                "kinds": synced,
                "unserved": view.unserved(),
            }
        return {
            "ok": True,
            "enabled": True,
            "synced": all_core and not self._pending,
            "registering": sorted(self._pending),
            "snapshots": self.snapshots_enabled,
            "clusters": clusters,
        }

    def _count_drop(self, cluster: str, kind: str) -> None:
        self.metrics.drops.labels(cluster, kind).inc()
