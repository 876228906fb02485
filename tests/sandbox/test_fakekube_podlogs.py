"""Pod logs: plain text, tailLines, and `follow` streams that end when the pod goes away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from catalyst_sandbox.fakekube import FakeKubeServer
from support.waiting import until

LOG = "/api/v1/namespaces/flux-system/pods/helm-controller-0/log"


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t") as server:
        server.state.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "helm-controller-0",
                    "namespace": "flux-system",
                    "labels": {"app": "helm-controller"},
                },
                "spec": {"containers": [{"name": "manager", "image": "helm-controller"}]},
                "status": {"phase": "Running"},
            }
        )
        for i in range(3):
            server.state.append_pod_log("flux-system", "helm-controller-0", f"line {i}")
        yield server


@pytest.fixture
async def http(kube: FakeKubeServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=kube.url, headers={"Authorization": "Bearer t"}, timeout=5
    ) as client:
        yield client


async def test_log_returns_all_lines_as_text(http: httpx.AsyncClient) -> None:
    resp = await http.get(LOG)
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == "line 0\nline 1\nline 2\n"
    assert (await http.get(LOG, params={"tailLines": 2})).text == "line 1\nline 2\n"
    stamped = (await http.get(LOG, params={"timestamps": "true", "tailLines": 1})).text
    assert stamped.endswith("Z line 2\n")


async def test_log_errors(kube: FakeKubeServer, http: httpx.AsyncClient) -> None:
    missing = await http.get("/api/v1/namespaces/flux-system/pods/nope/log")
    assert missing.status_code == 404
    assert missing.json()["reason"] == "NotFound"
    wrong = await http.get(LOG, params={"container": "sidecar"})
    assert wrong.status_code == 400


async def _follow(http: httpx.AsyncClient, params: dict[str, str], out: list[str]) -> None:
    async with http.stream("GET", LOG, params={"follow": "true", **params}) as resp:
        async for line in resp.aiter_lines():
            out.append(line)


async def _until(pred: object, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_follow_streams_appended_lines_and_ends_when_pod_is_deleted(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    lines: list[str] = []
    task = asyncio.create_task(_follow(http, {}, lines))
    await _until(lambda: len(lines) == 3)
    await asyncio.to_thread(
        kube.state.append_pod_log,
        "flux-system",
        "helm-controller-0",
        'level=info msg="reconcile" HelmRelease="flux-system/bp-cilium"',
    )
    await _until(lambda: len(lines) == 4)
    assert lines[3].endswith('HelmRelease="flux-system/bp-cilium"')
    kube.state.delete("v1", "Pod", "flux-system", "helm-controller-0")
    async with asyncio.timeout(3):
        await task
    assert lines[:3] == ["line 0", "line 1", "line 2"]


async def test_follow_with_tail_lines_zero_sends_only_new_lines(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    lines: list[str] = []
    task = asyncio.create_task(_follow(http, {"tailLines": "0"}, lines))
    await until(
        lambda: kube.state.logs.follower_count("flux-system", "helm-controller-0"),
        what="log followed",
    )
    kube.state.append_pod_log("flux-system", "helm-controller-0", "fresh")
    await _until(lambda: lines == ["fresh"])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
