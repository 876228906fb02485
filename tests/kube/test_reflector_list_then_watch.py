"""Reflector: list, watch from the list's resourceVersion, resume after drops, list again on
410, retry failures with backoff and remember the last error."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from catalyst_api.kube import HELMRELEASES, Changed, KubeClient, Listed, Reflector, WatchTiming
from catalyst_sandbox.fakekube import FakeKubeServer

HR = "helm.toolkit.fluxcd.io/v2"
FAST = WatchTiming(server_timeout=30, inactivity=5, backoff_initial=0.02, backoff_max=0.1)


def _hr(name: str) -> dict[str, Any]:
    return {
        "apiVersion": HR,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {},
    }


class Feed:
    """Runs a reflector in the background and records what it yields."""

    def __init__(self, reflector: Reflector) -> None:
        self.reflector = reflector
        self.items: list[Listed | Changed] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        events = self.reflector.events()
        async with contextlib.aclosing(events):
            async for item in events:
                self.items.append(item)

    def changes(self) -> list[tuple[str, str, Any]]:
        return [
            (c.type, c.object["metadata"]["name"], (c.object.get("status") or {}).get("n"))
            for c in self.items
            if isinstance(c, Changed)
        ]

    async def until(self, predicate: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 5
        while not predicate():
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t", history_limit=10, bookmark_interval=0.1) as server:
        yield server


def _bump(kube: FakeKubeServer, name: str, n: int) -> None:
    kube.state.set_status(HR, "HelmRelease", "flux-system", name, {"n": n})


async def test_first_item_is_the_initial_list_then_changes_follow(kube: FakeKubeServer) -> None:
    kube.state.create(_hr("bp-a"))
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        feed = Feed(Reflector(client, HELMRELEASES, namespace="flux-system", timing=FAST))
        await feed.until(lambda: len(feed.items) == 1)
        first = feed.items[0]
        assert isinstance(first, Listed) and first.initial
        assert [o["metadata"]["name"] for o in first.items] == ["bp-a"]
        _bump(kube, "bp-a", 1)
        kube.state.delete(HR, "HelmRelease", "flux-system", "bp-a")
        await feed.until(lambda: len(feed.changes()) == 2)
        await feed.stop()
    assert feed.changes() == [("MODIFIED", "bp-a", 1), ("DELETED", "bp-a", 1)]


async def test_dropped_watches_resume_without_listing_again(kube: FakeKubeServer) -> None:
    kube.state.create(_hr("bp-a"))
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        reflector = Reflector(client, HELMRELEASES, namespace="flux-system", timing=FAST)
        feed = Feed(reflector)
        await feed.until(lambda: len(feed.items) == 1)
        for n in range(1, 8):
            kube.faults.drop_watches(abort=n % 2 == 0)
            _bump(kube, "bp-a", n)
            await asyncio.sleep(0.01)
        await feed.until(lambda: len(feed.changes()) == 7)
        await feed.stop()
    assert [n for _, _, n in feed.changes()] == list(range(1, 8))
    assert reflector.lists == 1
    assert reflector.watches > 1


async def test_expired_resume_lists_again(kube: FakeKubeServer) -> None:
    kube.state.create(_hr("bp-a"))
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        reflector = Reflector(client, HELMRELEASES, namespace="flux-system", timing=FAST)
        feed = Feed(reflector)
        await feed.until(lambda: len(feed.items) == 1)
        kube.faults.drop_watches()
        for n in range(1, 21):  # more changes than the server's history keeps
            _bump(kube, "bp-a", n)
        await feed.until(lambda: reflector.lists == 2)
        await feed.stop()
    relisted = feed.items[-1]
    assert isinstance(relisted, Listed) and not relisted.initial
    assert relisted.items[0]["status"] == {"n": 20}


async def test_failures_are_retried_and_remembered(kube: FakeKubeServer) -> None:
    kube.state.create(_hr("bp-a"))
    kube.faults.fail_next(3, status=500, path_contains="helmreleases")
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        reflector = Reflector(client, HELMRELEASES, namespace="flux-system", timing=FAST)
        feed = Feed(reflector)
        await feed.until(lambda: len(feed.items) == 1)
        await feed.stop()
    assert reflector.last_error is not None
    assert "500" in str(reflector.last_error)
