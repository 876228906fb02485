"""The cache's use of snapshots: prepare the directory, hydrate a cluster's indexers before its
informers start, write a pass of every synced (cluster, kind) and purge (file format and I/O in
`snapshots`). Blocking I/O runs in worker threads."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from . import snapshots
from .metrics import CacheMetrics
from .redact import redact, strip_managed_fields
from .store import Indexer
from .types import HydrateOutcome

__all__ = ["SnapshotKeeper"]

log = structlog.get_logger(__name__)


class SnapshotKeeper:
    """Snapshots of one cache; `directory=None` disables them."""

    def __init__(
        self, directory: Path | None, *, metrics: CacheMetrics, clock: Callable[[], float]
    ) -> None:
        self.directory = directory
        self._metrics = metrics
        self._clock = clock

    def prepare(self) -> bool:
        """Create the directory (0700); False, with one warning, when it is unusable."""
        if self.directory is None:
            return False
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.access(self.directory, os.W_OK | os.X_OK):
                raise PermissionError("directory is not writable")
        except OSError as exc:
            log.warning(
                "k8scache: snapshot directory unusable; running without snapshots",
                dir=str(self.directory),
                error=str(exc),
            )
            return False
        return True

    async def hydrate(self, cluster: str, indexers: dict[str, Indexer]) -> None:
        """Seed each indexer from its snapshot (best effort; counts every outcome)."""
        if self.directory is None:
            return
        now = datetime.fromtimestamp(self._clock(), UTC)
        for name, indexer in indexers.items():
            found = await asyncio.to_thread(
                snapshots.read_snapshot, self.directory, cluster=cluster, kind=name, now=now
            )
            self._metrics.hydrate.labels(cluster, name, found.outcome.value).inc()
            if found.outcome is HydrateOutcome.HYDRATED and found.items:
                kind = indexer.kind
                # Upstream-written files keep managedFields and ConfigMap binaryData: clean here.
                items = [redact(strip_managed_fields(o), kind) for o in found.items]
                indexer.replace(items, found.wrote)
                self._metrics.cache_size.labels(cluster, name).set(len(indexer))

    async def write_pass(self, clusters: list[tuple[str, dict[str, Indexer]]]) -> int:
        """Write every synced (cluster, kind), then purge expired files; returns files written.
        A failed write is a warning and the pass continues."""
        if self.directory is None:
            return 0
        directory = self.directory
        written = 0
        wrote = datetime.fromtimestamp(self._clock(), UTC)
        for cluster, indexers in clusters:
            for name, indexer in list(indexers.items()):
                if not indexer.synced:
                    continue
                entries = indexer.entries()
                try:
                    await asyncio.to_thread(
                        snapshots.write_raw_snapshot,
                        directory,
                        cluster=cluster,
                        kind=name,
                        raw_items=[e.raw for e in entries],
                        resource_version=max((e.rv for e in entries), default=0),
                        wrote=wrote,
                    )
                except OSError as exc:
                    log.warning(
                        "k8scache: snapshot write failed",
                        cluster=cluster,
                        kind=name,
                        error=str(exc),
                    )
                    continue
                written += 1
                self._metrics.snapshot_writes.labels(cluster, name).inc()
        await asyncio.to_thread(snapshots.purge, directory, now=self._clock())
        return written
