"""The Sovereign Infrastructure page's data (spec §10.2), as pure functions of the deployment
record and what was read live.

From the record: cloud tenant, pattern, one region per `regions[]` entry (or the legacy
singular region) with its cluster, control-plane + worker pools and nodes, the load balancer
(only with an IP) and the region's network. Live: vcluster.io vclusters, PVCs, peering claims,
and — beyond the original — the Day-2 claims this service wrote, so a change shows up on the
page while Crossplane composes it: a new region, cluster, node pool (with the nodes it
brought), vcluster or load balancer appears with its claim's status (`pending` until Ready,
`healthy`, or `failed`); a PATCH of an existing pool shows its new size. Claim-derived rows use
the claim name as `id`, so a DELETE of that id removes exactly that claim. Every array is a list.
"""

from __future__ import annotations

from typing import Any

from ..deployments import Deployment, Status
from ..provisioner import RegionSpec
from .claims import LABEL_NODE_POOL, claim_phase
from .live import LiveData

__all__ = [
    "compute_view",
    "deployment_status",
    "first_provider",
    "network_view",
    "storage_view",
    "topology",
]

Obj = dict[str, Any]


def deployment_status(dep: Deployment) -> str:
    """ready → healthy, failed → failed, anything else → unknown."""
    return {Status.READY: "healthy", Status.FAILED: "failed"}.get(dep.status, "unknown")


def first_provider(dep: Deployment) -> str:
    regions = dep.request.regions
    return regions[0].provider if regions and regions[0].provider else "hetzner"


def _region_specs(dep: Deployment) -> list[RegionSpec]:
    req = dep.request
    if req.regions:
        return list(req.regions)
    if req.region:
        return [
            RegionSpec(
                provider=first_provider(dep),
                cloud_region=req.region,
                control_plane_size=req.control_plane_size,
                worker_size=req.worker_size,
                worker_count=req.worker_count,
            )
        ]
    return []


def _pattern(dep: Deployment) -> str:
    regions = dep.request.regions
    if len(regions) > 1:
        return "multi-region"
    if len(regions) == 1:
        return "ha-pair" if regions[0].worker_count >= 3 else "solo"
    return "solo" if dep.request.region else "unknown"


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _object_status(obj: Obj) -> str:
    """status.phase, else the Ready condition (True → healthy, else its reason), else unknown."""
    status = obj.get("status")
    if not isinstance(status, dict):
        return "unknown"
    if _str(status.get("phase")):
        return _str(status.get("phase"))
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return "healthy" if cond.get("status") == "True" else _str(cond.get("reason")).lower()
    return "unknown"


def _vcluster_role(labels: dict[str, str]) -> str:
    return labels.get("catalyst.openova.io/role") or labels.get("building-block") or "other"


def _vclusters(live: LiveData) -> list[Obj]:
    out = []
    for item in live.vclusters:
        meta = _meta(item)
        ns, name = _str(meta.get("namespace")), _str(meta.get("name"))
        out.append(
            {
                "id": f"vcluster-{ns}-{name}",
                "name": name,
                "namespace": ns,
                "role": _vcluster_role(meta.get("labels") or {}),
                "status": _object_status(item),
            }
        )
    return out


def _claim_status(obj: Obj) -> str:
    return claim_phase(obj, generation=_int(_meta(obj).get("generation"))).topology_status


def _peering(obj: Obj) -> Obj:
    spec = _spec(obj)
    pair = _str(spec.get("vpcPair"))
    if not pair and (spec.get("vpcFrom") or spec.get("vpcTo")):
        pair = f"{_str(spec.get('vpcFrom'))}/{_str(spec.get('vpcTo'))}"
    return {
        "id": _str(_meta(obj).get("name")),
        "name": _str(spec.get("name")) or _str(_meta(obj).get("name")),
        "vpcPair": pair,
        "subnets": _str(spec.get("subnets")),
        "status": _claim_status(obj),
    }


def _node_row(node: Obj, *, pool_id: str, sku: str, region: str, fallback: str) -> Obj:
    meta = _meta(node)
    labels = meta.get("labels") or {}
    status = _dict(node.get("status"))
    ip = ""
    for addr in status.get("addresses") or []:
        if isinstance(addr, dict) and addr.get("type") == "InternalIP":
            ip = _str(addr.get("address"))
            break
    ready = ""
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            ready = _str(cond.get("status"))
    return {
        "id": _str(meta.get("name")),
        "name": _str(meta.get("name")),
        "sku": labels.get("node.kubernetes.io/instance-type") or sku,
        "region": labels.get("topology.kubernetes.io/region") or region,
        "role": "worker",
        "ip": ip,
        "status": {"True": "healthy", "False": "degraded"}.get(ready, fallback),
        "nodePoolID": pool_id,
    }


