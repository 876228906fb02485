"""The OpenAPI table entries of the infrastructure page and the dashboard treemap (spec §10),
merged into `openapi.OPERATIONS`."""

from __future__ import annotations

from ..infrastructure import CLAIM_KINDS
from .openapi import (
    ARRAY_OF_OBJECTS,
    JSON,
    STRING,
    Answer,
    Operation,
    RequestBody,
    Schema,
    _json,
    _obj,
    _path,
    _query,
)

__all__ = ["INFRA_OPERATIONS", "INFRA_SCHEMAS"]

BASE = "/api/v1/deployments/{dep_id}/infrastructure"
INT: Schema = {"type": ["integer", "null"], "minimum": -(2**63), "maximum": 2**63 - 1}
OPT: Schema = {"type": ["string", "null"]}
NEEDED: Schema = {"type": "string", "pattern": "\\S"}
"""A required field: checked after trimming, so at least one non-blank character."""


def _closed(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """A body object: unknown keys are a 400 `invalid-body` (keys match case-insensitively)."""
    return {**_obj(required, **properties), "additionalProperties": False}


INFRA_SCHEMAS: dict[str, Schema] = {
    "Topology": _obj(
        ("cloud", "topology", "storage"),
        cloud=ARRAY_OF_OBJECTS,
        topology=_obj(("pattern", "regions"), pattern=STRING, regions=ARRAY_OF_OBJECTS),
        storage=_obj(
            ("pvcs", "buckets", "volumes"),
            pvcs=ARRAY_OF_OBJECTS,
            buckets=ARRAY_OF_OBJECTS,
            volumes=ARRAY_OF_OBJECTS,
        ),
    ),
    "Submitted": _obj(
        ("jobId", "xrcKind", "xrcName", "status", "submittedAt"),
        jobId=STRING,
        xrcKind=STRING,
        xrcName=STRING,
        status={"enum": ["submitted-pending-composition", "already-absent"]},
        submittedAt=STRING,
        cascade=ARRAY_OF_OBJECTS,
    ),
    "RegionBody": _closed(
        ("region", "skuCP"),
        region=NEEDED,
        skuCP=NEEDED,
        skuWorker=OPT,
        workerCount=INT,
        provider=OPT,
    ),
    "ClusterBody": _closed(("name",), name=NEEDED, version=OPT, ha={"type": ["boolean", "null"]}),
    "VClusterBody": _closed(("name",), name=NEEDED, namespace=OPT, role=OPT),
    "PoolBody": _closed(("name",), name=NEEDED, role=OPT, sku=OPT, region=OPT, desiredSize=INT),
    "PoolPatch": {
        **_closed(desiredSize=INT, sku=OPT),
        "anyOf": [
            {"required": ["desiredSize"], "properties": {"desiredSize": {"type": "integer"}}},
            {"required": ["sku"], "properties": {"sku": NEEDED}},
        ],
        "description": "At least `desiredSize` or a non-blank `sku` (else 400 `no-fields`).",
    },
    "LoadBalancerBody": _closed(("name",), name=NEEDED, region=OPT, ports=OPT),
    "PeeringBody": _closed(("name",), name=NEEDED, vpcFrom=OPT, vpcTo=OPT, subnets=OPT),
    "FirewallRuleBody": _closed(
        ("direction", "protocol"),
        direction=NEEDED,
        protocol=NEEDED,
        port=OPT,
        sources=OPT,
        action=OPT,
    ),
}

DEP = _path("dep_id", "Deployment id.")
NOT_FOUND = _json('`{"error": "deployment-not-found", "detail": "no deployment with id <id>"}`.')
UNREACHABLE = _json(
    "`sovereign-cluster-unreachable` (no kubeconfig yet, or unreadable), `xrc-submit-failed` "
    "or `xrc-delete-failed` (the Sovereign's apiserver refused or failed)."
)
SUBMITTED = _json(
    "The claim was written (or deleted); follow `jobId` in the jobs view.", "Submitted"
)


def _body(schema: str, description: str) -> RequestBody:
    return RequestBody({JSON: {"$ref": f"#/components/schemas/{schema}"}}, True, description)


def _mutation(schema: str, required: str, *params: Schema) -> Operation:
    return Operation(
        body=_body(schema, f"At most 64 KiB. Required: {required}."),
        parameters=[DEP, *params],
        responses={
            202: SUBMITTED,
            400: _json(
                "`invalid-body` (undecodable, unknown field, wrong type, over 64 KiB) or a "
                "missing required field (`region-required`, `skuCP-required`, `name-required`, "
                "`direction-protocol-required`, `no-fields`)."
            ),
            404: NOT_FOUND,
            409: _json("`xrc-name-conflict`: a claim with that name exists (use PATCH)."),
            500: _json("`mutation-job-register-failed`."),
            503: UNREACHABLE,
        },
    )


def _read(description: str, schema: str | Schema = "Topology") -> Operation:
    return Operation(
        parameters=[DEP],
        responses={200: _json(description, schema), 404: NOT_FOUND},
    )


def _delete(*params: Schema) -> Operation:
    return Operation(
        parameters=[DEP, *params],
        responses={
            202: _json(
                "Deleted (foreground), or `status: already-absent`; `cascade` previews what "
                "goes with it.",
                "Submitted",
            ),
            400: _json("`unknown-kind`."),
            404: NOT_FOUND,
            500: _json("`mutation-job-register-failed`."),
            503: UNREACHABLE,
        },
    )


INFRA_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", f"{BASE}/topology"): _read(
        "Cloud tenant, pattern, regions → clusters → pools/nodes/LBs/vclusters, networks → "
        "peerings, storage; live parts from the k8scache (else the apiserver)."
    ),
    ("get", f"{BASE}/compute"): _read(
        "Legacy compute view.", _obj(("clusters", "nodes"), clusters=ARRAY_OF_OBJECTS)
    ),
    ("get", f"{BASE}/storage"): _read(
        "Legacy storage view (always empty arrays).",
        _obj(("pvcs", "buckets", "volumes"), pvcs=ARRAY_OF_OBJECTS),
    ),
    ("get", f"{BASE}/network"): _read(
        "Legacy network view.",
        _obj(("loadBalancers", "drgs", "peerings"), loadBalancers=ARRAY_OF_OBJECTS),
    ),
    ("post", f"{BASE}/regions"): _mutation("RegionBody", "`region`, `skuCP`"),
    ("post", f"{BASE}/regions/{{region_id}}/clusters"): _mutation(
        "ClusterBody", "`name`", _path("region_id", "Region id or name.")
    ),
    ("post", f"{BASE}/clusters/{{cluster_id}}/vclusters"): _mutation(
        "VClusterBody", "`name`", _path("cluster_id", "Cluster id.")
    ),
    ("post", f"{BASE}/clusters/{{cluster_id}}/pools"): _mutation(
        "PoolBody", "`name`", _path("cluster_id", "Cluster id.")
    ),
    ("patch", f"{BASE}/pools/{{pool_id}}"): _mutation(
        "PoolPatch", "`desiredSize` and/or `sku`", _path("pool_id", "Pool id.")
    ),
    ("post", f"{BASE}/loadbalancers"): _mutation("LoadBalancerBody", "`name`"),
    ("post", f"{BASE}/peerings"): _mutation("PeeringBody", "`name`"),
    ("post", f"{BASE}/firewalls/{{firewall_id}}/rules"): _mutation(
        "FirewallRuleBody", "`direction`, `protocol`", _path("firewall_id", "Firewall id.")
    ),
    ("post", f"{BASE}/nodes/{{node_id}}/{{action}}"): Operation(
        parameters=[
            DEP,
            _path("node_id", "Node id."),
            _path("action", "`cordon`, `drain` or `replace` (case-insensitive)."),
        ],
        responses={
            202: SUBMITTED,
            400: _json("`unsupported-action`."),
            404: NOT_FOUND,
            409: _json("`xrc-name-conflict`."),
            500: _json("`mutation-job-register-failed`."),
            503: UNREACHABLE,
        },
    ),
    ("delete", f"{BASE}/pools/{{pool_id}}"): _delete(_path("pool_id", "Pool id.")),
    ("delete", f"{BASE}/{{kind}}/{{resource_id}}"): _delete(
        {
            "name": "kind",
            "in": "path",
            "required": True,
            "schema": {"enum": [a for ck in CLAIM_KINDS for a in ck.aliases if a != "pools"]},
            "description": "A kind alias, case-insensitive (`pools` has its own path); any "
            "other is 400 `unknown-kind`.",
        },
        _path("resource_id", "The id the topology shows, its name, or the claim name."),
    ),
    ("get", "/api/v1/dashboard/treemap"): Operation(
        parameters=[
            _query("group_by", "Comma list of sovereign, cluster, family, namespace, application."),
            _query("color_by", "utilization (default), health or age."),
            _query("size_by", "cpu_limit (default), memory_limit, storage_limit, replica_count."),
            _query("deployment_id", "Only this Sovereign."),
        ],
        responses={
            200: Answer(
                "Computed from the k8scache's pods, PVCs, PodMetrics and HelmReleases; "
                "`items` is empty without live data.",
                {JSON: _obj(("items", "total_count"), items=ARRAY_OF_OBJECTS)},
            ),
            400: _json("`invalid-group-by`, `invalid-color-by` or `invalid-size-by`."),
        },
    ),
}
