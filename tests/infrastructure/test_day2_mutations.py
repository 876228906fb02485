"""Day-2 mutations (spec §10.2, §9.5): the claims they write, seen with kubectl on the
Sovereign's apiserver; every status and error code; the alias-correct DELETE; the audit job
and the claim's progress in the jobs view and on the event stream."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from catalyst_api.infrastructure import xrc_name
from support.waiting import wait_for

from .conftest import DAY2, Sovereign, cond

pytestmark = pytest.mark.timeout(60)

ROUTES: list[tuple[str, str, dict[str, Any], str, str]] = [
    # (method, path under infrastructure/, body, claim kind, name after <dep8>-)
    (
        "post",
        "regions",
        {"region": "hel1", "skuCP": "cpx31", "workerCount": 2},
        "RegionClaim",
        "region-hel1",
    ),
    (
        "post",
        "regions/region-fsn1/clusters",
        {"name": "edge", "ha": True},
        "ClusterClaim",
        "cluster-edge",
    ),
    (
        "post",
        "clusters/c1/vclusters",
        {"name": "DMZ", "role": "dmz"},
        "VClusterClaim",
        "vcluster-dmz",
    ),
    (
        "post",
        "clusters/c1/pools",
        {"name": "gpu", "sku": "ccx33", "desiredSize": 2},
        "NodePoolClaim",
        "pool-gpu",
    ),
    (
        "post",
        "loadbalancers",
        {"name": "public", "region": "fsn1", "ports": "443"},
        "LoadBalancerClaim",
        "lb-public",
    ),
    (
        "post",
        "peerings",
        {"name": "fsn-hel", "vpcFrom": "vpc-fsn1", "vpcTo": "vpc-hel1"},
        "PeeringClaim",
        "peering-fsn-hel",
    ),
    (
        "post",
        "firewalls/fw1/rules",
        {"direction": "in", "protocol": "tcp", "port": "22"},
        "FirewallRuleClaim",
        "fw-fw1-in-tcp-22",
    ),
    ("post", "nodes/node-w-0-fsn1/drain", {}, "NodeActionClaim", "drain-node-w-0-fsn1"),
    (
        "patch",
        "pools/pool-worker-fsn1",
        {"desiredSize": 4},
        "NodePoolClaim",
        "pool-pool-worker-fsn1",
    ),
]


def _send(sov: Sovereign, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    url = f"{sov.base}/{path}"
    if body is None:
        return sov.client.request(method, url, **kw)
    return sov.client.request(method, url, json=body, **kw)


@pytest.mark.parametrize(
    ("method", "path", "payload", "kind", "suffix"),
    ROUTES,
    ids=[r[3] + ":" + r[1] for r in ROUTES],
)
def test_each_route_writes_its_claim(
    sovereign: Sovereign, method: str, path: str, payload: dict[str, Any], kind: str, suffix: str
) -> None:
    got = _send(sovereign, method, path, payload)
    assert got.status_code == 202, got.text
    answer = got.json()
    name = f"{sovereign.dep_id[:8]}-{suffix}"
    assert answer["xrcKind"] == kind and answer["xrcName"] == name
    assert answer["status"] == "submitted-pending-composition"
    assert answer["jobId"].startswith(f"{sovereign.dep_id}:mutation-")
    assert answer["submittedAt"].endswith("Z")
    claim = sovereign.kubectl.json("get", f"{kind.lower()}s.infra.openova.io", name, "-n", DAY2)
    assert claim["apiVersion"] == "infra.openova.io/v1alpha1" and claim["kind"] == kind
    assert claim["metadata"]["labels"] == {
        "catalyst.openova.io/owner": "catalyst-api",
        "catalyst.openova.io/deployment-id": sovereign.dep_id,
    }
    assert claim["metadata"]["annotations"]["catalyst.openova.io/action"]


def test_region_claim_carries_spec_action_and_diff(sovereign: Sovereign) -> None:
    got = _send(
        sovereign,
        "post",
        "regions",
        {"region": "hel1", "skuCP": "cpx31", "skuWorker": "cpx41", "workerCount": 2},
    )
    assert got.status_code == 202
    name = xrc_name(sovereign.dep_id, "region", "hel1")
    claim = sovereign.kubectl.json("get", "regionclaims", name, "-n", DAY2)
    assert claim["spec"] == {
        "region": "hel1",
        "provider": "hetzner",
        "skuCP": "cpx31",
        "skuWorker": "cpx41",
        "workerCount": 2,
    }
    ann = claim["metadata"]["annotations"]
    assert ann["catalyst.openova.io/action"] == "add-region region=hel1 sku=cpx31 workers=2"
    assert ann["catalyst.openova.io/diff"] == (
        "+ region: hel1\n+   skuCP: cpx31\n+   skuWorker: cpx41\n+   workerCount: 2"
    )


def test_a_second_create_is_a_name_conflict(sovereign: Sovereign) -> None:
    body = {"region": "hel1", "skuCP": "cpx31"}
    assert _send(sovereign, "post", "regions", body).status_code == 202
    again = _send(sovereign, "post", "regions", body)
    assert again.status_code == 409
    name = xrc_name(sovereign.dep_id, "region", "hel1")
    assert again.json() == {
        "error": "xrc-name-conflict",
        "detail": f"an XRC with name {name} already exists",
    }


def test_patch_updates_an_existing_claim_in_place(sovereign: Sovereign) -> None:
    assert (
        _send(sovereign, "patch", "pools/pool-worker-fsn1", {"desiredSize": 4}).status_code == 202
    )
    again = _send(sovereign, "patch", "pools/pool-worker-fsn1", {"sku": "cpx51"})
    assert again.status_code == 202
    name = xrc_name(sovereign.dep_id, "pool", "pool-worker-fsn1")
    claim = sovereign.kubectl.json("get", "nodepoolclaims", name, "-n", DAY2)
    assert claim["spec"] == {"name": "pool-worker-fsn1", "desiredSize": 4, "sku": "cpx51"}
    assert claim["metadata"]["generation"] == 2
    topo = sovereign.client.get(f"{sovereign.base}/topology").json()
    pool = topo["topology"]["regions"][0]["clusters"][0]["nodePools"][1]
    assert (pool["id"], pool["desiredSize"], pool["sku"], pool["status"]) == (
        "pool-worker-fsn1",
        4,
        "cpx51",
        "pending",
    )


BAD_BODIES = [
    (
        "regions",
        b'{"region": "hel1", "skuCP": "x", "colour": 1}',
        "invalid-body",
        'json: unknown field "colour"',
    ),
    (
        "regions",
        b'{"region": "hel1", "skuCP": "x", "workerCount": "2"}',
        "invalid-body",
        "json: cannot unmarshal string into Go struct field createRegionBody.workerCount "
        "of type int",
    ),
    ("regions", b"", "invalid-body", "EOF"),
    (
        "regions",
        b"[]",
        "invalid-body",
        "json: cannot unmarshal array into Go value of type handler.createRegionBody",
    ),
    ("regions", b'{"skuCP": "x"}', "region-required", "region is required"),
    ("regions", b'{"region": " "}', "region-required", "region is required"),
    ("regions", b'{"region": "hel1"}', "skuCP-required", "skuCP is required"),
    ("regions/r/clusters", b"{}", "name-required", "cluster name is required"),
    ("clusters/c/vclusters", b'{"role": "dmz"}', "name-required", "vcluster name is required"),
    ("clusters/c/pools", b'{"sku": "x"}', "name-required", "pool name is required"),
    ("loadbalancers", b"{}", "name-required", "lb name is required"),
    ("peerings", b"{}", "name-required", "peering name is required"),
    (
        "firewalls/f/rules",
        b'{"direction": "in"}',
        "direction-protocol-required",
        "direction and protocol are required",
    ),
    (
        "clusters/c/pools",
        b'{"NAME": "gpu", "Sku": 3}',
        "invalid-body",
        "json: cannot unmarshal number into Go struct field createPoolBody.sku of type string",
    ),
]


@pytest.mark.parametrize(
    ("path", "raw", "code", "detail"),
    BAD_BODIES,
    ids=[f"{b[0]}:{b[2]}:{i}" for i, b in enumerate(BAD_BODIES)],
)
def test_bad_bodies_are_400_with_the_original_codes(
    sovereign: Sovereign, path: str, raw: bytes, code: str, detail: str
) -> None:
    got = sovereign.client.post(
        f"{sovereign.base}/{path}", content=raw, headers={"content-type": "application/json"}
    )
    assert got.status_code == 400
    assert got.json() == {"error": code, "detail": detail}
    assert sovereign.kubectl.json("get", "regionclaims", "-n", DAY2)["items"] == []


def test_patch_without_fields_and_a_bad_node_action(sovereign: Sovereign) -> None:
    got = _send(sovereign, "patch", "pools/p1", {})
    assert got.json() == {
        "error": "no-fields",
        "detail": "PATCH must include desiredSize and/or sku",
    }
    got = _send(sovereign, "patch", "pools/p1", {"desiredSize": None, "sku": " "})
    assert got.status_code == 400 and got.json()["error"] == "no-fields"
    bad = sovereign.client.post(f"{sovereign.base}/nodes/n1/reboot")
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "unsupported-action",
        "detail": "action must be cordon|drain|replace",
    }
    # the action is checked before the deployment: the original's order
    unknown = sovereign.client.post("/api/v1/deployments/ffffffffffffffff/infrastructure/nodes/n/x")
    assert unknown.status_code == 400
    ok = sovereign.client.post(f"{sovereign.base}/nodes/n1/CORDON")
    assert ok.status_code == 202 and ok.json()["xrcName"].endswith("-cordon-n1")


def test_a_body_over_64_kib_is_refused(sovereign: Sovereign) -> None:
    raw = json.dumps({"region": "hel1", "skuCP": "x" * (70 * 1024)}).encode()
    got = sovereign.client.post(
        f"{sovereign.base}/regions", content=raw, headers={"content-type": "application/json"}
    )
    assert got.status_code == 400
    assert got.json() == {"error": "invalid-body", "detail": "http: request body too large"}


def test_unknown_deployment_and_no_kubeconfig(sovereign: Sovereign) -> None:
    body = {"region": "hel1", "skuCP": "cpx31"}
    gone = sovereign.client.post(
        "/api/v1/deployments/0123456789abcdef/infrastructure/regions", json=body
    )
    assert gone.status_code == 404
    assert gone.json() == {
        "error": "deployment-not-found",
        "detail": "no deployment with id 0123456789abcdef",
    }
    dep = sovereign.create(postback=False, sovereignFQDN="waiting.acme.example")
    got = sovereign.client.post(f"/api/v1/deployments/{dep}/infrastructure/regions", json=body)
    assert got.status_code == 503
    assert got.json()["error"] == "sovereign-cluster-unreachable"
    assert "kubeconfig not yet posted back" in got.json()["detail"]
    delete = sovereign.client.delete(f"/api/v1/deployments/{dep}/infrastructure/regions/hel1")
    assert delete.status_code == 503
    assert delete.json()["error"] == "sovereign-cluster-unreachable"


def test_an_apiserver_failure_is_xrc_submit_failed_and_the_job_failed(sovereign: Sovereign) -> None:
    sovereign.kube.faults.fail_next(
        1, status=500, path_contains="namespaces/catalyst-day2/regionclaims"
    )
    got = _send(sovereign, "post", "regions", {"region": "hel1", "skuCP": "cpx31"})
    assert got.status_code == 503
    assert got.json()["error"] == "xrc-submit-failed"
    job = sovereign.client.get(
        f"/api/v1/deployments/{sovereign.dep_id}/jobs/mutation-add-region-hel1"
    ).json()
    assert job["job"]["status"] == "failed"
    lines = sovereign.client.get(
        f"/api/v1/actions/executions/{job['executions'][0]['id']}/logs"
    ).json()["lines"]
    assert lines[-1]["level"] == "ERROR"
    assert lines[-1]["message"].startswith("[xrc-submission-failed] ")


@pytest.mark.parametrize(
    ("create", "alias", "rid", "kind", "row_kind"),
    [
        (
            ("post", "regions", {"region": "hel1", "skuCP": "cpx31"}),
            "regions",
            "hel1",
            "RegionClaim",
            "region",
        ),
        (
            ("post", "clusters/c1/pools", {"name": "gpu", "desiredSize": 1}),
            "nodepool",
            "gpu",
            "NodePoolClaim",
            "pool",
        ),
        (
            ("post", "loadbalancers", {"name": "public", "region": "fsn1"}),
            "lb",
            "public",
            "LoadBalancerClaim",
            "lb",
        ),
        (
            ("post", "clusters/c1/pools", {"name": "gpu"}),
            "NodePools",
            "{name}",
            "NodePoolClaim",
            "pool",
        ),
    ],
    ids=["regions", "nodepool", "lb", "by-claim-name"],
)
def test_delete_through_any_alias_removes_the_claim_the_create_wrote(
    sovereign: Sovereign,
    create: tuple[str, str, dict[str, Any]],
    alias: str,
    rid: str,
    kind: str,
    row_kind: str,
) -> None:
    made = _send(sovereign, *create)
    assert made.status_code == 202
    name = made.json()["xrcName"]
    rid = rid.format(name=name)
    resource = f"{kind.lower()}s"
    assert sovereign.kubectl.json("get", resource, "-n", DAY2)["items"]
    got = sovereign.client.delete(f"{sovereign.base}/{alias}/{rid}")
    assert got.status_code == 202, got.text
    answer = got.json()
    assert (answer["xrcKind"], answer["xrcName"], answer["status"]) == (
        kind,
        name,
        "submitted-pending-composition",
    )
    assert sovereign.kubectl.json("get", resource, "-n", DAY2)["items"] == []
    # the preview found the resource the claim describes, not the generic fallback row
    assert answer["cascade"], answer
    assert all("no observable child resources" not in r.get("note", "") for r in answer["cascade"])
    assert answer["cascade"][0]["kind"] == row_kind or row_kind == "region"


def test_delete_of_a_record_region_previews_its_children(sovereign: Sovereign) -> None:
    got = sovereign.client.delete(f"{sovereign.base}/region/region-fsn1")
    assert got.status_code == 202
    answer = got.json()
    assert answer["status"] == "already-absent"  # no claim ever made this region
    kinds = [r["kind"] for r in answer["cascade"]]
    assert kinds == ["cluster", "nodePool", "nodePool", "node", "node", "node", "lb", "network"]
    assert answer["cascade"][0]["note"] == "cluster will drain + be reaped"


def test_delete_unknown_kind_and_absent(sovereign: Sovereign) -> None:
    bad = sovereign.client.delete(f"{sovereign.base}/buckets/b1")
    assert bad.status_code == 400
    assert bad.json() == {"error": "unknown-kind", "detail": "unsupported resource kind: buckets"}
    absent = sovereign.client.delete(f"{sovereign.base}/peerings/nope")
    assert absent.status_code == 202
    answer = absent.json()
    assert answer["status"] == "already-absent"
    assert answer["xrcName"] == xrc_name(sovereign.dep_id, "peering", "nope")
    assert answer["cascade"] == [
        {
            "kind": "peering",
            "id": "nope",
            "name": "nope",
            "note": "no observable child resources — proceeding will reap the underlying cloud "
            "resources",
        }
    ]


def _job(sov: Sovereign, name: str) -> dict[str, Any]:
    got = sov.client.get(f"/api/v1/deployments/{sov.dep_id}/jobs/{name}")
    assert got.status_code == 200, got.text
    return dict(got.json())


def _lines(sov: Sovereign, job: dict[str, Any]) -> list[str]:
    exec_id = job["job"]["latestExecutionId"]
    page = sov.client.get(f"/api/v1/actions/executions/{exec_id}/logs").json()
    return [line["message"] for line in page["lines"]]


def test_the_audit_job_follows_the_claim_to_ready(sovereign: Sovereign) -> None:
    assert (
        _send(sovereign, "post", "regions", {"region": "hel1", "skuCP": "cpx31"}).status_code == 202
    )
    name = xrc_name(sovereign.dep_id, "region", "hel1")
    job = _job(sovereign, "mutation-add-region-hel1")
    assert job["job"]["batchId"] == "day-2-mutations" and job["job"]["appId"] == "region"
    assert job["job"]["status"] == "pending"  # written, Crossplane has not picked it up
    assert _lines(sovereign, job)[:2] == [
        "[mutation-request] add-region region=hel1 sku=cpx31 workers=0 diff=+ region: hel1 "
        "+   skuCP: cpx31 +   skuWorker:  +   workerCount: 0",
        f"[xrc-submitted] kind=RegionClaim name={name} note=awaiting Crossplane Composition "
        "reconciliation",
    ]
    sovereign.kubectl.conditions("regionclaims", name, cond("Synced", "True", "ReconcileSuccess"))
    wait_for(lambda: _job(sovereign, "mutation-add-region-hel1")["job"]["status"] == "running")
    sovereign.kubectl.conditions(
        "regionclaims",
        name,
        cond("Synced", "True", "ReconcileSuccess"),
        cond("Ready", "True", "Available"),
    )
    wait_for(lambda: _job(sovereign, "mutation-add-region-hel1")["job"]["status"] == "succeeded")
    job = _job(sovereign, "mutation-add-region-hel1")
    assert job["executions"][0]["status"] == "succeeded"
    assert _lines(sovereign, job)[2:] == [
        f"[claim-synced] {name}: ReconcileSuccess",  # no Ready condition yet
        f"[claim-ready] {name}: Available",
    ]
    events = sovereign.client.get(f"/api/v1/deployments/{sovereign.dep_id}/events").json()
    infra = [e["message"] for e in events["events"] if e["phase"] == "infrastructure"]
    assert infra[0].startswith(f"RegionClaim {name}: submitted")
    assert infra[-1] == f"RegionClaim {name}: ready (Available)"
    topo = sovereign.client.get(f"{sovereign.base}/topology").json()
    assert {r["id"]: r["status"] for r in topo["topology"]["regions"]}["region-hel1"] == "healthy"


def test_a_failing_claim_fails_its_job_and_a_silent_one_stays_pending(sovereign: Sovereign) -> None:
    assert _send(sovereign, "post", "clusters/c1/pools", {"name": "bad"}).status_code == 202
    assert _send(sovereign, "post", "clusters/c1/pools", {"name": "quiet"}).status_code == 202
    bad = xrc_name(sovereign.dep_id, "pool", "bad")
    sovereign.kubectl.conditions(
        "nodepoolclaims", bad, cond("Synced", "False", "ReconcileError", "no such sku")
    )
    wait_for(lambda: _job(sovereign, "mutation-add-pool-bad")["job"]["status"] == "failed")
    job = _job(sovereign, "mutation-add-pool-bad")
    assert _lines(sovereign, job)[-1] == f"[claim-failed] {bad}: ReconcileError no such sku"
    assert _job(sovereign, "mutation-add-pool-quiet")["job"]["status"] == "pending"
    topo = sovereign.client.get(f"{sovereign.base}/topology").json()
    pools = {
        p["name"]: p["status"] for p in topo["topology"]["regions"][0]["clusters"][0]["nodePools"]
    }
    assert pools["bad"] == "failed" and pools["quiet"] == "pending"
    events = sovereign.client.get(f"/api/v1/deployments/{sovereign.dep_id}/events").json()
    failed = [
        e for e in events["events"] if e["phase"] == "infrastructure" and e["level"] == "error"
    ]
    assert failed and bad in failed[0]["message"]


def test_an_apiserver_failure_on_delete_is_xrc_delete_failed(sovereign: Sovereign) -> None:
    assert _send(sovereign, "post", "peerings", {"name": "p1"}).status_code == 202
    sovereign.kube.faults.fail_next(1, status=500, path_contains="namespaces/catalyst-day2/peering")
    got = sovereign.client.delete(f"{sovereign.base}/peerings/p1")
    assert got.status_code == 503
    assert got.json()["error"] == "xrc-delete-failed"
    assert _job(sovereign, "mutation-remove-peering-p1")["job"]["status"] == "failed"
    name = xrc_name(sovereign.dep_id, "peering", "p1")
    assert sovereign.kubectl.json("get", "peeringclaims", name, "-n", DAY2)["metadata"]["name"]


def test_an_unwritable_jobs_store_is_mutation_job_register_failed(sovereign: Sovereign) -> None:
    # `ready` is recorded only once the jobs view took Phase 1's events (deployments.runs), so
    # no late write of them can recreate the directory replaced below.
    jobs = sovereign.client.get(f"/api/v1/deployments/{sovereign.dep_id}/jobs").json()["jobs"]
    assert {(j["jobName"], j["status"]) for j in jobs} == {
        ("install-cilium", "succeeded"),
        ("install-cert-manager", "succeeded"),
        ("install-flux", "succeeded"),
    }
    jobs_dir = sovereign.server.services.settings.executions_dir / sovereign.dep_id
    shutil.rmtree(jobs_dir, ignore_errors=True)
    jobs_dir.write_text("not a directory")  # every write to this deployment's jobs now fails
    got = _send(sovereign, "post", "regions", {"region": "hel1", "skuCP": "cpx31"})
    assert got.status_code == 500
    assert got.json()["error"] == "mutation-job-register-failed"
    # nothing was written on the Sovereign for a change that has no audit trail
    assert sovereign.kubectl.json("get", "regionclaims", "-n", DAY2)["items"] == []


def test_a_restart_goes_on_following_open_claims(
    sovereign: Sovereign,
    start_server: Any,
    scripted_overrides: Any,
) -> None:
    assert _send(sovereign, "post", "loadbalancers", {"name": "edge"}).status_code == 202
    name = xrc_name(sovereign.dep_id, "lb", "edge")
    assert _job(sovereign, "mutation-add-lb-edge")["job"]["status"] == "pending"
    settings = sovereign.server.services.settings
    sovereign.server.stop()
    restarted = start_server(settings, scripted_overrides(sovereign.provisioner))
    sovereign.client.base_url = restarted.url
    sovereign.kubectl.conditions(
        "loadbalancerclaims", name, cond("Synced", "True"), cond("Ready", "True", "Available")
    )
    wait_for(lambda: _job(sovereign, "mutation-add-lb-edge")["job"]["status"] == "succeeded")
    assert _lines(sovereign, _job(sovereign, "mutation-add-lb-edge"))[-1] == (
        f"[claim-ready] {name}: Available"
    )