def _cluster(dep: Deployment, rs: RegionSpec, status: str, vclusters: list[Obj]) -> Obj:
    r, dep_id = rs.cloud_region, dep.id
    fqdn = dep.request.sovereign_fqdn
    result = dep.result
    cp_ip = result.control_plane_ip if result else ""
    nodes: list[Obj] = [
        {
            "id": f"node-cp-{r}" if r else f"node-cp-{dep_id}",
            "name": f"control-plane-{r}",
            "sku": rs.control_plane_size,
            "region": r,
            "role": "control-plane",
            "ip": cp_ip,
            "status": status,
            "nodePoolID": f"pool-cp-{r}",
        }
    ]
    for i in range(rs.worker_count):
        nodes.append(
            {
                "id": f"node-w-{i}-{r}" if r else f"node-w-{i}-{dep_id}",
                "name": f"worker-{i + 1}-{r}",
                "sku": rs.worker_size,
                "region": r,
                "role": "worker",
                "ip": "",
                "status": status,
                "nodePoolID": f"pool-worker-{r}",
            }
        )
    pools: list[Obj] = [
        {
            "id": f"pool-cp-{r}",
            "name": f"control-plane-{r}",
            "role": "control-plane",
            "sku": rs.control_plane_size,
            "region": r,
            "desiredSize": 1,
            "currentSize": 1,
            "status": status,
        }
    ]
    if rs.worker_count > 0:
        pools.append(
            {
                "id": f"pool-worker-{r}",
                "name": f"worker-{r}",
                "role": "worker",
                "sku": rs.worker_size,
                "region": r,
                "desiredSize": rs.worker_count,
                "currentSize": rs.worker_count,
                "status": status,
            }
        )
    lbs: list[Obj] = []
    if result is not None and result.load_balancer_ip:
        lbs.append(
            {
                "id": f"lb-{dep_id}",
                "name": fqdn or "ingress-lb",
                "publicIP": result.load_balancer_ip,
                "ports": "80,443,6443",
                "targetHealth": "—",
                "region": r,
                "status": status,
            }
        )
    return {
        "id": f"cluster-{dep_id}-{r}" if r else f"cluster-{dep_id}",
        "name": fqdn or f"cluster-{dep_id[:8]}",
        "version": "v1.30",
        "status": status,
        "nodeCount": len(nodes),
        "vclusters": [dict(v) for v in vclusters],
        "loadBalancers": lbs,
        "nodePools": pools,
        "nodes": nodes,
    }


def _region(dep: Deployment, rs: RegionSpec, status: str, vclusters: list[Obj]) -> Obj:
    r = rs.cloud_region
    return {
        "id": f"region-{r}",
        "name": r,
        "provider": rs.provider or "hetzner",
        "providerRegion": r,
        "skuCP": rs.control_plane_size,
        "skuWorker": rs.worker_size,
        "workerCount": rs.worker_count,
        "status": status,
        "clusters": [_cluster(dep, rs, status, vclusters)],
        "networks": [
            {
                "id": f"net-{r}-{dep.id}" if r else f"net-{dep.id}",
                "name": f"vpc-{r}",
                "cidr": "",
                "region": r,
                "peerings": [],
                "status": status,
            }
        ],
    }


class _Placer:
    """Finds where a claim-derived row goes: regions by id/name, clusters by id/name."""

    def __init__(self, regions: list[Obj]) -> None:
        self.regions = regions

    def region(self, key: str) -> Obj | None:
        for rg in self.regions:
            if key and key in (rg["id"], rg["name"], rg["providerRegion"]):
                return rg
        return None

    def clusters(self) -> list[tuple[Obj, Obj]]:
        return [(rg, c) for rg in self.regions for c in rg["clusters"]]

    def cluster(self, key: str, region_key: str = "") -> tuple[Obj, Obj] | None:
        for rg, c in self.clusters():
            if key and key in (c["id"], c["name"]):
                return rg, c
        home = self.region(region_key)
        if home is not None and home["clusters"]:
            return home, home["clusters"][0]
        everything = self.clusters()
        return everything[0] if everything else None


