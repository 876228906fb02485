"""Informers: list then watch per (cluster, kind), kinds a cluster does not serve, 410 relists
and dropped watches lose no update, a broken cluster never blocks the others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from catalyst_api.k8scache import K8sCache
from catalyst_api.sandbox.fakekube import FakeKubeServer

from .conftest import pod, until


def _names(cache: K8sCache, cluster: str, kind: str) -> list[str]:
    k = cache.kind(kind)
    assert k is not None
    return [o["metadata"]["name"] for o in cache.objects(cluster, k)]


async def test_cluster_objects_are_listed_then_followed_by_watch(
    kube: FakeKubeServer, kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    kube.state.create(pod("a"))
    kube.write_kubeconfig(kubeconfigs / "c1.yaml")
    async with make_cache() as cache:
        await until(
            lambda: (
                cache.cluster("c1") is not None and cache.cluster("c1").synced().get("pod", False)
            )
        )  # type: ignore[union-attr]
        assert _names(cache, "c1", "pod") == ["a"]
        kube.state.create(pod("b"))
        await until(lambda: _names(cache, "c1", "pod") == ["a", "b"])
        kube.state.delete("v1", "Pod", "default", "a")
        await until(lambda: _names(cache, "c1", "pod") == ["b"])
        view = cache.cluster("c1")
        assert view is not None
        assert "statefulset" in view.unserved()
        assert "statefulset" not in view.synced()
