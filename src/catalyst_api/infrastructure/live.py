"""What the infrastructure page reads from a Sovereign: from the k8scache when it holds the
cluster, else straight from the apiserver.

The original asked the apiserver three times per page view (5 s each, any error → `[]`). Here
each kind comes from the k8scache when the cache holds the Sovereign and has listed that kind
(memory, no apiserver call); a kind the Sovereign does not serve is empty; only a kind the cache
has not synced yet (or a Sovereign the cache does not hold) is read directly, with the same 5 s
budget and the same "any error → `[]`" rule. `LiveData.source` says which it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import structlog

from ..k8scache import K8sCache
from ..kube import KubeClient, KubeConfigError, KubeError, KubeNotFound, ResourceRef
from .claims import CLAIM_KINDS, CLAIM_NAMESPACE, LABEL_DEPLOYMENT_ID

__all__ = ["READ_KINDS", "LiveData", "LiveReader"]

log = structlog.get_logger(__name__)

Obj = dict[str, Any]

_VCLUSTERS = ResourceRef("vcluster.io", "v1alpha1", "VCluster", "vclusters")
_PVCS = ResourceRef("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims")
_NODES = ResourceRef("", "v1", "Node", "nodes", namespaced=False)

READ_KINDS: dict[str, ResourceRef] = {
    "vcluster.io": _VCLUSTERS,
    "persistentvolumeclaim": _PVCS,
    "node": _NODES,
    **{ck.cache_kind: ck.ref for ck in CLAIM_KINDS},
}
"""k8scache kind name → resource, for everything the page reads."""

_CLAIM_KINDS = {ck.cache_kind: ck.kind for ck in CLAIM_KINDS}
ALL_NAMESPACES = "*"


@dataclass
class LiveData:
    """Live objects of one Sovereign; every list may be empty, none is None."""

    vclusters: list[Obj] = field(default_factory=list)
    pvcs: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)
    claims: dict[str, list[Obj]] = field(default_factory=dict)
    """`Kind` (`RegionClaim`) → this deployment's claims in `catalyst-day2`."""
    source: dict[str, str] = field(default_factory=dict)
    """Kind name → `cache`, `direct`, `unserved` or `error`."""

    def claims_of(self, kind: str) -> list[Obj]:
        return self.claims.get(kind, [])


def _mine(obj: Obj, deployment_id: str) -> bool:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    return (
        meta.get("namespace") == CLAIM_NAMESPACE
        and labels.get(LABEL_DEPLOYMENT_ID) == deployment_id
    )


class LiveReader:
    """Reads `READ_KINDS` for one deployment (cache first, then the apiserver)."""

    def __init__(self, *, cache: K8sCache | None, timeout: float = 5.0) -> None:
        self.cache = cache
        self.timeout = timeout

    def _from_cache(self, deployment_id: str, name: str) -> tuple[str, list[Obj]] | None:
        if self.cache is None:
            return None
        view = self.cache.cluster(deployment_id)
        indexer = view.indexers.get(name) if view is not None else None
        if indexer is None:
            return None
        if not indexer.served:
            return "unserved", []
        if not indexer.synced:
            return None
        return "cache", indexer.items()

    async def _direct(self, client: KubeClient, ref: ResourceRef) -> tuple[str, list[Obj]]:
        namespace = ALL_NAMESPACES if ref.namespaced else None
        try:
            async with asyncio.timeout(self.timeout):
                listed = await client.list_objects(ref, namespace=namespace)
        except (KubeError, TimeoutError) as exc:
            log.info("infrastructure: live read failed", resource=ref.plural, error=str(exc))
            return "error", []
        return "direct", listed.items

    async def read(self, deployment_id: str, kubeconfig: bytes | None) -> LiveData:
        """Everything the page shows live; `kubeconfig` None → only what the cache holds."""
        results: dict[str, tuple[str, list[Obj]]] = {}
        missing: list[str] = []
        for name in READ_KINDS:
            cached = self._from_cache(deployment_id, name)
            if cached is None:
                missing.append(name)
            else:
                results[name] = cached
        if missing and kubeconfig:
            try:
                client = KubeClient.from_kubeconfig(
                    kubeconfig, request_timeout=self.timeout, trust_env=False
                )
            except KubeConfigError as exc:
                log.info("infrastructure: kubeconfig unusable", error=str(exc))
            else:
                async with client:
                    fetched = await asyncio.gather(
                        *(self._direct(client, READ_KINDS[name]) for name in missing)
                    )
                results.update(zip(missing, fetched, strict=True))
        data = LiveData()
        for name in READ_KINDS:
            source, items = results.get(name, ("none", []))
            data.source[name] = source
            if name == "vcluster.io":
                data.vclusters = items
            elif name == "persistentvolumeclaim":
                data.pvcs = items
            elif name == "node":
                data.nodes = items
            else:
                data.claims[_CLAIM_KINDS[name]] = [o for o in items if _mine(o, deployment_id)]
        return data

    async def claim(
        self, deployment_id: str, cache_kind: str, name: str, client: KubeClient | None
    ) -> Obj | None:
        """One claim: from the cache when it holds it, else a direct GET (None when absent).
        Raises `KubeError` / `TimeoutError` when the apiserver cannot answer."""
        cached = self._from_cache(deployment_id, cache_kind)
        for obj in cached[1] if cached is not None else []:
            meta = obj.get("metadata") or {}
            if meta.get("name") == name and meta.get("namespace") == CLAIM_NAMESPACE:
                return obj
        if client is None:
            return None
        try:
            async with asyncio.timeout(self.timeout):
                return await client.get_object(
                    READ_KINDS[cache_kind], namespace=CLAIM_NAMESPACE, name=name
                )
        except KubeNotFound:
            return None