def _apply_claims(dep: Deployment, regions: list[Obj], live: LiveData) -> None:
    place = _Placer(regions)
    for obj in live.claims_of("RegionClaim"):
        spec = _spec(obj)
        r = _str(spec.get("region"))
        if not r or place.region(r) is not None:
            continue
        regions.append(
            {
                "id": f"region-{r}",
                "name": r,
                "provider": _str(spec.get("provider")) or first_provider(dep),
                "providerRegion": r,
                "skuCP": _str(spec.get("skuCP")),
                "skuWorker": _str(spec.get("skuWorker")),
                "workerCount": _int(spec.get("workerCount")),
                "status": _claim_status(obj),
                "clusters": [],
                "networks": [],
            }
        )
    for obj in live.claims_of("ClusterClaim"):
        spec = _spec(obj)
        home = place.region(_str(spec.get("region"))) or (regions[0] if regions else None)
        if home is None:
            continue
        home["clusters"].append(
            {
                "id": _str(_meta(obj).get("name")),
                "name": _str(spec.get("name")),
                "version": _str(spec.get("version")) or "v1.30",
                "status": _claim_status(obj),
                "nodeCount": 0,
                "vclusters": [],
                "loadBalancers": [],
                "nodePools": [],
                "nodes": [],
            }
        )
    _apply_pools(place, live)
    for obj in live.claims_of("VClusterClaim"):
        spec = _spec(obj)
        found = place.cluster(_str(spec.get("cluster")))
        if found is None:
            continue
        cluster = found[1]
        name, ns = _str(spec.get("name")), _str(spec.get("namespace"))
        if any(v["name"] == name and v["namespace"] == ns for v in cluster["vclusters"]):
            continue  # the vcluster itself is live: it speaks for the claim
        cluster["vclusters"].append(
            {
                "id": _str(_meta(obj).get("name")),
                "name": name,
                "namespace": ns,
                "role": _str(spec.get("role")) or "other",
                "status": _claim_status(obj),
            }
        )
    for obj in live.claims_of("LoadBalancerClaim"):
        spec = _spec(obj)
        found = place.cluster("", _str(spec.get("region")))
        if found is None:
            continue
        rg, cluster = found
        status = _dict(obj.get("status"))
        cluster["loadBalancers"].append(
            {
                "id": _str(_meta(obj).get("name")),
                "name": _str(spec.get("name")),
                "publicIP": _str(status.get("publicIP")),
                "ports": _str(spec.get("ports")),
                "targetHealth": "—",
                "region": _str(spec.get("region")) or rg["providerRegion"],
                "status": _claim_status(obj),
            }
        )
    networks = [n for rg in regions for n in rg["networks"]]
    for obj in live.claims_of("PeeringClaim"):
        spec = _spec(obj)
        ends = {_str(spec.get("vpcFrom")), _str(spec.get("vpcTo"))} - {""}
        targets = [n for n in networks if ends & {n["id"], n["name"], n["region"]}]
        for network in targets or networks[:1]:
            network["peerings"].append(_peering(obj))


def _apply_pools(place: _Placer, live: LiveData) -> None:
    by_pool: dict[str, list[Obj]] = {}
    for node in live.nodes:
        pool = (_meta(node).get("labels") or {}).get(LABEL_NODE_POOL)
        if pool:
            by_pool.setdefault(pool, []).append(node)
    for obj in live.claims_of("NodePoolClaim"):
        spec, claim_name = _spec(obj), _str(_meta(obj).get("name"))
        status = _claim_status(obj)
        existing = [
            p for _, c in place.clusters() for p in c["nodePools"] if p["id"] == spec.get("name")
        ]
        if existing:  # a PATCH of a pool the record describes
            pool = existing[0]
            if "desiredSize" in spec:
                pool["desiredSize"] = _int(spec.get("desiredSize"))
            if _str(spec.get("sku")):
                pool["sku"] = _str(spec.get("sku"))
            pool["status"] = status
            continue
        found = place.cluster(_str(spec.get("cluster")), _str(spec.get("region")))
        if found is None:
            continue
        rg, cluster = found
        region = _str(spec.get("region")) or rg["providerRegion"]
        sku = _str(spec.get("sku"))
        nodes = [
            _node_row(n, pool_id=claim_name, sku=sku, region=region, fallback=status)
            for n in by_pool.get(claim_name, [])
        ]
        cluster["nodePools"].append(
            {
                "id": claim_name,
                "name": _str(spec.get("name")),
                "role": _str(spec.get("role")) or "worker",
                "sku": sku,
                "region": region,
                "desiredSize": _int(spec.get("desiredSize")),
                "currentSize": len(nodes),
                "status": status,
            }
        )
        cluster["nodes"].extend(nodes)
        cluster["nodeCount"] = len(cluster["nodes"])


