"""Starting the cache from `Settings` (upstream's `FactoryFromEnv`), never failing startup.

The kinds registry is loaded (kinds file, or the home-cluster ConfigMap), the cache is started
with its clusters registering in the background (a read of a cluster not registered yet waits
for it) and its close is pushed on the caller's exit stack. Anything unexpected is one warning
and a disabled cache (`None`): the k8s endpoints then answer 503 "k8scache disabled".
"""

from __future__ import annotations

import contextlib

import structlog
from prometheus_client import CollectorRegistry

from ..config import Settings
from .cache import CacheTimings, K8sCache
from .kindsource import load_registry
from .metrics import CacheMetrics

__all__ = ["start_from_settings"]

log = structlog.get_logger(__name__)


async def start_from_settings(
    settings: Settings,
    *,
    registry: CollectorRegistry,
    stack: contextlib.AsyncExitStack,
    timings: CacheTimings | None = None,
) -> K8sCache | None:
    """The started cache (closed by `stack`), or None when it could not start."""
    try:
        kinds = await load_registry(
            kinds_file=settings.k8scache_kinds_file,
            configmap=settings.k8scache_kinds_configmap,
            namespace=settings.k8scache_kinds_configmap_namespace,
        )
        cache = K8sCache(
            kubeconfigs_dir=settings.k8scache_kubeconfigs_dir,
            snapshot_dir=settings.k8scache_snapshot_dir,
            registry=kinds,
            metrics=CacheMetrics(registry),
            timings=timings,
        )
        await cache.start(background=True)
        stack.push_async_callback(cache.aclose)
    except Exception as exc:
        log.warning("k8scache disabled: it could not start", error=f"{type(exc).__name__}: {exc}")
        return None
    return cache
