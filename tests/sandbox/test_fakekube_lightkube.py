"""lightkube's async client against the fake, over real HTTP and HTTPS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import pytest
import yaml
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import OnErrorAction, OnErrorResult, PatchType

from catalyst_sandbox.fakekube import FakeKubeServer
from support.waiting import until

HelmRelease = create_namespaced_resource(
    "helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases"
)
HR_API = "helm.toolkit.fluxcd.io/v2"


def _field(obj: Any, name: str) -> Any:
    """An attribute of a lightkube model (its optional fields are typed `X | None`)."""
    value = getattr(obj, name)
    assert value is not None
    return value


def _name(obj: Any) -> str:
    return str(_field(obj, "metadata").name)


def _client(kube: FakeKubeServer) -> AsyncClient:
    config = KubeConfig.from_dict(yaml.safe_load(kube.kubeconfig_yaml()))
    return AsyncClient(config)


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t0ken") as server:
        yield server


@pytest.fixture
async def client(kube: FakeKubeServer) -> AsyncIterator[AsyncClient]:
    c = _client(kube)
    yield c
    await c.close()


def _hr(name: str, **labels: str) -> Any:
    return HelmRelease(
        metadata=ObjectMeta(name=name, namespace="flux-system", labels=labels),
        spec={"interval": "1m", "chart": {"spec": {"chart": name}}},
    )


async def _collect(stream: AsyncIterable[tuple[str, Any]], count: int) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    async with asyncio.timeout(5):
        async for event in stream:
            out.append(event)
            if len(out) == count:
                break
    return out


async def test_helmrelease_create_get_list_and_status_patch(client: AsyncClient) -> None:
    created = await client.create(_hr("bp-cilium"))
    assert created.metadata is not None
    assert created.metadata.uid
    assert created.metadata.generation == 1
    got = await client.get(HelmRelease, "bp-cilium", namespace="flux-system")
    assert _field(got, "spec")["chart"]["spec"]["chart"] == "bp-cilium"
    await client.create(_hr("bp-cert-manager"))
    names = [_name(hr) async for hr in client.list(HelmRelease, namespace="*")]
    assert names == ["bp-cert-manager", "bp-cilium"]
    ready = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "InstallSucceeded",
                "message": "Helm install succeeded",
            }
        ]
    }
    patched = await client.patch(
        HelmRelease.Status,
        "bp-cilium",
        {"status": ready},
        namespace="flux-system",
        patch_type=PatchType.MERGE,
    )
    assert _field(patched, "status")["conditions"][0]["status"] == "True"
    assert _field(patched, "metadata").generation == 1


async def test_pods_and_configmaps_with_label_selector_and_chunked_list(
    client: AsyncClient,
) -> None:
    for i in range(5):
        await client.create(
            ConfigMap(
                metadata=ObjectMeta(
                    name=f"cm{i}", namespace="default", labels={"even": str(i % 2 == 0)}
                ),
                data={"i": str(i)},
            )
        )
    pod = Pod(
        metadata=ObjectMeta(
            name="helm-controller-0", namespace="flux-system", labels={"app": "helm-controller"}
        ),
        spec=PodSpec(containers=[Container(name="manager", image="x")]),
    )
    await client.create(pod)
    even = [
        _name(c) async for c in client.list(ConfigMap, namespace="default", labels={"even": "True"})
    ]
    assert even == ["cm0", "cm2", "cm4"]
    chunked = client.list(ConfigMap, namespace="default", chunk_size=2)
    assert [_name(c) async for c in chunked] == [f"cm{i}" for i in range(5)]
    pods = [
        p
        async for p in client.list(Pod, namespace="flux-system", labels={"app": "helm-controller"})
    ]
    assert _field(pods[0], "status").phase == "Pending"


async def test_watch_resumes_from_a_resource_version(
    kube: FakeKubeServer, client: AsyncClient
) -> None:
    await client.create(_hr("bp-a"))
    listing = client.list(HelmRelease, namespace="flux-system")
    assert [_name(h) async for h in listing] == ["bp-a"]
    kube.state.create(
        {
            "apiVersion": HR_API,
            "kind": "HelmRelease",
            "metadata": {"name": "bp-b", "namespace": "flux-system"},
        }
    )
    stream = client.watch(
        HelmRelease, namespace="flux-system", resource_version=listing.resourceVersion
    )
    events = await _collect(stream, 1)
    assert [(t, _name(o)) for t, o in events] == [("ADDED", "bp-b")]


async def test_watch_continues_transparently_after_drop_watches(
    kube: FakeKubeServer, client: AsyncClient
) -> None:
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async for etype, obj in client.watch(HelmRelease, namespace="flux-system"):
            seen.append((etype, _name(obj)))

    task = asyncio.create_task(consume())
    await until(lambda: kube.state.open_watches() >= 1, what="watch connected")
    kube.state.create(
        {
            "apiVersion": HR_API,
            "kind": "HelmRelease",
            "metadata": {"name": "bp-1", "namespace": "flux-system"},
        }
    )
    async with asyncio.timeout(3):
        while len(seen) < 1:
            await asyncio.sleep(0.01)
    kube.faults.drop_watches()
    kube.state.create(
        {
            "apiVersion": HR_API,
            "kind": "HelmRelease",
            "metadata": {"name": "bp-2", "namespace": "flux-system"},
        }
    )
    async with asyncio.timeout(3):
        while len(seen) < 2:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert seen == [("ADDED", "bp-1"), ("ADDED", "bp-2")]


async def test_expired_resource_version_raises_410_and_retry_relists() -> None:
    async with FakeKubeServer(token="t", history_limit=3) as kube:
        client = _client(kube)
        first = kube.state.create(
            {
                "apiVersion": HR_API,
                "kind": "HelmRelease",
                "metadata": {"name": "bp-a", "namespace": "flux-system"},
            }
        )
        for i in range(5):
            kube.state.patch(HR_API, "HelmRelease", "flux-system", "bp-a", {"spec": {"i": i}})
        old = first["metadata"]["resourceVersion"]
        with pytest.raises(ApiError) as gone:
            await _collect(
                client.watch(HelmRelease, namespace="flux-system", resource_version=old), 1
            )
        assert gone.value.status.code == 410
        assert gone.value.status.reason == "Expired"

        def retry(exc: Exception, count: int) -> OnErrorResult:
            return OnErrorResult(OnErrorAction.RETRY if count < 3 else OnErrorAction.RAISE)

        events = await _collect(
            client.watch(
                HelmRelease, namespace="flux-system", resource_version=old, on_error=retry
            ),
            1,
        )
        assert events[0][0] == "ADDED"
        assert events[0][1].spec == {"i": 4}
        await client.close()


async def test_server_side_apply_and_delete(client: AsyncClient) -> None:
    applied = await client.apply(_hr("bp-applied"), field_manager="catalyst")
    assert _field(applied, "metadata").resourceVersion
    again = await client.apply(_hr("bp-applied"), field_manager="catalyst")
    assert _field(again, "metadata").uid == _field(applied, "metadata").uid
    await client.delete(HelmRelease, "bp-applied", namespace="flux-system")
    with pytest.raises(ApiError) as missing:
        await client.get(HelmRelease, "bp-applied", namespace="flux-system")
    assert missing.value.status.code == 404


async def test_follow_pod_log(kube: FakeKubeServer, client: AsyncClient) -> None:
    kube.state.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hc", "namespace": "flux-system"},
            "spec": {"containers": [{"name": "manager", "image": "x"}]},
        }
    )
    kube.state.append_pod_log("flux-system", "hc", "before")
    lines: list[str] = []

    async def follow() -> None:
        async for line in client.log("hc", namespace="flux-system", follow=True, tail_lines=0):
            lines.append(line)

    task = asyncio.create_task(follow())
    await until(lambda: kube.state.logs.follower_count("flux-system", "hc"), what="log followed")
    kube.state.append_pod_log("flux-system", "hc", "after")
    kube.state.delete("v1", "Pod", "flux-system", "hc")
    async with asyncio.timeout(3):
        await task
    assert lines == ["after\n"]


async def test_tls_mode_with_ca_in_kubeconfig() -> None:
    async with FakeKubeServer(token="t", tls=True) as kube:
        assert kube.url.startswith("https://127.0.0.1:")
        assert "certificate-authority-data" in kube.kubeconfig_yaml()
        client = _client(kube)
        await client.create(_hr("bp-tls"))
        got = await client.get(HelmRelease, "bp-tls", namespace="flux-system")
        assert _field(got, "metadata").uid
        await client.close()


async def test_wrong_token_is_rejected_with_401() -> None:
    async with FakeKubeServer(token="right") as kube:
        config = yaml.safe_load(kube.kubeconfig_yaml())
        config["users"][0]["user"]["token"] = "wrong"
        client = AsyncClient(KubeConfig.from_dict(config))
        with pytest.raises(ApiError) as denied:
            await client.get(HelmRelease, "x", namespace="flux-system")
        assert denied.value.status.code == 401
        await client.close()