def _pvcs(live: LiveData) -> list[Obj]:
    out = []
    for item in live.pvcs:
        meta, spec = _meta(item), _spec(item)
        status = _dict(item.get("status"))
        capacity = _dict(status.get("capacity"))
        out.append(
            {
                "id": _str(meta.get("uid")),
                "name": _str(meta.get("name")),
                "namespace": _str(meta.get("namespace")),
                "capacity": _str(capacity.get("storage")),
                "used": "",
                "storageClass": _str(spec.get("storageClassName")),
                "status": _str(status.get("phase")),
            }
        )
    return out


def topology(dep: Deployment, live: LiveData) -> Obj:
    """`GET …/infrastructure/topology`."""
    status = deployment_status(dep)
    provider = first_provider(dep)
    tenant: Obj = {"id": f"cloud-{provider}", "provider": provider, "name": provider}
    if dep.request.hetzner_project_id:
        tenant["projectID"] = dep.request.hetzner_project_id
    tenant["status"] = status
    vclusters = _vclusters(live)
    regions = [_region(dep, rs, status, vclusters) for rs in _region_specs(dep)]
    _apply_claims(dep, regions, live)
    pattern = _pattern(dep)
    if regions and pattern == "unknown":
        pattern = "solo"
    return {
        "cloud": [tenant],
        "topology": {"pattern": pattern, "regions": regions},
        "storage": {"pvcs": _pvcs(live), "buckets": [], "volumes": []},
    }


def compute_view(dep: Deployment) -> Obj:
    """`GET …/infrastructure/compute` (legacy flat shape, from the record only)."""
    status = deployment_status(dep)
    req = dep.request
    specs = _region_specs(dep)
    region = specs[0].cloud_region if specs else ""
    workers = sum(r.worker_count for r in req.regions) if req.regions else req.worker_count
    cp_ip = dep.result.control_plane_ip if dep.result else ""
    nodes: list[Obj] = []
    if req.regions:
        for ri, rg in enumerate(req.regions):
            r = rg.cloud_region
            nodes.append(
                {
                    "id": f"node-cp-{r}",
                    "name": f"control-plane-{r}",
                    "sku": rg.control_plane_size,
                    "region": r,
                    "role": "control-plane",
                    "ip": cp_ip if ri == 0 else "",
                    "status": status,
                }
            )
            nodes.extend(
                {
                    "id": f"node-w{ri}-{i}-{r}",
                    "name": f"worker-{i + 1}-{r}",
                    "sku": rg.worker_size,
                    "region": r,
                    "role": "worker",
                    "ip": "",
                    "status": status,
                }
                for i in range(rg.worker_count)
            )
    else:
        nodes.append(
            {
                "id": f"node-cp-{dep.id}",
                "name": "control-plane",
                "sku": req.control_plane_size,
                "region": region,
                "role": "control-plane",
                "ip": cp_ip,
                "status": status,
            }
        )
        nodes.extend(
            {
                "id": f"node-w-{i}-{dep.id}",
                "name": f"worker-{i + 1}",
                "sku": req.worker_size,
                "region": region,
                "role": "worker",
                "ip": "",
                "status": status,
            }
            for i in range(req.worker_count)
        )
    cluster = {
        "id": f"cluster-{dep.id}",
        "name": req.sovereign_fqdn or f"cluster-{dep.id[:8]}",
        "controlPlane": "k3s",
        "version": "v1.30",
        "region": region,
        "nodeCount": workers + 1,
        "status": status,
    }
    return {"clusters": [cluster], "nodes": nodes}


def storage_view() -> Obj:
    """`GET …/infrastructure/storage`: the original's well-shaped empty answer (the live PVCs
    are in the topology's `storage`)."""
    return {"pvcs": [], "buckets": [], "volumes": []}


def network_view(dep: Deployment) -> Obj:
    """`GET …/infrastructure/network`: the record's load balancer (when it has an IP)."""
    lbs: list[Obj] = []
    result = dep.result
    if result is not None and result.load_balancer_ip:
        specs = _region_specs(dep)
        lbs.append(
            {
                "id": f"lb-{dep.id}",
                "name": dep.request.sovereign_fqdn or "ingress-lb",
                "publicIP": result.load_balancer_ip,
                "ports": "80,443,6443",
                "targetHealth": "—",
                "region": specs[0].cloud_region if specs else "",
                "status": deployment_status(dep),
            }
        )
    return {"loadBalancers": lbs, "drgs": [], "peerings": []}
