"""SubjectAccessReview gating of cache reads (spec §6.8).

The user comes from the configured request header; an empty user skips the check (upstream
behaviour the UI relies on). Otherwise each (user, cluster, kind, namespace, verb) decision is
asked of the Sovereign's own apiserver and cached for 30 s, allow and deny alike. Anything that
prevents an answer (apiserver error, unknown cluster or kind, no client) denies and is not
cached. Concurrent checks of the same key share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from ..kube import KubeClient, KubeError
from .kinds import Kind
from .metrics import CacheMetrics

__all__ = ["SAR_TTL", "SarGate"]

log = structlog.get_logger(__name__)

SAR_TTL = 30.0
_Key = tuple[str, str, str, str, str]


class SarGate:
    """Cached access decisions; `allowed()` never raises."""

    def __init__(
        self,
        *,
        metrics: CacheMetrics,
        ttl: float = SAR_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._ttl = ttl
        self._clock = clock
        self._decisions: dict[_Key, tuple[bool, float]] = {}
        self._pending: dict[_Key, asyncio.Future[bool]] = {}

    async def allowed(
        self,
        *,
        user: str,
        cluster: str,
        client: KubeClient | None,
        kind: Kind | None,
        namespace: str,
        verb: str = "get",
    ) -> bool:
        if not user:
            return True
        if client is None or kind is None:
            return False
        ns = namespace if kind.namespaced else ""
        key: _Key = (user, cluster, kind.name, ns, verb)
        now = self._clock()
        cached = self._decisions.get(key)
        if cached is not None and cached[1] > now:
            self._metrics.sar_hits.labels(cluster, kind.name).inc()
            return cached[0]
        pending = self._pending.get(key)
        if pending is not None:
            self._metrics.sar_hits.labels(cluster, kind.name).inc()
            return await asyncio.shield(pending)
        self._metrics.sar_misses.labels(cluster, kind.name).inc()
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        decision = False
        try:
            decision = await client.access_allowed(
                user=user, verb=verb, group=kind.group, resource=kind.resource, namespace=ns
            )
        except KubeError as exc:
            log.warning(
                "k8scache: access review failed, denying",
                cluster=cluster,
                kind=kind.name,
                error=str(exc),
            )
        else:
            self._decisions[key] = (decision, self._clock() + self._ttl)
            if len(self._decisions) > 10_000:
                self._prune()
        finally:
            self._pending.pop(key, None)
            future.set_result(decision)
        return decision

    def forget(self, cluster: str) -> None:
        """Drop a removed cluster's decisions."""
        self._decisions = {k: v for k, v in self._decisions.items() if k[1] != cluster}

    def _prune(self) -> None:
        now = self._clock()
        self._decisions = {k: v for k, v in self._decisions.items() if v[1] > now}
