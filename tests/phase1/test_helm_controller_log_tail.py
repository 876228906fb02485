"""helm-controller log tailing beside the watch (spec §8.6), against the fake apiserver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from catalyst_api.kube import KubeClient
from catalyst_api.phase1 import HelmReleaseWatcher, WatchConfig

POD = ("v1", "Pod", "flux-system")


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def _attached(cluster: Any, recorder: Any, pod: str) -> None:
    """Log probe lines until the tailer shows one (it follows new lines only), then forget
    the probes."""
    deadline = time.monotonic() + 5
    while not any(e.component == "probe" for e in recorder.logs()):
        assert time.monotonic() < deadline, "log tailer never attached"
        cluster.log("helmrelease=flux-system/bp-probe", pod=pod)
        await asyncio.sleep(0.03)
    await asyncio.sleep(0.05)
    recorder.events[:] = [e for e in recorder.events if e.component != "probe"]


async def test_matching_lines_become_component_log_events(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-cilium")
    cluster.add_helm_controller()
    cluster.log("old line before the watch helmrelease=flux-system/bp-cilium")
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(timeout=30))
        task = asyncio.create_task(watcher.run())
        await _attached(cluster, recorder, "helm-controller-abc")
        cluster.log('level=info msg="installing" helmrelease=flux-system/bp-cilium')
        cluster.log("I0430 leaderelection.go:250] attempting to acquire leader lease")
        cluster.log('{"level":"error","HelmRelease":{"name":"bp-cert-manager","namespace":"x"}}')
        cluster.log("   ")
        cluster.log(
            '{"level":"info","msg":"dependencies do not meet ready condition (dependency '
            '\'flux-system/bp-cilium\' is not ready), retrying in 10s","HelmRelease":'
            '{"name":"bp-flux","namespace":"flux-system"}}'
        )
        await _until(lambda: len(recorder.logs()) == 3)
        watcher.stop(quiet=True)
        await task
    logs = recorder.logs()
    assert [(e.component, e.level, e.state) for e in logs] == [
        ("cilium", "info", ""),
        ("cert-manager", "error", ""),
        ("flux", "info", "pending"),  # only waiting: a client must not show it installing
    ]
    assert logs[0].message == 'level=info msg="installing" helmrelease=flux-system/bp-cilium'
    assert all(e.time for e in logs)


async def test_tailer_reattaches_when_the_helm_controller_pod_is_replaced(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-a")
    cluster.add_helm_controller("hc-1")
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(timeout=30))
        task = asyncio.create_task(watcher.run())
        await _attached(cluster, recorder, "hc-1")
        cluster.log("helmrelease=flux-system/bp-a first", pod="hc-1")
        await _until(lambda: len(recorder.logs()) == 1)
        cluster.kube.state.delete(*POD, "hc-1")
        cluster.add_helm_controller("hc-2", phase="Pending")
        cluster.add_helm_controller("hc-3")
        await _attached(cluster, recorder, "hc-3")
        cluster.log("helmrelease=flux-system/bp-a from the pending pod", pod="hc-2")
        cluster.log("helmrelease=flux-system/bp-a second", pod="hc-3")
        await _until(lambda: len(recorder.logs()) == 2)
        watcher.stop(quiet=True)
        await task
    assert [e.message for e in recorder.logs()] == [
        "helmrelease=flux-system/bp-a first",
        "helmrelease=flux-system/bp-a second",
    ]


async def test_log_tailing_waits_for_a_running_pod(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-a")
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(timeout=30))
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.2)
        cluster.add_helm_controller("hc-late")
        await _attached(cluster, recorder, "hc-late")
        cluster.log("level=warn helmrelease=flux-system/bp-a retrying", pod="hc-late")
        await _until(lambda: len(recorder.logs()) == 1)
        watcher.stop(quiet=True)
        await task
    assert [(e.component, e.level) for e in recorder.logs()] == [("a", "warn")]
