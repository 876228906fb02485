"""The dashboard treemap (spec §10.1) computed from live data: its query contract, and its
grouping and percentages against a cluster whose pods are known."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from catalyst_api.errors import InvalidRequest
from catalyst_api.infrastructure import ClusterObjects, parse_query, render, workloads
from catalyst_api.infrastructure.treemap import parse_quantity
from support.waiting import wait_for

from .conftest import Sovereign

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _hr(name: str, target: str = "", release: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if target:
        spec["targetNamespace"] = target
    if release:
        spec["releaseName"] = release
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": spec,
    }


def _pod(
    name: str,
    ns: str,
    *,
    instance: str = "",
    cpu: str = "",
    mem: str = "",
    ready: bool = True,
    pvc: str = "",
    created: str = "2026-12-01T12:00:00Z",
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/instance": instance} if instance else {}
    limits = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}
    spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"limits": limits}}]}
    if pvc:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": pvc}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "creationTimestamp": created},
        "spec": spec,
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def _metrics(name: str, ns: str, cpu: str, mem: str = "0") -> dict[str, Any]:
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": ns},
        "containers": [{"name": "c", "usage": {"cpu": cpu, "memory": mem}}],
    }


def _known_cluster() -> ClusterObjects:
    """cilium: 2 ready pods (500m, 512Mi each) at 50% CPU; keycloak: 1 unready pod (1 CPU,
    1Gi, a 5Gi PVC), no metrics; kube-proxy: unmanaged, ready, 1 CPU; debug: unmanaged."""
    return ClusterObjects(
        "dep1",
        "k8s.acme.example",
        pods=[
            _pod(
                "cilium-a", "kube-system", instance="kube-system-bp-cilium", cpu="500m", mem="512Mi"
            ),
            _pod(
                "cilium-b", "kube-system", instance="kube-system-bp-cilium", cpu="0.5", mem="512Mi"
            ),
            _pod(
                "keycloak-0",
                "keycloak",
                instance="keycloak",
                cpu="1",
                mem="1Gi",
                ready=False,
                pvc="data-keycloak-0",
                created="2026-11-04T12:00:00Z",
            ),
            _pod("kube-proxy", "kube-system", cpu="1000m"),
            _pod("debug", "default", cpu="100m"),
        ],
        pvcs=[
            {
                "metadata": {"name": "data-keycloak-0", "namespace": "keycloak"},
                "spec": {"resources": {"requests": {"storage": "5Gi"}}},
            }
        ],
        metrics=[
            _metrics("cilium-a", "kube-system", "250m"),
            _metrics("cilium-b", "kube-system", "250000000n"),
        ],
        helmreleases=[
            _hr("bp-cilium", target="kube-system"),
            _hr("bp-keycloak", target="keycloak", release="keycloak"),
            _hr("not-a-kit-release", target="default"),
        ],
    )


def _render(**params: str) -> dict[str, Any]:
    return render(workloads([_known_cluster()]), parse_query(params), NOW)


def test_applications_flat_by_default() -> None:
    body = _render()
    assert body["total_count"] == 4
    by_id = {i["id"]: i for i in body["items"]}
    assert list(by_id) == ["unmanaged", "bp-keycloak", "bp-cilium"]
    # the two unmanaged workloads (default/debug, kube-system/kube-proxy) add up
    assert by_id["unmanaged"] == {
        "id": "unmanaged",
        "name": "unmanaged",
        "count": 2,
        "percentage": 100.0,
        "size_value": 1100.0,
    }
    assert by_id["bp-keycloak"] == {
        "id": "bp-keycloak",
        "name": "keycloak",
        "count": 1,
        "percentage": 0.0,
        "size_value": 1000.0,
    }
    assert by_id["bp-cilium"] == {
        "id": "bp-cilium",
        "name": "cilium",
        "count": 2,
        "percentage": 50.0,
        "size_value": 1000.0,
    }


def test_namespace_percentage_is_a_size_weighted_mean() -> None:
    items = {i["id"]: i for i in _render(group_by="namespace")["items"]}
    # kube-system: cilium (1000m at 50%) then kube-proxy (1000m, no metrics → health 100%)
    assert items["kube-system"] == {
        "id": "kube-system",
        "name": "kube-system",
        "count": 3,
        "percentage": 75.0,
        "size_value": 2000.0,
    }


def test_a_zero_size_first_row_keeps_its_percentage() -> None:
    items = {i["id"]: i for i in _render(group_by="namespace", size_by="storage_limit")["items"]}
    # kube-system's first workload has no storage: its percentage (50) stays, size 0 → omitted
    assert items["kube-system"] == {
        "id": "kube-system",
        "name": "kube-system",
        "count": 3,
        "percentage": 50.0,
    }
    assert items["keycloak"]["size_value"] == 5 * 2**30


def test_two_dimensions_nest_and_weight_the_parents() -> None:
    body = _render(group_by="family,application,namespace", color_by="health")
    parents = {p["id"]: p for p in body["items"]}
    assert list(parents) == ["other", "pilot", "spine"]
    assert parents["spine"]["name"] == "Spine"
    assert parents["spine"]["children"] == [
        {"id": "bp-cilium", "name": "cilium", "count": 2, "percentage": 100.0, "size_value": 1000.0}
    ]
    other = parents["other"]
    assert other["count"] == 2 and other["size_value"] == 1100.0
    assert other["percentage"] == 100.0
    assert parents["pilot"]["percentage"] == 0.0
    assert all("children" not in c for p in body["items"] for c in p["children"])
    assert body["total_count"] == 4


def test_memory_replicas_and_age() -> None:
    mem = {i["id"]: i for i in _render(size_by="memory_limit")["items"]}
    assert mem["bp-cilium"]["size_value"] == 2 * 512 * 2**20
    assert "size_value" not in mem["unmanaged"]  # no memory limits → omitted
    reps = {i["id"]: i for i in _render(size_by="replica_count")["items"]}
    assert reps["bp-keycloak"]["count"] == 0 and "size_value" not in reps["bp-keycloak"]
    assert reps["bp-cilium"]["count"] == 2 and reps["bp-cilium"]["size_value"] == 2.0
    age = {i["id"]: i for i in _render(color_by="age")["items"]}
    assert age["bp-keycloak"]["percentage"] == 100.0  # 30 days old
    assert age["bp-cilium"]["percentage"] == 10.0  # 3 days
    for body in (_render(color_by=c) for c in ("utilization", "health", "age")):
        assert all(0 <= i["percentage"] <= 100 for i in body["items"])


@pytest.mark.parametrize(
    ("params", "code", "detail"),
    [
        ({"group_by": "application,planet"}, "invalid-group-by", "unsupported dimension: planet"),
        ({"group_by": ","}, "invalid-group-by", "unsupported dimension: "),
        ({"color_by": "mood"}, "invalid-color-by", "unsupported color metric: mood"),
        ({"size_by": "weight"}, "invalid-size-by", "unsupported size metric: weight"),
    ],
)
def test_bad_queries(params: dict[str, str], code: str, detail: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_query(params)
    assert err.value.body() == {"error": code, "detail": detail}


def test_defaults_and_quantities() -> None:
    q = parse_query({"group_by": " family , namespace "})
    assert q.group_by == ("family", "namespace") and q.color_by == "utilization"
    assert parse_query({}).size_by == "cpu_limit"
    assert [parse_quantity(v) for v in ("250m", "1.5", "512Mi", "1e3", "2k", "x", "")] == [
        0.25,
        1.5,
        512 * 2**20,
        1000.0,
        2000.0,
        0.0,
        0.0,
    ]


def test_no_live_data_is_an_empty_list_never_the_fixture() -> None:
    assert render(workloads([]), parse_query({})) == {"items": [], "total_count": 0}


def test_treemap_over_http_from_the_cache(sovereign: Sovereign) -> None:
    client, state = sovereign.client, sovereign.kube.state
    state.create(_hr("bp-cilium", target="kube-system"))
    for pod in _known_cluster().pods[:2]:
        state.create(pod)

    def ready() -> dict[str, Any] | None:
        body = client.get(
            "/api/v1/dashboard/treemap", params={"deployment_id": sovereign.dep_id}
        ).json()
        done = [i for i in body["items"] if i["id"] == "bp-cilium" and i["count"] == 2]
        return body if done else None

    body = wait_for(ready, timeout=15)
    assert body == {
        "items": [
            {
                "id": "bp-cilium",
                "name": "cilium",
                "count": 2,
                "percentage": 100.0,
                "size_value": 1000.0,
            }
        ],
        "total_count": 1,
    }  # no PodMetrics on this cluster: colored by health
    by_sovereign = client.get(
        "/api/v1/dashboard/treemap", params={"group_by": "sovereign,namespace"}
    ).json()
    assert by_sovereign["items"][0]["id"] == f"sovereign-{sovereign.dep_id}"
    assert by_sovereign["items"][0]["name"] == "k8s.acme.example"
    other = client.get("/api/v1/dashboard/treemap", params={"deployment_id": "nope"})
    assert other.json() == {"items": [], "total_count": 0}
    bad = client.get("/api/v1/dashboard/treemap", params={"size_by": "x"})
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid-size-by", "detail": "unsupported size metric: x"}
