"""Informers: list then watch per (cluster, kind), kinds a cluster does not serve, 410 relists
and dropped watches lose no update, a broken cluster never blocks the others."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from catalyst_api.k8scache import DEFAULT_KINDS, K8sCache, KindRegistry
from catalyst_api.k8scache.fanout import Published
from catalyst_api.k8scache.ratelimit import TokenBucket
from catalyst_sandbox.fakekube import FakeKubeServer, FakeKubeState

from .conftest import FAST, configmap, pod, until


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
            lambda: (view := cache.cluster("c1")) is not None and view.synced().get("pod", False)
        )
        assert _names(cache, "c1", "pod") == ["a"]
        kube.state.create(pod("b"))
        await until(lambda: _names(cache, "c1", "pod") == ["a", "b"])
        kube.state.delete("v1", "Pod", "default", "a")
        await until(lambda: _names(cache, "c1", "pod") == ["b"])
        view = cache.cluster("c1")
        assert view is not None
        assert "vcluster" in view.unserved()
        assert "vcluster" not in view.synced()


def _apiserver_state(kube: FakeKubeServer) -> dict[str, str]:
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for o in kube.state.list("v1", "ConfigMap", None)
    }


def _cache_state(cache: K8sCache, cluster: str) -> dict[str, str]:
    kind = cache.kind("configmap")
    assert kind is not None
    return {
        o["metadata"]["name"]: o["metadata"]["resourceVersion"]
        for o in cache.objects(cluster, kind)
    }


async def _rollout(kube: FakeKubeServer, rounds: int, *, disrupt: Callable[[int], None]) -> None:
    for n in range(rounds):
        kube.state.create(configmap(f"cm-{n}", k="v"))
        if n % 3 == 0 and n:
            kube.state.delete("v1", "ConfigMap", "default", f"cm-{n - 3}")
        kube.state.patch("v1", "ConfigMap", "default", f"cm-{n}", {"data": {"k": f"v{n}"}})
        disrupt(n)
        await asyncio.sleep(0.005)  # pacing: let the watch interleave with the rollout


async def test_watch_drops_in_the_middle_of_a_rollout_lose_no_update(
    kube: FakeKubeServer, kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    kube.write_kubeconfig(kubeconfigs / "c1.yaml")
    async with make_cache() as cache:
        await until(lambda: cache.cluster("c1").synced().get("configmap", False))  # type: ignore[union-attr]

        def drop(n: int) -> None:
            if n % 4 == 1:
                kube.faults.drop_watches(abort=n % 8 == 1)

        await _rollout(kube, 30, disrupt=drop)
        await until(lambda: _cache_state(cache, "c1") == _apiserver_state(kube), what="converge")


async def test_a_410_relist_replaces_the_set_so_deleted_objects_vanish(
    kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    async with FakeKubeServer(token="t", history_limit=5) as kube:
        kube.state.create(configmap("old", k="v"))
        kube.write_kubeconfig(kubeconfigs / "c1.yaml")
        cache = make_cache()
        async with cache:
            await until(lambda: "old" in _cache_state(cache, "c1"))
            view = cache.cluster("c1")
            assert view is not None
            seen = []
            sub = cache.subscribe("c1", frozenset({"configmap"}), "")
            # Let the watch fall behind the fake's short history: drop it and change a lot.
            kube.faults.fail_next(3, status=500, path_contains="watch=true")
            kube.faults.drop_watches()
            kube.state.delete("v1", "ConfigMap", "default", "old")
            for n in range(12):
                kube.state.create(configmap(f"n{n}", k="v"))
            await until(lambda: _cache_state(cache, "c1") == _apiserver_state(kube), what="relist")
            assert "old" not in _cache_state(cache, "c1")
            relists = cache.metrics.registry.get_sample_value(
                "catalyst_k8scache_informer_resync_total", {"cluster": "c1", "kind": "configmap"}
            )
            assert relists and relists >= 1
            while (item := await sub.next(0.05)) is not None:
                seen.append(item)
            events = [e.event for e in seen if isinstance(e, Published)]
            deleted = [e for e in events if e["type"] == "DELETED"]
            assert [e["object"]["metadata"]["name"] for e in deleted] == ["old"]
            cache.unsubscribe(sub)


async def test_a_cluster_that_hangs_or_answers_500_never_blocks_the_others(
    kube: FakeKubeServer, kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    kube.state.create(pod("fine"))
    kube.write_kubeconfig(kubeconfigs / "good.yaml")
    async with FakeKubeServer(token="t") as hanging, FakeKubeServer(token="t") as failing:
        hanging.faults.delay_seconds = 3  # longer than the 2 s request timeout: a hang
        failing.faults.fail_next(10_000, status=500)
        hanging.write_kubeconfig(kubeconfigs / "hanging.yaml")
        failing.write_kubeconfig(kubeconfigs / "failing.yaml")
        (kubeconfigs / "closed.yaml").write_text(
            kube.kubeconfig_yaml().replace(str(kube.port), "1")
        )
        async with make_cache() as cache:
            assert cache.clusters() == ["closed", "failing", "good", "hanging"]
            await until(lambda: cache.cluster("good").synced().get("pod", False), timeout=5)  # type: ignore[union-attr]
            assert _names(cache, "good", "pod") == ["fine"]
            assert not any(cache.cluster("failing").synced().values())  # type: ignore[union-attr]
            hanging.faults.clear()


async def test_a_bad_kubeconfig_is_skipped_with_a_warning(
    kubeconfigs: Path, make_cache: Callable[..., K8sCache], log_text: Callable[[], str]
) -> None:
    (kubeconfigs / "broken.yaml").write_text("clusters: [")
    (kubeconfigs / "plugin.yaml").write_text(
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
        "users: [{name: u, user: {exec: {command: /bin/sh}}}]\n"
    )
    (kubeconfigs / ".hidden.yaml").write_text("x")
    (kubeconfigs / "sub.yaml").mkdir()
    (kubeconfigs / "notes.txt").write_text("x")
    async with make_cache() as cache:
        assert cache.clusters() == []
    assert log_text().count("kubeconfig unusable") == 2  # broken YAML, exec plugin refused


async def test_clusters_are_added_and_removed_at_runtime_and_removal_frees_them(
    kube: FakeKubeServer, kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    kube.state.create(pod("p"))
    async with make_cache() as cache:
        assert cache.clusters() == []
        kube.write_kubeconfig(kubeconfigs / "late.kubeconfig")
        assert await cache.register("late")
        await until(lambda: _names(cache, "late", "pod") == ["p"])
        view = cache.cluster("late")
        assert view is not None
        (kubeconfigs / "late.kubeconfig").unlink()
        await cache.rescan()
        assert cache.cluster("late") is None
        assert all(t.done() for t in view.tasks) and not view.indexers
        kube.write_kubeconfig(kubeconfigs / "again.yml")
        await cache.rescan()
        assert cache.clusters() == ["again"]
        await cache.remove("again")
        assert cache.clusters() == []


async def test_the_rescan_loop_picks_up_new_files_and_drops_removed_ones(
    kube: FakeKubeServer, kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    async with make_cache(timings=dataclasses.replace(FAST, rescan=0.05)) as cache:
        kube.write_kubeconfig(kubeconfigs / "new.yaml")
        await until(lambda: cache.clusters() == ["new"], what="added by the rescan")
        (kubeconfigs / "new.yaml").unlink()
        await until(lambda: cache.clusters() == [], what="removed by the rescan")


async def test_requests_of_one_cluster_share_a_token_bucket() -> None:
    bucket = TokenBucket(rate=20, burst=2)
    started = time.monotonic()
    for _ in range(4):
        await bucket.acquire()
    assert time.monotonic() - started >= 0.08  # two immediate, two at 20/s


async def test_a_kind_installed_later_is_picked_up_by_the_unserved_recheck(
    kube: FakeKubeServer, kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    registry = KindRegistry([k for k in DEFAULT_KINDS if k.name in ("pod", "vcluster")])
    kube.write_kubeconfig(kubeconfigs / "c1.yaml")
    timings = dataclasses.replace(FAST, recheck_unserved=0.1)
    async with make_cache(registry=registry, timings=timings) as cache:
        await until(lambda: cache.cluster("c1").unserved() == ["vcluster"])  # type: ignore[union-attr]
        kube.state.register_crd("vcluster.com", "v1alpha1", "VCluster", "vclusters")
        kube.state.create(
            {
                "apiVersion": "vcluster.com/v1alpha1",
                "kind": "VCluster",
                "metadata": {"name": "v1", "namespace": "default"},
            }
        )
        await until(lambda: _names(cache, "c1", "vcluster") == ["v1"], what="recheck")
        assert cache.cluster("c1").synced() == {"pod": True, "vcluster": True}  # type: ignore[union-attr]


def _pod_metrics(name: str, cpu: str) -> dict[str, object]:
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": "default"},
        "timestamp": "2026-12-04T12:00:00Z",
        "window": "15s",
        "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": "10Mi"}}],
    }


async def test_pod_metrics_that_cannot_be_watched_are_polled(
    kubeconfigs: Path, make_cache: Callable[..., K8sCache]
) -> None:
    """metrics-server serves PodMetrics with get and list only (a watch is 405): the cache
    lists them again every poll interval instead of retrying a watch that can never work."""
    polling = dataclasses.replace(FAST, watch=dataclasses.replace(FAST.watch, poll_interval=0.1))
    async with FakeKubeServer(token="t", state=FakeKubeState(addons=True)) as kube:
        kube.state.create(_pod_metrics("web", "5m"))
        kube.write_kubeconfig(kubeconfigs / "c1.yaml")
        async with make_cache(timings=polling) as cache:
            kind = cache.kind("podmetrics")
            assert kind is not None

            def usage() -> dict[str, str]:
                return {
                    o["metadata"]["name"]: o["containers"][0]["usage"]["cpu"]
                    for o in cache.objects("c1", kind)
                }

            await until(lambda: usage() == {"web": "5m"}, what="first list")
            view = cache.cluster("c1")
            assert view is not None and view.synced()["podmetrics"] is True
            sub = cache.subscribe("c1", frozenset({"podmetrics"}), "")
            kube.state.create(_pod_metrics("db", "7m"))
            kube.state.delete("metrics.k8s.io/v1beta1", "PodMetrics", "default", "web")
            await until(lambda: usage() == {"db": "7m"}, what="a later poll")
            seen = []
            while (item := await sub.next(0.05)) is not None:
                if isinstance(item, Published):
                    seen.append((item.event["type"], item.event["object"]["metadata"]["name"]))
            assert ("ADDED", "db") in seen and ("DELETED", "web") in seen
            cache.unsubscribe(sub)
