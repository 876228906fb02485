"""Dropped connections and 410s during a rollout of 11 HelmReleases lose and duplicate nothing:
every component reports exactly pending → installing → installed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from catalyst_api.kube import KubeClient
from catalyst_api.phase1 import HelmReleaseWatcher, WatchConfig
from catalyst_sandbox.fakekube import FakeKubeServer

NAMES = [f"bp-c{i:02d}" for i in range(11)]
SEQUENCE = ["pending", "installing", "installed"]


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def _assert_exact_sequences(recorder: Any) -> None:
    for name in NAMES:
        assert recorder.component(name[3:]) == SEQUENCE, name


async def _start(cluster: Any, recorder: Any, config: WatchConfig) -> tuple[Any, Any, Any]:
    client = KubeClient.from_kubeconfig(cluster.kubeconfig)
    watcher = HelmReleaseWatcher(client, emit=recorder, config=config)
    task = asyncio.create_task(watcher.run())
    await _until(lambda: len(recorder.states()) == len(NAMES))
    return client, watcher, task


async def test_clean_drops_between_every_step_lose_and_duplicate_nothing(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for name in NAMES:
        cluster.add(name)
    client, watcher, task = await _start(cluster, recorder, config())
    async with client:
        for step in (cluster.installing, cluster.installed):
            for name in NAMES:
                step(name)
                assert cluster.kube.faults.drop_watches() <= 1
                await asyncio.sleep(0.01)
        result = await task
    assert result.outcome == "ready"
    _assert_exact_sequences(recorder)
    assert watcher.lists == 1  # every reconnect resumed from its resourceVersion


async def test_aborted_connections_mid_stream_lose_and_duplicate_nothing(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for name in NAMES:
        cluster.add(name)
    client, _, task = await _start(cluster, recorder, config())
    async with client:
        for step in (cluster.installing, cluster.installed):
            for name in NAMES:
                cluster.kube.faults.drop_watches(abort=True)
                step(name)
                await asyncio.sleep(0.02)
        result = await task
    assert result.outcome == "ready"
    _assert_exact_sequences(recorder)


async def test_constant_churn_of_drops_and_failures_loses_nothing(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    for name in NAMES:
        cluster.add(name)
    client, _, task = await _start(cluster, recorder, config(timeout=20))

    async def chaos() -> None:
        n = 0
        while True:
            n += 1
            if n % 5 == 0:
                cluster.kube.faults.fail_next(1, status=500, path_contains="helmreleases")
            cluster.kube.faults.drop_watches(abort=n % 2 == 0)
            await asyncio.sleep(0.007)

    async with client:
        chaos_task = asyncio.create_task(chaos())
        try:
            for step in (cluster.installing, cluster.installed):
                for name in NAMES:
                    step(name)
                    await asyncio.sleep(0.004)
        finally:
            chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos_task
        result = await task
    assert result.outcome == "ready"
    _assert_exact_sequences(recorder)


async def test_expired_resource_version_relists_and_loses_nothing(
    recorder: Any, config: Callable[..., WatchConfig], flux_cluster_type: Any
) -> None:
    async with FakeKubeServer(token="t", history_limit=20, bookmark_interval=0.2) as kube:
        cluster = flux_cluster_type(kube)
        for name in NAMES:
            cluster.add(name)
        client, watcher, task = await _start(cluster, recorder, config())
        async with client:
            for name in NAMES:
                cluster.installing(name)
            await _until(lambda: len(recorder.states()) == 2 * len(NAMES))
            # Drop the watch and, before the client can resume, change more objects than the
            # server's history keeps: the resume gets 410 and the watcher must list again.
            kube.faults.drop_watches()
            for name in NAMES:
                cluster.installed(name)
            for i in range(30):
                kube.state.create(
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"noise-{i}"}}
                )
            result = await task
        assert watcher.lists == 2
    assert result.outcome == "ready"
    _assert_exact_sequences(recorder)


async def test_expired_watch_during_a_slow_rollout_keeps_exact_sequences(
    recorder: Any, config: Callable[..., WatchConfig], flux_cluster_type: Any
) -> None:
    async with FakeKubeServer(token="t", history_limit=8, bookmark_interval=0.05) as kube:
        cluster = flux_cluster_type(kube)
        for name in NAMES:
            cluster.add(name)
        client, watcher, task = await _start(cluster, recorder, config(timeout=20))
        async with client:
            for step in (cluster.installing, cluster.installed):
                for name in NAMES:
                    kube.faults.drop_watches()
                    step(name)
                    for i in range(10):  # status noise that evicts the history
                        cluster.set_ready(name, *_same_state(step), observedGeneration=i)
                    await asyncio.sleep(0.01)
            result = await task
        assert watcher.lists > 1
    assert result.outcome == "ready"
    _assert_exact_sequences(recorder)


def _same_state(step: Any) -> tuple[str, str, str]:
    if step.__name__ == "installing":
        return ("Unknown", "Progressing", "Reconciliation in progress")
    return ("True", "InstallSucceeded", "")
