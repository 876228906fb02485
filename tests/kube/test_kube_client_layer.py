"""The kube client layer against the fake apiserver over real HTTP: building from kubeconfig
bytes, TLS per kubeconfig, lists, single watch streams, pod logs, error translation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml

from catalyst_api.kube import (
    HELMRELEASES,
    KubeClient,
    KubeConfigError,
    KubeConnectionError,
    KubeError,
    KubeExpired,
    KubeNotFound,
    KubeStatusError,
    ResourceRef,
    WatchEvent,
)
from catalyst_sandbox.fakekube import FakeKubeServer

HR = "helm.toolkit.fluxcd.io/v2"
TOKEN = "fake-token-0123456789"


def _hr(name: str) -> dict[str, Any]:
    return {
        "apiVersion": HR,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {},
    }


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token=TOKEN, bookmark_interval=0.1) as server:
        yield server


def _doc(server: FakeKubeServer) -> dict[str, Any]:
    return yaml.safe_load(server.kubeconfig_yaml())


async def _collect(stream: AsyncIterator[WatchEvent], n: int) -> list[WatchEvent]:
    out: list[WatchEvent] = []
    async for event in stream:
        if event.type != "BOOKMARK":
            out.append(event)
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("clusters"), "kubeconfig has no 'clusters' entries"),
        (lambda d: d.__setitem__("contexts", []), "kubeconfig has no 'contexts' entries"),
        (lambda d: d["clusters"][0]["cluster"].pop("server"), "no server URL"),
        (lambda d: d.__setitem__("current-context", "nope"), "Context 'nope' not found"),
        (lambda d: d.pop("current-context"), "No current context set"),
        (
            lambda d: d["users"][0]["user"].__setitem__("tokenFile", "/var/run/secrets/token"),
            "refers to a local file (tokenFile)",
        ),
        (
            lambda d: d["clusters"][0]["cluster"].__setitem__("certificate-authority", "/ca.crt"),
            "refers to a local file (certificate-authority)",
        ),
        (
            lambda d: d["users"][0]["user"].__setitem__("auth-provider", {"name": "gcp"}),
            "exec/auth-provider plugin",
        ),
    ],
    ids=[
        "no-clusters",
        "no-contexts",
        "no-server",
        "unknown-context",
        "no-current-context",
        "token-file",
        "ca-file",
        "auth-provider",
    ],
)
async def test_unusable_kubeconfigs_raise_config_errors_without_content(
    kube: FakeKubeServer, mutate: Any, message: str
) -> None:
    doc = _doc(kube)
    mutate(doc)
    with pytest.raises(KubeConfigError) as caught:
        KubeClient.from_kubeconfig(yaml.safe_dump(doc).encode())
    assert message in str(caught.value)
    assert TOKEN not in str(caught.value)


async def test_lists_return_plain_objects_and_the_list_resource_version(
    kube: FakeKubeServer,
) -> None:
    kube.state.create(_hr("bp-a"))
    kube.state.create(_hr("bp-b"))
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        listed = await client.list_objects(HELMRELEASES, namespace="flux-system")
        assert client.server == kube.url
    assert [o["metadata"]["name"] for o in listed.items] == ["bp-a", "bp-b"]
    assert all(type(o) is dict for o in listed.items)
    assert listed.resource_version == str(kube.state.resource_version)


async def test_api_failures_become_our_error_types(kube: FakeKubeServer) -> None:
    unknown = ResourceRef("example.com", "v1", "Widget", "widgets")
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        with pytest.raises(KubeNotFound) as not_found:
            await client.list_objects(unknown, namespace="default")
        kube.faults.fail_next(1, status=503)
        with pytest.raises(KubeStatusError) as unavailable:
            await client.list_objects(HELMRELEASES, namespace="flux-system")
    assert not_found.value.code == 404
    assert unavailable.value.code == 503 and unavailable.value.reason == "ServiceUnavailable"
    assert not issubclass(KubeError, OSError)


async def test_wrong_token_is_a_status_error(kube: FakeKubeServer) -> None:
    doc = _doc(kube)
    doc["users"][0]["user"]["token"] = "wrong"
    async with KubeClient.from_kubeconfig(yaml.safe_dump(doc).encode()) as client:
        with pytest.raises(KubeStatusError) as caught:
            await client.list_objects(HELMRELEASES, namespace="flux-system")
    assert caught.value.code == 401


async def test_closed_port_is_a_connection_error() -> None:
    async with FakeKubeServer(token=TOKEN) as gone:
        kubeconfig = gone.kubeconfig_yaml().encode()
    async with KubeClient.from_kubeconfig(kubeconfig) as client:
        with pytest.raises(KubeConnectionError):
            await client.list_objects(HELMRELEASES, namespace="flux-system")


async def test_tls_is_verified_against_the_kubeconfig_ca() -> None:
    async with FakeKubeServer(token=TOKEN, tls=True) as kube:
        kube.state.create(_hr("bp-a"))
        good = kube.kubeconfig_yaml().encode()
        async with KubeClient.from_kubeconfig(good, trust_env=False) as client:
            listed = await client.list_objects(HELMRELEASES, namespace="flux-system")
        assert len(listed.items) == 1

        untrusted = _doc(kube)
        del untrusted["clusters"][0]["cluster"]["certificate-authority-data"]
        async with KubeClient.from_kubeconfig(
            yaml.safe_dump(untrusted).encode(), trust_env=False
        ) as client:
            with pytest.raises(KubeConnectionError):
                await client.list_objects(HELMRELEASES, namespace="flux-system")

        insecure = _doc(kube)
        cluster = insecure["clusters"][0]["cluster"]
        del cluster["certificate-authority-data"]
        cluster["insecure-skip-tls-verify"] = True
        async with KubeClient.from_kubeconfig(yaml.safe_dump(insecure).encode()) as client:
            listed = await client.list_objects(HELMRELEASES, namespace="flux-system")
        assert len(listed.items) == 1


async def test_bad_ca_data_is_a_config_error(kube: FakeKubeServer) -> None:
    doc = _doc(kube)
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        b"not a certificate"
    ).decode()
    with pytest.raises(KubeConfigError):
        KubeClient.from_kubeconfig(yaml.safe_dump(doc).encode())


async def test_watch_stream_resumes_from_a_resource_version(kube: FakeKubeServer) -> None:
    kube.state.create(_hr("bp-a"))
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        listed = await client.list_objects(HELMRELEASES, namespace="flux-system")
        kube.state.create(_hr("bp-b"))
        kube.state.set_status(HR, "HelmRelease", "flux-system", "bp-a", {"x": 1})
        stream = client.watch(
            HELMRELEASES,
            namespace="flux-system",
            resource_version=listed.resource_version,
            timeout_seconds=5,
            inactivity=2,
        )
        async with contextlib.aclosing(stream):
            events = await _collect(stream, 2)
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [
        ("ADDED", "bp-b"),
        ("MODIFIED", "bp-a"),
    ]
    assert events[1].resource_version == str(kube.state.resource_version)


async def test_watch_bookmarks_carry_the_resume_point(kube: FakeKubeServer) -> None:
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        listed = await client.list_objects(HELMRELEASES, namespace="flux-system")
        kube.state.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        stream = client.watch(
            HELMRELEASES,
            namespace="flux-system",
            resource_version=listed.resource_version,
            timeout_seconds=5,
            inactivity=2,
        )
        async with contextlib.aclosing(stream):
            first = await anext(stream)
    assert first.type == "BOOKMARK"
    assert first.resource_version == str(kube.state.resource_version)


async def test_too_old_resource_version_raises_expired() -> None:
    async with FakeKubeServer(token=TOKEN, history_limit=3) as kube:
        for i in range(6):
            kube.state.create(_hr(f"bp-{i}"))
        async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
            stream = client.watch(
                HELMRELEASES,
                namespace="flux-system",
                resource_version="1",
                timeout_seconds=5,
                inactivity=2,
            )
            with pytest.raises(KubeExpired) as caught:
                async with contextlib.aclosing(stream):
                    await anext(stream)
    assert caught.value.code == 410


async def test_silent_watch_stream_is_a_connection_error() -> None:
    async with (
        FakeKubeServer(token=TOKEN, bookmark_interval=60) as kube,
        KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client,
    ):
        listed = await client.list_objects(HELMRELEASES, namespace="flux-system")
        stream = client.watch(
            HELMRELEASES,
            namespace="flux-system",
            resource_version=listed.resource_version,
            timeout_seconds=30,
            inactivity=0.3,
        )
        with pytest.raises(KubeConnectionError, match="silent"):
            async with contextlib.aclosing(stream):
                await anext(stream)


async def test_pods_and_log_follow(kube: FakeKubeServer) -> None:
    kube.state.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hc", "namespace": "flux-system", "labels": {"app": "hc"}},
            "spec": {"containers": [{"name": "manager", "image": "x"}]},
            "status": {"phase": "Running"},
        }
    )
    kube.state.append_pod_log("flux-system", "hc", "old")
    async with KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client:
        pods = await client.list_pods(namespace="flux-system", labels={"app": "hc"})
        assert [(p.name, p.phase, p.labels) for p in pods] == [("hc", "Running", {"app": "hc"})]
        assert await client.list_pods(namespace="flux-system", labels={"app": "none"}) == []
        lines: list[str] = []

        async def follow() -> None:
            async with contextlib.aclosing(client.follow_log("hc", namespace="flux-system")) as s:
                async for line in s:
                    lines.append(line)

        task = asyncio.create_task(follow())
        while not lines:
            kube.state.append_pod_log("flux-system", "hc", "new")
            await asyncio.sleep(0.02)
        kube.state.delete("v1", "Pod", "flux-system", "hc")
        await asyncio.wait_for(task, 2)  # the stream ends when the pod goes away
        with pytest.raises(KubeNotFound):
            async with contextlib.aclosing(client.follow_log("hc", namespace="flux-system")) as s:
                await anext(s)
    assert "old" not in lines and set(lines) == {"new"}
