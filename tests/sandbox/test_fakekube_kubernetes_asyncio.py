"""kubernetes_asyncio (the official generated client) against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import yaml
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import new_client_from_config_dict

from catalyst_sandbox.fakekube import FakeKubeServer

GROUP, VERSION, PLURAL = "helm.toolkit.fluxcd.io", "v2", "helmreleases"


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t0ken", history_limit=20) as server:
        yield server


@pytest.fixture
async def api(kube: FakeKubeServer) -> AsyncIterator[client.ApiClient]:
    api_client = await new_client_from_config_dict(yaml.safe_load(kube.kubeconfig_yaml()))
    async with api_client:
        yield api_client


async def test_core_create_list_with_selector_and_delete(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for name, app in (("a", "web"), ("b", "db")):
        await core.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=name, labels={"app": app}), data={"k": name}
            ),
        )
    listed = await core.list_namespaced_config_map("default", label_selector="app=web")
    assert [c.metadata.name for c in listed.items] == ["a"]
    assert int(listed.metadata.resource_version) > 0
    everywhere = await core.list_config_map_for_all_namespaces()
    assert {c.metadata.name for c in everywhere.items} == {"a", "b"}
    await core.delete_namespaced_config_map("b", "default")
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_config_map("b", "default")
    assert missing.value.status == 404


async def test_custom_objects_create_list_and_status(api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "HelmRelease",
        "metadata": {"name": "bp-cilium"},
        "spec": {"interval": "1m"},
    }
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, "flux-system", PLURAL, body
    )
    assert created["metadata"]["uid"]
    listed = await custom.list_namespaced_custom_object(GROUP, VERSION, "flux-system", PLURAL)
    assert listed["kind"] == "HelmReleaseList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["bp-cilium"]
    patched = await custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "flux-system",
        PLURAL,
        "bp-cilium",
        {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]
    )
    assert patched["status"]["conditions"][0]["status"] == "Unknown"


async def test_watch_core_and_custom_objects(kube: FakeKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    rv = str(kube.state.resource_version)
    kube.state.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w", "namespace": "default"}}
    )
    kube.state.create(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "HelmRelease",
            "metadata": {"name": "bp-w", "namespace": "flux-system"},
        }
    )
    async with asyncio.timeout(5):
        w = watch.Watch()
        async for event in w.stream(
            core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2
        ):
            assert (event["type"], event["object"].metadata.name) == ("ADDED", "w")
            w.stop()
        w2 = watch.Watch()
        async for event in w2.stream(
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            "flux-system",
            PLURAL,
            resource_version=rv,
            timeout_seconds=2,
        ):
            assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "bp-w")
            w2.stop()
        await w.close()
        await w2.close()


async def test_watch_with_expired_resource_version_raises_410(
    kube: FakeKubeServer, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    kube.state.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}
    )
    for i in range(30):
        kube.state.patch("v1", "ConfigMap", "default", "x", {"data": {"i": str(i)}})
    w = watch.Watch()

    async def drain() -> None:
        async with asyncio.timeout(5):
            stream = w.stream(
                core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=2
            )
            async for _ in stream:
                pass

    with pytest.raises(ApiException) as gone:
        await drain()
    assert gone.value.status == 410
    await w.close()
