"""Topology and the legacy views (spec §10.2, §11 "Dashboard / infrastructure"): derived from
the deployment record plus live reads of the Sovereign, every array a list."""

from __future__ import annotations

import time
from typing import Any

import pytest

from catalyst_api.infrastructure import xrc_name
from support.waiting import wait_for

from .conftest import Sovereign

pytestmark = pytest.mark.timeout(60)

READS = ("topology", "compute", "storage", "network")


def test_topology_follows_the_record(sovereign: Sovereign) -> None:
    got = sovereign.client.get(f"{sovereign.base}/topology")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    body = got.json()
    assert body["cloud"] == [
        {
            "id": "cloud-hetzner",
            "provider": "hetzner",
            "name": "hetzner",
            "projectID": "991",
            "status": "healthy",
        }
    ]
    topo = body["topology"]
    assert topo["pattern"] == "solo"
    (region,) = topo["regions"]
    assert region["id"] == "region-fsn1" and region["providerRegion"] == "fsn1"
    assert (region["skuCP"], region["skuWorker"], region["workerCount"]) == ("cpx31", "cpx41", 2)
    (cluster,) = region["clusters"]
    dep = sovereign.dep_id
    assert cluster["id"] == f"cluster-{dep}-fsn1"
    assert cluster["name"] == "k8s.acme.example" and cluster["version"] == "v1.30"
    assert [n["id"] for n in cluster["nodes"]] == ["node-cp-fsn1", "node-w-0-fsn1", "node-w-1-fsn1"]
    assert [n["name"] for n in cluster["nodes"]][1:] == ["worker-1-fsn1", "worker-2-fsn1"]
    assert cluster["nodes"][0]["ip"] == "203.0.113.10"
    assert cluster["nodeCount"] == 3
    assert [p["id"] for p in cluster["nodePools"]] == ["pool-cp-fsn1", "pool-worker-fsn1"]
    assert cluster["nodePools"][1]["desiredSize"] == 2
    assert cluster["loadBalancers"] == [
        {
            "id": f"lb-{dep}",
            "name": "k8s.acme.example",
            "publicIP": "203.0.113.20",
            "ports": "80,443,6443",
            "targetHealth": "—",
            "region": "fsn1",
            "status": "healthy",
        }
    ]
    assert cluster["vclusters"] == []
    assert region["networks"] == [
        {
            "id": f"net-fsn1-{dep}",
            "name": "vpc-fsn1",
            "cidr": "",
            "region": "fsn1",
            "peerings": [],
            "status": "healthy",
        }
    ]
    assert body["storage"] == {"pvcs": [], "buckets": [], "volumes": []}


@pytest.mark.parametrize(
    ("regions", "pattern"),
    [
        ([("fsn1", 1), ("hel1", 1)], "multi-region"),
        ([("fsn1", 3)], "ha-pair"),
        ([("fsn1", 0)], "solo"),
    ],
    ids=["two-regions", "three-workers", "one-region"],
)
def test_pattern_follows_the_regions(
    sovereign: Sovereign, regions: list[tuple[str, int]], pattern: str
) -> None:
    specs = [
        {
            "provider": "hetzner",
            "cloudRegion": r,
            "controlPlaneSize": "cpx31",
            "workerSize": "cpx41",
            "workerCount": n,
        }
        for r, n in regions
    ]
    dep = sovereign.create(postback=False, sovereignFQDN=f"{pattern}.acme.example", regions=specs)
    topo = sovereign.client.get(f"/api/v1/deployments/{dep}/infrastructure/topology").json()
    assert topo["topology"]["pattern"] == pattern
    assert [r["id"] for r in topo["topology"]["regions"]] == [f"region-{r}" for r, _ in regions]
    # without a kubeconfig the live parts are empty lists, the record parts still there
    assert topo["storage"]["pvcs"] == []


def test_no_load_balancer_without_an_ip(sovereign: Sovereign) -> None:
    sovereign.provisioner.lb_ip = ""
    dep = sovereign.create(postback=False, sovereignFQDN="nolb.acme.example")
    base = f"/api/v1/deployments/{dep}/infrastructure"
    topo = sovereign.client.get(f"{base}/topology").json()
    assert topo["topology"]["regions"][0]["clusters"][0]["loadBalancers"] == []
    assert sovereign.client.get(f"{base}/network").json() == {
        "loadBalancers": [],
        "drgs": [],
        "peerings": [],
    }


