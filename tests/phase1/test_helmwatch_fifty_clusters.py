"""Fifty Sovereigns at once: fifty fake apiservers, fifty watches, every rollout reported
exactly and every watch ending `ready`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from catalyst_api.kube import KubeClient
from catalyst_api.phase1 import HelmReleaseWatcher, Phase1Outcome, WatchConfig
from catalyst_sandbox.fakekube import FakeKubeServer

pytestmark = pytest.mark.timeout(90)  # fifty fake apiservers; the default is 15 s

CLUSTERS = 50
NAMES = [f"bp-c{i:02d}" for i in range(11)]


async def test_fifty_concurrent_watches_against_fifty_clusters_complete_correctly(
    config: Callable[..., WatchConfig], new_recorder: Any, flux_cluster_type: Any
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        kubes = [
            await stack.enter_async_context(FakeKubeServer(token=f"t{i}", bookmark_interval=1))
            for i in range(CLUSTERS)
        ]
        clusters = [flux_cluster_type(k) for k in kubes]
        for cluster in clusters:
            for name in NAMES:
                cluster.add(name)
        recorders = [new_recorder() for _ in clusters]
        cfg = config(timeout=30, log_tail=None)

        async def watch(cluster: Any, recorder: Any) -> Phase1Outcome:
            async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
                return await HelmReleaseWatcher(client, emit=recorder, config=cfg).run()

        async def rollout(cluster: Any, recorder: Any) -> None:
            deadline = time.monotonic() + 20
            while len(recorder.states()) < len(NAMES):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            for step in (cluster.installing, cluster.installed):
                for name in NAMES:
                    step(name)
                    await asyncio.sleep(0.002)
                # one connection drop per cluster between the two waves
                cluster.kube.faults.drop_watches()

        started = time.monotonic()
        pairs = list(zip(clusters, recorders, strict=True))
        watches = [asyncio.create_task(watch(c, r)) for c, r in pairs]
        await asyncio.gather(*(rollout(c, r) for c, r in pairs))
        results = await asyncio.wait_for(asyncio.gather(*watches), 25)
        elapsed = time.monotonic() - started
    assert elapsed < 25
    for result, recorder in zip(results, recorders, strict=True):
        assert result.outcome == "ready"
        assert result.states == {n[3:]: "installed" for n in NAMES}
        for name in NAMES:
            assert recorder.component(name[3:]) == ["pending", "installing", "installed"]
