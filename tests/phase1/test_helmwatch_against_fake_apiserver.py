"""HelmReleaseWatcher against the fake kube-apiserver over real HTTP (spec §11 "helmwatch")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from catalyst_api.kube import KubeClient
from catalyst_api.phase1 import HelmReleaseWatcher, Phase1Outcome, WatchConfig

TERMINATED = "Phase-1 watch terminated by context: {} — see ComponentStates for current outcome"


async def _watch(cluster: Any, recorder: Any, config: WatchConfig, **kw: Any) -> Phase1Outcome:
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        return await HelmReleaseWatcher(client, emit=recorder, config=config, **kw).run()


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_all_installed_releases_end_the_watch_with_one_event_each(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    names = [f"bp-c{i}" for i in range(11)]
    for name in names:
        cluster.add(name, ready=("True", "InstallSucceeded", ""))
    result = await _watch(cluster, recorder, config())
    assert result.outcome == "ready"  # the verdict, not the 5 s deadline, ended the watch
    assert result.states == {n[3:]: "installed" for n in names}
    assert sorted(recorder.states()) == sorted((n[3:], "installed") for n in names)
    assert recorder.warnings() == []


async def test_rollout_reports_pending_installing_installed_in_order(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for name in ("bp-a", "bp-b", "bp-c"):
        cluster.add(name)
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(min_bootstrap_kit_hrs=3))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 3)
        for name in ("bp-a", "bp-b", "bp-c"):
            cluster.installing(name)
        await _until(lambda: len(recorder.states()) == 6)
        for name in ("bp-a", "bp-b", "bp-c"):
            cluster.installed(name)
        result = await task
    assert result.outcome == "ready"
    for component in ("a", "b", "c"):
        assert recorder.component(component) == ["pending", "installing", "installed"]
    events = [e for e in recorder.events if e.component == "a"]
    assert [e.message for e in events] == [
        "HelmRelease observed, waiting for first reconcile",
        "Reconciliation in progress",
        "Helm install complete; Ready=True",
    ]
    assert all(e.phase == "component" and e.level == "info" and e.time for e in events)


async def test_failed_release_is_one_error_event_and_fails_the_outcome(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-cilium", ready=("True", "InstallSucceeded", ""))
    cluster.add("bp-catalyst-platform", ready=("False", "InstallFailed", "chart exploded"))
    result = await _watch(cluster, recorder, config(min_bootstrap_kit_hrs=2))
    assert result.outcome == "failed"
    assert result.states == {"cilium": "installed", "catalyst-platform": "failed"}
    failed = [e for e in recorder.events if e.component == "catalyst-platform"]
    assert [(e.level, e.state, e.message) for e in failed] == [
        ("error", "failed", "chart exploded")
    ]


async def test_stuck_release_rides_out_the_timeout_with_partial_state(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-cilium", ready=("Unknown", "Progressing", "still going"))
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(
            client, emit=recorder, config=config(timeout=60, min_bootstrap_kit_hrs=1)
        )
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 1)
        await asyncio.sleep(0.05)
        assert not task.done()  # installing is not terminal: no verdict
        assert watcher._deadline is not None
        watcher._deadline.reschedule(asyncio.get_running_loop().time())  # the deadline passes
        result = await task
    assert result.outcome == "timeout"
    assert result.states == {"cilium": "installing"}
    assert result.error == ""
    assert recorder.warnings() == [TERMINATED.format("context deadline exceeded")]


async def test_releases_without_the_bp_prefix_or_outside_flux_system_are_ignored(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("cilium", ready=("True", "", ""))
    cluster.add("bp-elsewhere", namespace="default", ready=("True", "", ""))
    cluster.add("bp-flux", ready=("True", "", ""))
    result = await _watch(cluster, recorder, config(min_bootstrap_kit_hrs=1))
    assert result.states == {"flux": "installed"}
    assert recorder.states() == [("flux", "installed")]


async def test_updates_without_a_state_change_emit_nothing(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for i in range(5):
        cluster.add(f"bp-c{i}")
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(min_bootstrap_kit_hrs=5))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 5)
        for round_ in range(3):
            for i in range(5):
                cluster.set_ready(f"bp-c{i}", "Unknown", "Progressing", f"step {round_}")
        for i in range(5):
            cluster.installed(f"bp-c{i}")
        result = await task
    assert result.outcome == "ready"
    for i in range(5):
        assert recorder.component(f"c{i}") == ["pending", "installing", "installed"]
    assert len([s for _, s in recorder.states() if s == "installed"]) == 5


async def test_empty_cluster_warns_once_and_ends_flux_not_reconciling(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    started = time.monotonic()
    result = await _watch(cluster, recorder, config(first_seen_timeout=0.2, timeout=1.5))
    assert time.monotonic() - started >= 1.4  # rode out the deadline (no upper bound: busy CI)
    assert result.states == {}
    assert result.outcome == "flux-not-reconciling"
    assert result.error == ""
    assert recorder.warnings() == [
        "Phase 1 watch saw 0 HelmReleases in 200ms; the bootstrap-kit Kustomization may not be "
        "reconciling. Operator: run `flux get kustomization -n flux-system` on the new cluster.",
        TERMINATED.format("context deadline exceeded"),
    ]
    assert all(e.component == "" for e in recorder.events)


async def test_zero_releases_keep_watching_until_stopped(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(timeout=30))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: watcher.synced)
        await asyncio.sleep(0.5)
        assert not task.done()
        assert watcher.running and watcher.synced
        watcher.stop()
        result = await asyncio.wait_for(task, 2)
    assert result.outcome == "flux-not-reconciling"
    assert recorder.warnings() == [TERMINATED.format("context canceled")]


async def test_eleven_installed_with_one_failed_end_fast_as_failed(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for i in range(10):
        cluster.add(f"bp-ok{i}", ready=("True", "InstallSucceeded", ""))
    cluster.add("bp-broken", ready=("False", "UpgradeFailed", ""))
    result = await _watch(cluster, recorder, config())
    assert result.outcome == "failed"  # the verdict, not the 5 s deadline, ended the watch
    assert result.states["broken"] == "failed"
    assert len(result.states) == 11


async def test_five_installed_below_the_minimum_ride_out_the_timeout(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for i in range(5):
        cluster.add(f"bp-c{i}", ready=("True", "InstallSucceeded", ""))
    # The deadline is brought forward only once all five were seen (a fixed 0.5 s budget
    # could run out before the first list on a busy machine: `flux-not-reconciling`).
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(timeout=60))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 5)
        await asyncio.sleep(0.05)
        assert not task.done()  # five installed are below the minimum: no verdict yet
        assert watcher._deadline is not None
        watcher._deadline.reschedule(asyncio.get_running_loop().time())  # the deadline passes
        result = await task
    assert result.outcome == "timeout"
    assert result.states == {f"c{i}": "installed" for i in range(5)}


async def test_dependency_not_ready_flip_reports_pending_installing_installed(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add(
        "bp-keycloak",
        depends=("bp-x",),
        ready=("False", "DependencyNotReady", "dependency 'flux-system/bp-x' is not ready"),
    )
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(min_bootstrap_kit_hrs=1))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 1)
        assert watcher.snapshot()[0]["dependsOn"] == ["x"]
        cluster.set_ready("bp-keycloak", "Unknown", "Progressing", "")
        await _until(lambda: len(recorder.states()) == 2)
        cluster.installed("bp-keycloak")
        result = await task
    assert recorder.component("keycloak") == ["pending", "installing", "installed"]
    assert [e.message for e in recorder.events] == [
        "dependency 'flux-system/bp-x' is not ready",
        "Helm install in progress",
        "Helm install complete; Ready=True",
    ]
    assert result.outcome == "ready"


async def test_deleted_release_keeps_its_state_but_leaves_the_snapshot(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-a", ready=("Unknown", "Progressing", ""))
    cluster.add("bp-b")
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(min_bootstrap_kit_hrs=2))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 2)
        cluster.kube.state.delete("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-a")
        await _until(lambda: [i["appId"] for i in watcher.snapshot()] == ["b"])
        assert watcher.states() == {"a": "installing", "b": "pending"}
        watcher.stop()
        result = await task
    assert result.states == {"a": "installing", "b": "pending"}
    assert result.outcome == "timeout"


async def test_sync_hook_runs_once_after_the_initial_list(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-a", ready=("True", "", ""))
    cluster.add("bp-b", depends=("bp-a",))
    seen: list[list[dict[str, Any]]] = []
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(min_bootstrap_kit_hrs=2))
        watcher.add_sync_hook(lambda items: seen.append([dict(i) for i in items]))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(seen) == 1)
        cluster.installed("bp-b")
        await task
        late: list[int] = []
        watcher.add_sync_hook(lambda items: late.append(len(items)))
    assert len(seen) == 1
    assert [(i["appId"], i["status"], i.get("dependsOn")) for i in seen[0]] == [
        ("a", "installed", None),
        ("b", "pending", ["a"]),
    ]
    assert late == [2]


async def test_releases_applied_after_the_initial_list_reach_the_arrival_hook(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    seen: list[list[dict[str, Any]]] = []
    arrived: list[list[tuple[str, Any]]] = []
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(min_bootstrap_kit_hrs=2))
        watcher.add_sync_hook(lambda items: seen.append([dict(i) for i in items]))
        watcher.add_arrival_hook(
            lambda items: arrived.append([(i["appId"], i.get("dependsOn")) for i in items])
        )
        task = asyncio.create_task(watcher.run())
        await _until(lambda: watcher.synced)
        cluster.add("bp-a")
        cluster.add("bp-b", depends=("bp-a",))
        await _until(lambda: len(recorder.states()) == 2)
        cluster.installed("bp-a")
        cluster.installed("bp-b")
        await task
    assert seen == [[]]  # the kit was not applied yet when the watch listed
    assert arrived == [[("a", None)], [("b", ["a"])]]  # each once, with its dependsOn


async def test_unreachable_apiserver_ends_with_an_error_and_no_warning(
    recorder: Any, config: Callable[..., WatchConfig], flux_cluster_type: Any
) -> None:
    from catalyst_sandbox.fakekube import FakeKubeServer

    async with FakeKubeServer(token="t") as kube:
        kubeconfig = kube.kubeconfig_yaml().encode()
    async with KubeClient.from_kubeconfig(kubeconfig) as client:
        result = await HelmReleaseWatcher(client, emit=recorder, config=config(timeout=0.5)).run()
    assert result.outcome == "flux-not-reconciling"
    assert "could not list HelmReleases in flux-system" in result.error
    assert "context deadline exceeded" in result.error
    assert "connection failed" in result.error
    assert recorder.events == []


async def test_apiserver_errors_are_retried_until_the_list_succeeds(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-a", ready=("True", "", ""))
    cluster.kube.faults.fail_next(3, status=503, path_contains="helmreleases")
    result = await _watch(cluster, recorder, config(min_bootstrap_kit_hrs=1))
    assert result.outcome == "ready"
    assert recorder.states() == [("a", "installed")]


async def test_first_seen_warning_is_not_emitted_when_releases_exist(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    cluster.add("bp-a")
    result = await _watch(cluster, recorder, config(first_seen_timeout=0.1, timeout=0.4))
    assert result.outcome == "timeout"
    assert recorder.warnings() == [TERMINATED.format("context deadline exceeded")]