def test_legacy_views(sovereign: Sovereign) -> None:
    dep = sovereign.dep_id
    compute = sovereign.client.get(f"{sovereign.base}/compute").json()
    assert compute["clusters"] == [
        {
            "id": f"cluster-{dep}",
            "name": "k8s.acme.example",
            "controlPlane": "k3s",
            "version": "v1.30",
            "region": "fsn1",
            "nodeCount": 3,
            "status": "healthy",
        }
    ]
    assert [n["id"] for n in compute["nodes"]] == [
        f"node-cp-{dep}",
        f"node-w-0-{dep}",
        f"node-w-1-{dep}",
    ]
    assert [n["role"] for n in compute["nodes"]] == ["control-plane", "worker", "worker"]
    assert sovereign.client.get(f"{sovereign.base}/storage").json() == {
        "pvcs": [],
        "buckets": [],
        "volumes": [],
    }
    network = sovereign.client.get(f"{sovereign.base}/network").json()
    assert network["drgs"] == [] and network["peerings"] == []
    assert network["loadBalancers"][0]["publicIP"] == "203.0.113.20"


@pytest.mark.parametrize("view", READS)
def test_unknown_deployment_is_404_with_the_original_body(sovereign: Sovereign, view: str) -> None:
    got = sovereign.client.get(f"/api/v1/deployments/0123456789abcdef/infrastructure/{view}")
    assert got.status_code == 404
    assert got.json() == {
        "error": "deployment-not-found",
        "detail": "no deployment with id 0123456789abcdef",
    }


def test_live_pvcs_and_vclusters_come_from_the_sovereign(sovereign: Sovereign) -> None:
    state = sovereign.kube.state
    state.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-0", "namespace": "default"},
            "spec": {
                "storageClassName": "hcloud-volumes",
                "resources": {"requests": {"storage": "10Gi"}},
            },
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}},
        }
    )
    state.create(
        {
            "apiVersion": "vcluster.io/v1alpha1",
            "kind": "VCluster",
            "metadata": {
                "name": "dmz",
                "namespace": "default",
                "labels": {"catalyst.openova.io/role": "dmz"},
            },
            "status": {"phase": "Running"},
        }
    )

    def live() -> dict[str, Any] | None:
        topo = sovereign.client.get(f"{sovereign.base}/topology").json()
        return (
            topo
            if topo["storage"]["pvcs"]
            and topo["topology"]["regions"][0]["clusters"][0]["vclusters"]
            else None
        )

    topo = wait_for(live, timeout=15)
    (pvc,) = topo["storage"]["pvcs"]
    assert {
        k: pvc[k] for k in ("name", "namespace", "capacity", "used", "storageClass", "status")
    } == {
        "name": "data-0",
        "namespace": "default",
        "capacity": "10Gi",
        "used": "",
        "storageClass": "hcloud-volumes",
        "status": "Bound",
    }
    assert pvc["id"]  # the object's uid
    vc = topo["topology"]["regions"][0]["clusters"][0]["vclusters"]
    assert vc == [
        {
            "id": "vcluster-default-dmz",
            "name": "dmz",
            "namespace": "default",
            "role": "dmz",
            "status": "Running",
        }
    ]


def test_topology_answers_from_the_cache_with_the_apiserver_paused(sovereign: Sovereign) -> None:
    made = sovereign.client.post(
        f"{sovereign.base}/regions", json={"region": "hel1", "skuCP": "cpx31"}
    )
    assert made.status_code == 202
    name = xrc_name(sovereign.dep_id, "region", "hel1")
    cache = sovereign.server.services.extra["k8scache"]

    def cached() -> bool:
        view = cache.cluster(sovereign.dep_id)
        ix = view.indexers["regionclaim"] if view else None
        return bool(ix and ix.synced and any(o["metadata"]["name"] == name for o in ix.items()))

    wait_for(cached, timeout=15)
    sovereign.kube.faults.delay_seconds = 30.0  # every apiserver call now takes 30 s
    try:
        started = time.monotonic()
        topo = sovereign.client.get(f"{sovereign.base}/topology", timeout=10).json()
        elapsed = time.monotonic() - started
    finally:
        sovereign.kube.faults.clear()
    assert elapsed < 1.5, f"topology waited on the apiserver ({elapsed:.1f}s)"
    regions = {r["id"]: r for r in topo["topology"]["regions"]}
    assert regions["region-hel1"]["status"] == "pending"
