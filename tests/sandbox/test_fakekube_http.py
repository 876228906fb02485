"""The fake's HTTP surface as raw clients see it: discovery, CRUD, Status errors, lists."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from catalyst_sandbox.fakekube import FakeKubeServer

HR_PATH = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases"
CM_PATH = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t0ken") as server:
        yield server


@pytest.fixture
async def http(kube: FakeKubeServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=kube.url, headers={"Authorization": "Bearer t0ken"}
    ) as client:
        yield client


def _hr(name: str) -> dict[str, object]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name},
        "spec": {"interval": "1m"},
    }


async def test_wrong_or_missing_token_gets_401_status(kube: FakeKubeServer) -> None:
    async with httpx.AsyncClient(base_url=kube.url) as anon:
        missing = await anon.get("/api/v1/pods")
        wrong = await anon.get("/api/v1/pods", headers={"Authorization": "Bearer nope"})
        health = await anon.get("/healthz")
    for resp in (missing, wrong):
        assert resp.status_code == 401
        assert resp.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    assert health.text == "ok"


async def test_discovery_lists_core_apps_and_flux_groups(http: httpx.AsyncClient) -> None:
    assert (await http.get("/api")).json()["versions"] == ["v1"]
    groups = {g["name"]: g for g in (await http.get("/apis")).json()["groups"]}
    assert {
        "apps",
        "apiextensions.k8s.io",
        "authorization.k8s.io",
        "helm.toolkit.fluxcd.io",
        "kustomize.toolkit.fluxcd.io",
        "source.toolkit.fluxcd.io",
    } <= set(groups)
    assert groups["helm.toolkit.fluxcd.io"]["preferredVersion"]["version"] == "v2"
    core = {r["name"]: r for r in (await http.get("/api/v1")).json()["resources"]}
    assert {
        "pods",
        "pods/log",
        "pods/status",
        "configmaps",
        "secrets",
        "services",
        "nodes",
        "namespaces",
        "serviceaccounts",
    } <= set(core)
    assert core["nodes"]["namespaced"] is False
    flux = (await http.get("/apis/helm.toolkit.fluxcd.io/v2")).json()
    hr = next(r for r in flux["resources"] if r["name"] == "helmreleases")
    assert (hr["kind"], hr["shortNames"], hr["namespaced"]) == ("HelmRelease", ["hr"], True)
    assert (await http.get("/version")).json()["major"] == "1"
    assert (await http.get("/apis/nope.example/v1")).status_code == 404


async def test_created_crd_shows_up_in_discovery_and_serves_objects(
    http: httpx.AsyncClient,
) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.io"},
        "spec": {
            "group": "example.io",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                }
            ],
        },
    }
    created = await http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    assert created.status_code == 201
    conditions = {c["type"]: c["status"] for c in created.json()["status"]["conditions"]}
    assert conditions["Established"] == "True"
    groups = [g["name"] for g in (await http.get("/apis")).json()["groups"]]
    assert "example.io" in groups
    path = "/apis/example.io/v1alpha1/namespaces/default/widgets"
    made = await http.post(
        path,
        json={"apiVersion": "example.io/v1alpha1", "kind": "Widget", "metadata": {"name": "w1"}},
    )
    assert made.status_code == 201
    assert (await http.get(f"{path}/w1/status")).json()["metadata"]["name"] == "w1"


async def test_crud_statuses_and_error_bodies(http: httpx.AsyncClient) -> None:
    created = await http.post(HR_PATH, json=_hr("bp-a"))
    assert created.status_code == 201
    obj = created.json()
    assert obj["metadata"]["namespace"] == "flux-system"
    dup = await http.post(HR_PATH, json=_hr("bp-a"))
    assert dup.status_code == 409
    assert dup.json()["reason"] == "AlreadyExists"
    nameless = await http.post(HR_PATH, json={**_hr(""), "metadata": {}})
    assert nameless.status_code == 422
    assert nameless.json()["reason"] == "Invalid"
    missing = await http.get(f"{HR_PATH}/nope")
    assert missing.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'helmreleases.helm.toolkit.fluxcd.io "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "helm.toolkit.fluxcd.io", "kind": "helmreleases"},
        "code": 404,
    }
    obj["spec"]["interval"] = "2m"
    put = await http.put(f"{HR_PATH}/bp-a", json=obj)
    assert put.status_code == 200
    assert put.json()["metadata"]["generation"] == 2
    stale = await http.put(f"{HR_PATH}/bp-a", json=obj)
    assert stale.status_code == 409
    assert stale.json()["reason"] == "Conflict"
    deleted = await http.delete(f"{HR_PATH}/bp-a")
    assert deleted.status_code == 200
    assert (await http.get(f"{HR_PATH}/bp-a")).status_code == 404


async def test_patch_content_types(http: httpx.AsyncClient) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "b:1"},
            ]
        },
    }
    await http.post("/api/v1/namespaces/default/pods", json=pod)
    url = "/api/v1/namespaces/default/pods/p"
    smp = await http.patch(
        url,
        json={"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    containers = smp.json()["spec"]["containers"]
    assert [c["name"] for c in containers] == ["a", "b"]
    assert containers[0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    merge = await http.patch(
        url,
        json={"metadata": {"labels": {"app": "x"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge.json()["metadata"]["labels"] == {"app": "x"}
    jp = await http.patch(
        url,
        json=[{"op": "replace", "path": "/metadata/labels/app", "value": "y"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert jp.json()["metadata"]["labels"] == {"app": "y"}
    status = await http.patch(
        f"{url}/status",
        json={"status": {"phase": "Running"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status.json()["status"]["phase"] == "Running"
    applied = await http.patch(
        "/api/v1/namespaces/default/configmaps/applied?fieldManager=test",
        content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n",
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert applied.status_code == 201
    assert applied.json()["data"] == {"k": "v"}
    hr_smp = await http.patch(
        f"{HR_PATH}/x", json={}, headers={"Content-Type": "application/strategic-merge-patch+json"}
    )
    assert hr_smp.status_code == 415


async def test_list_kind_items_and_all_namespaces(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.state.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    for ns in ("default", "other"):
        await http.post(
            f"/api/v1/namespaces/{ns}/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{ns}"}},
        )
    body = (await http.get("/api/v1/configmaps")).json()
    assert body["kind"] == "ConfigMapList"
    assert body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) == kube.state.resource_version
    assert [(i["kind"], i["metadata"]["name"]) for i in body["items"]] == [
        ("ConfigMap", "cm-default"),
        ("ConfigMap", "cm-other"),
    ]
    scoped = (await http.get(CM_PATH)).json()["items"]
    assert [i["metadata"]["name"] for i in scoped] == ["cm-default"]
    hrs = (await http.get("/apis/helm.toolkit.fluxcd.io/v2/helmreleases")).json()
    assert hrs["kind"] == "HelmReleaseList"
    assert hrs["items"] == []


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web,tier!=db", ["a"]),
        ("tier in (db,cache)", ["b", "c"]),
        ("tier notin (db)", ["a", "c", "d"]),
        ("tier", ["a", "b", "c"]),
        ("!tier", ["d"]),
    ],
)
async def test_label_selectors(
    kube: FakeKubeServer, http: httpx.AsyncClient, selector: str, expected: list[str]
) -> None:
    labels = {
        "a": {"app": "web", "tier": "fe"},
        "b": {"app": "web", "tier": "db"},
        "c": {"tier": "cache"},
        "d": {},
    }
    for name, lab in labels.items():
        kube.state.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "default", "labels": lab},
            }
        )
    resp = await http.get(CM_PATH, params={"labelSelector": selector})
    assert [i["metadata"]["name"] for i in resp.json()["items"]] == expected


async def test_field_selectors(kube: FakeKubeServer, http: httpx.AsyncClient) -> None:
    for name, phase in (("p1", "Running"), ("p2", "Pending")):
        kube.state.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "status": {"phase": phase},
                "metadata": {"name": name, "namespace": "flux-system"},
            }
        )

    async def names(fs: str) -> list[str]:
        items = (await http.get("/api/v1/pods", params={"fieldSelector": fs})).json()["items"]
        return [i["metadata"]["name"] for i in items]

    assert await names("status.phase=Running") == ["p1"]
    assert await names("status.phase!=Running") == ["p2"]
    assert await names("metadata.name==p2,metadata.namespace=flux-system") == ["p2"]
    bad = await http.get("/api/v1/pods", params={"fieldSelector": "spec.bogus=1"})
    assert bad.status_code == 400
    assert bad.json()["reason"] == "BadRequest"


async def test_limit_and_continue_page_a_consistent_snapshot(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    for i in range(5):
        kube.state.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c{i}", "namespace": "default"},
            }
        )
    first = (await http.get(CM_PATH, params={"limit": 2})).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["c0", "c1"]
    assert first["metadata"]["remainingItemCount"] == 3
    kube.state.delete("v1", "ConfigMap", "default", "c3")
    kube.state.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c9", "namespace": "default"},
        }
    )
    names: list[str] = []
    token = first["metadata"]["continue"]
    while token:
        page = (await http.get(CM_PATH, params={"limit": 2, "continue": token})).json()
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
    assert names == ["c2", "c3", "c4"]
    garbage = await http.get(CM_PATH, params={"continue": "!!not-a-token"})
    assert garbage.status_code == 400


async def test_expired_continue_token_is_410(http: httpx.AsyncClient) -> None:
    async with (
        FakeKubeServer(token="t", history_limit=3) as small,
        httpx.AsyncClient(base_url=small.url, headers={"Authorization": "Bearer t"}) as client,
    ):
        for i in range(3):
            small.state.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"c{i}", "namespace": "default"},
                }
            )
        first = (await client.get(CM_PATH, params={"limit": 1})).json()
        for i in range(5):
            small.state.patch("v1", "ConfigMap", "default", "c0", {"data": {"i": str(i)}})
        resp = await client.get(CM_PATH, params={"continue": first["metadata"]["continue"]})
        assert resp.status_code == 410
        assert resp.json()["reason"] == "Expired"


async def test_subject_access_review_without_policy_allows(http: httpx.AsyncClient) -> None:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": "bob", "resourceAttributes": {"verb": "delete", "resource": "pods"}},
    }
    resp = await http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
    assert resp.status_code == 201
    assert resp.json()["status"]["allowed"] is True


async def test_subject_access_review_policy_allows_and_denies() -> None:
    policy = {
        "users": {
            "alice": [
                {
                    "verbs": ["get", "list"],
                    "groups": [""],
                    "resources": ["pods", "pods/log"],
                    "namespaces": ["default"],
                }
            ]
        }
    }
    async with (
        FakeKubeServer(token="t", sar_policy=policy) as kube,
        httpx.AsyncClient(base_url=kube.url, headers={"Authorization": "Bearer t"}) as client,
    ):

        async def decide(user: str, **attrs: str) -> dict[str, object]:
            body = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {"user": user, "resourceAttributes": attrs},
            }
            resp = await client.post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews", json=body
            )
            status: dict[str, object] = resp.json()["status"]
            return status

        assert (await decide("alice", verb="get", resource="pods", namespace="default"))[
            "allowed"
        ] is True
        assert (
            await decide(
                "alice", verb="get", resource="pods", subresource="log", namespace="default"
            )
        )["allowed"] is True
        denied = await decide("alice", verb="delete", resource="pods", namespace="default")
        assert denied["allowed"] is False
        assert denied["denied"] is True
        assert denied["reason"]
        assert (await decide("alice", verb="get", resource="pods", namespace="kube-system"))[
            "allowed"
        ] is False
        assert (await decide("mallory", verb="get", resource="pods", namespace="default"))[
            "allowed"
        ] is False
        invalid = await client.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews", json={"spec": {"user": "x"}}
        )
        assert invalid.status_code == 422


async def test_fail_next_injects_500_then_recovers(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.faults.fail_next(2, path_contains="/configmaps")
    assert (await http.get("/api/v1/pods")).status_code == 200
    first, second = await http.get(CM_PATH), await http.get(CM_PATH)
    assert (first.status_code, second.status_code) == (500, 500)
    assert first.json()["reason"] == "InternalError"
    assert (await http.get(CM_PATH)).status_code == 200


async def test_fail_next_429_carries_retry_after(
    kube: FakeKubeServer, http: httpx.AsyncClient
) -> None:
    kube.faults.fail_next(1, status=429, retry_after=2)
    resp = await http.get(CM_PATH)
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "2"
    assert resp.json()["reason"] == "TooManyRequests"
    assert resp.json()["details"] == {"retryAfterSeconds": 2}


async def test_delay_slows_every_response(kube: FakeKubeServer, http: httpx.AsyncClient) -> None:
    kube.faults.delay_seconds = 0.2
    started = time.monotonic()
    await http.get("/version")
    assert time.monotonic() - started >= 0.2


async def test_kubeconfig_file_is_private(kube: FakeKubeServer, tmp_path: object) -> None:
    from pathlib import Path

    path = kube.write_kubeconfig(Path(str(tmp_path)) / "kc.yaml")
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert kube.url in text
    assert "t0ken" in text
