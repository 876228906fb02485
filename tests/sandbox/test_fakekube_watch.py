"""Watch semantics over real HTTP: initial state, resume, 410, bookmarks, selectors, drops."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from catalyst_sandbox.fakekube import FakeKubeServer
from support.waiting import until

CM = "/api/v1/namespaces/default/configmaps"
Event = dict[str, Any]


def _cm(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
    }


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t", bookmark_interval=0.1) as server:
        yield server


@pytest.fixture
async def http(kube: FakeKubeServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=kube.url, headers={"Authorization": "Bearer t"}, timeout=10
    ) as client:
        yield client


class Watcher:
    """A watch request read in the background; `events` fills as lines arrive."""

    def __init__(self, http: httpx.AsyncClient, path: str, **params: Any) -> None:
        self.events: list[Event] = []
        self.ended = asyncio.Event()
        self.task = asyncio.create_task(self._run(http, path, params))

    async def _run(self, http: httpx.AsyncClient, path: str, params: dict[str, Any]) -> None:
        try:
            async with http.stream("GET", path, params=params) as resp:
                async for line in resp.aiter_lines():
                    if line:
                        self.events.append(json.loads(line))
        finally:
            self.ended.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"saw only {self.events}"
            await asyncio.sleep(0.01)
        return self.events

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _summary(events: list[Event]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


async def test_watch_without_resource_version_sends_current_objects_as_added(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.state.create(_cm("a"))
    kube.state.create(_cm("b"))
    watcher = Watcher(http, CM, watch="true")
    await watcher.wait_for(2)
    kube.state.patch("v1", "ConfigMap", "default", "a", {"data": {"k": "v"}})
    kube.state.delete("v1", "ConfigMap", "default", "b")
    events = await watcher.wait_for(4)
    assert _summary(events) == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert events[0]["object"]["kind"] == "ConfigMap"
    assert events[0]["object"]["apiVersion"] == "v1"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events[2:]]
    assert rvs == [kube.state.resource_version - 1, kube.state.resource_version]
    await watcher.close()


@pytest.mark.parametrize("flag", ["true", "True", "1"])
async def test_watch_flag_spellings(
    kube: FakeKubeServer, http: httpx.AsyncClient, flag: str
) -> None:
    kube.state.create(_cm("a"))
    watcher = Watcher(http, CM, watch=flag)
    assert _summary(await watcher.wait_for(1)) == [("ADDED", "a")]
    await watcher.close()


async def test_legacy_watch_path(kube: FakeKubeServer, http: httpx.AsyncClient) -> None:
    kube.state.create(_cm("a"))
    watcher = Watcher(http, "/api/v1/watch/namespaces/default/configmaps")
    assert _summary(await watcher.wait_for(1)) == [("ADDED", "a")]
    await watcher.close()


async def test_watch_from_resource_version_replays_only_later_changes(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.state.create(_cm("old"))
    listed = (await http.get(CM)).json()
    kube.state.create(_cm("new"))
    kube.state.create({**_cm("elsewhere"), "metadata": {"name": "x", "namespace": "kube-system"}})
    watcher = Watcher(http, CM, watch="1", resourceVersion=listed["metadata"]["resourceVersion"])
    assert _summary(await watcher.wait_for(1)) == [("ADDED", "new")]
    await asyncio.sleep(0.1)
    assert len(watcher.events) == 1
    await watcher.close()


async def test_all_namespaces_watch_of_helmreleases(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    watcher = Watcher(http, "/apis/helm.toolkit.fluxcd.io/v2/helmreleases", watch="true")
    await until(lambda: kube.state.open_watches() >= 1, what="watch connected")
    kube.state.create(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "bp-a", "namespace": "flux-system"},
        }
    )
    events = await watcher.wait_for(1)
    assert events[0]["object"]["kind"] == "HelmRelease"
    await watcher.close()


async def test_too_old_resource_version_gets_410_expired_error_event() -> None:
    async with (
        FakeKubeServer(token="t", history_limit=5) as kube,
        httpx.AsyncClient(base_url=kube.url, headers={"Authorization": "Bearer t"}) as http,
    ):
        first = kube.state.create(_cm("a"))["metadata"]["resourceVersion"]
        for i in range(10):
            kube.state.patch("v1", "ConfigMap", "default", "a", {"data": {"i": str(i)}})
        resp = await http.get(CM, params={"watch": "true", "resourceVersion": first})
        assert resp.status_code == 200
        lines = [json.loads(line) for line in resp.text.splitlines() if line]
        assert len(lines) == 1
        assert lines[0]["type"] == "ERROR"
        status = lines[0]["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
        recent = str(kube.state.resource_version - 2)
        ok = Watcher(http, CM, watch="true", resourceVersion=recent)
        assert [e["type"] for e in await ok.wait_for(2)] == ["MODIFIED", "MODIFIED"]
        await ok.close()


async def test_bookmarks_carry_only_the_latest_resource_version(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    rv = str(kube.state.resource_version)
    watcher = Watcher(http, CM, watch="true", resourceVersion=rv, allowWatchBookmarks="true")
    await watcher.wait_for(1)
    assert watcher.events[0] == {
        "type": "BOOKMARK",
        "object": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": rv}},
    }
    kube.state.create(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}}
    )
    deadline = time.monotonic() + 3
    while watcher.events[-1]["object"]["metadata"]["resourceVersion"] == rv:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert {e["type"] for e in watcher.events} == {"BOOKMARK"}
    assert watcher.events[-1]["object"]["metadata"]["resourceVersion"] == str(
        kube.state.resource_version
    )
    await watcher.close()


async def test_send_initial_events_ends_with_marked_bookmark(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.state.create(_cm("a"))
    watcher = Watcher(
        http,
        CM,
        watch="true",
        sendInitialEvents="true",
        resourceVersionMatch="NotOlderThan",
        allowWatchBookmarks="true",
    )
    events = await watcher.wait_for(2)
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    await watcher.close()


async def test_timeout_seconds_ends_the_watch_cleanly(http: httpx.AsyncClient) -> None:
    started = time.monotonic()
    resp = await http.get(
        CM, params={"watch": "true", "timeoutSeconds": "1", "resourceVersion": "1"}
    )
    elapsed = time.monotonic() - started
    assert resp.status_code == 200
    assert resp.text == ""
    assert 0.9 <= elapsed < 30  # the upper bound only catches a watch that never ends


async def test_label_selector_watch_turns_matching_changes_into_added_and_deleted(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.state.create(_cm("a", app="other"))
    watcher = Watcher(http, CM, watch="true", labelSelector="app=web")
    await until(lambda: kube.state.open_watches() >= 1, what="watch connected")
    kube.state.patch("v1", "ConfigMap", "default", "a", {"metadata": {"labels": {"app": "web"}}})
    kube.state.patch("v1", "ConfigMap", "default", "a", {"data": {"x": "1"}})
    kube.state.patch("v1", "ConfigMap", "default", "a", {"metadata": {"labels": {"app": "x"}}})
    kube.state.patch("v1", "ConfigMap", "default", "a", {"data": {"x": "2"}})
    kube.state.create(_cm("b", app="web"))
    events = await watcher.wait_for(4)
    assert _summary(events) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a"), ("ADDED", "b")]
    await watcher.close()


async def test_field_selector_watch_on_pod_phase(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.state.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "status": {"phase": "Pending"},
            "metadata": {"name": "p", "namespace": "default"},
        }
    )
    watcher = Watcher(http, "/api/v1/pods", watch="true", fieldSelector="status.phase=Running")
    await until(lambda: kube.state.open_watches() >= 1, what="watch connected")
    kube.state.set_status("v1", "Pod", "default", "p", {"phase": "Running"})
    kube.state.set_status("v1", "Pod", "default", "p", {"phase": "Succeeded"})
    assert _summary(await watcher.wait_for(2)) == [("ADDED", "p"), ("DELETED", "p")]
    await watcher.close()


async def test_writes_from_another_thread_wake_watchers(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    watcher = Watcher(http, CM, watch="true")
    await until(lambda: kube.state.open_watches() >= 1, what="watch connected")
    await asyncio.to_thread(kube.state.create, _cm("threaded"))
    assert _summary(await watcher.wait_for(1)) == [("ADDED", "threaded")]
    await watcher.close()


async def test_drop_watches_ends_streams_and_resume_loses_and_duplicates_nothing(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    seen: list[tuple[str, str, str]] = []
    last_rv = str(kube.state.resource_version)
    reconnects = 0

    async def consume() -> None:
        nonlocal last_rv, reconnects
        while True:
            params = {"watch": "true", "resourceVersion": last_rv}
            try:
                async with http.stream("GET", CM, params=params) as resp:
                    async for line in resp.aiter_lines():
                        if line:
                            ev = json.loads(line)
                            meta = ev["object"]["metadata"]
                            seen.append((ev["type"], meta["name"], meta["resourceVersion"]))
                            last_rv = meta["resourceVersion"]
            except httpx.RemoteProtocolError:
                pass
            reconnects += 1

    expected: list[tuple[str, str, str]] = []

    async def produce() -> None:
        for i in range(60):
            made = await asyncio.to_thread(kube.state.create, _cm(f"c{i}"))
            expected.append(("ADDED", f"c{i}", made["metadata"]["resourceVersion"]))
            if i % 3 == 0:
                patched = kube.state.patch(
                    "v1", "ConfigMap", "default", f"c{i}", {"data": {"k": "v"}}
                )
                expected.append(("MODIFIED", f"c{i}", patched["metadata"]["resourceVersion"]))
            if i % 10 == 5:
                kube.faults.drop_watches(abort=(i % 20 == 5))
            await asyncio.sleep(0.002)

    consumer = asyncio.create_task(consume())
    await until(lambda: kube.state.open_watches() >= 1, what="watch connected")
    await produce()
    deadline = time.monotonic() + 5
    while len(seen) < len(expected):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    assert seen == expected
    assert reconnects >= 6
