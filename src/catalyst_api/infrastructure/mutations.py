"""The Day-2 mutation routes' bodies and what each one writes (spec §10.2).

Bodies decode like the original's `json.Decoder` with `DisallowUnknownFields`: keys match
case-insensitively, `null` leaves a field empty, an unknown key or a wrongly typed value is
400 `invalid-body` with Go's decoder message. Required fields are checked after decoding, with
the original's codes. Each route becomes a `Mutation`: the audit job's verb/kind/slug, the
action and diff (also the claim's annotations), and the claim's kind, name and spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..deployments.decode import decode_json_object
from ..errors import InvalidBody, InvalidRequest
from .claims import NODE_ACTIONS, ClaimKind, kind_named, xrc_name

__all__ = ["BODY_CAP", "Mutation", "MutationRequest", "plan"]

BODY_CAP = 1 << 16
"""64 KiB, as the original's `http.MaxBytesReader`."""

Obj = dict[str, Any]
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class MutationRequest:
    """A route's inputs: which operation, its path ids and the raw body."""

    operation: str
    body: bytes = b""
    path_id: str = ""
    action: str = ""


@dataclass(slots=True)
class Mutation:
    """What one request writes: audit job (`verb`, `kind`, `slug`, `action`, `diff`) and claim."""

    verb: str
    kind: str
    slug: str
    action: str
    diff: str
    claim: ClaimKind
    name: str
    spec: Obj = field(default_factory=dict)
    patch: bool = False


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def _decode(body: bytes, struct: str, fields: dict[str, str]) -> Obj:
    """One JSON object with exactly these (case-insensitive) keys; Go-style errors."""
    try:
        raw = decode_json_object(body, f"handler.{struct}")
    except InvalidBody as exc:
        raise InvalidRequest("invalid-body", exc.decoder_error) from None
    lowered = {k.lower(): k for k in fields}
    out: Obj = {}
    for key, value in raw.items():
        canonical = key if key in fields else lowered.get(key.lower())
        if canonical is None:
            raise InvalidRequest("invalid-body", f'json: unknown field "{key}"')
        if value is None:
            continue
        go_type = fields[canonical]
        ok = (
            isinstance(value, str)
            if go_type == "string"
            else isinstance(value, bool)
            if go_type == "bool"
            else isinstance(value, int)
            and not isinstance(value, bool)
            and _INT64[0] <= value <= _INT64[1]
        )
        if not ok:
            raise InvalidRequest(  # Go names the pointed-to type for a pointer field
                "invalid-body",
                f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                f"{struct}.{canonical} of type {go_type.removeprefix('ptr-')}",
            )
        out[canonical] = value
    return out


def _required(value: str, code: str, detail: str) -> None:
    if not value.strip():
        raise InvalidRequest(code, detail)


def _s(values: Obj, key: str) -> str:
    return str(values.get(key, ""))


def _i(values: Obj, key: str) -> int:
    return int(values.get(key, 0))


def _region(dep_id: str, req: MutationRequest, provider: str) -> Mutation:
    v = _decode(
        req.body,
        "createRegionBody",
        {
            "region": "string",
            "skuCP": "string",
            "skuWorker": "string",
            "workerCount": "int",
            "provider": "string",
        },
    )
    region, sku_cp, sku_worker, workers = (
        _s(v, "region"),
        _s(v, "skuCP"),
        _s(v, "skuWorker"),
        _i(v, "workerCount"),
    )
    _required(region, "region-required", "region is required")
    _required(sku_cp, "skuCP-required", "skuCP is required")
    return Mutation(
        verb="add",
        kind="region",
        slug=region,
        action=f"add-region region={region} sku={sku_cp} workers={workers}",
        diff=f"+ region: {region}\n+   skuCP: {sku_cp}\n+   skuWorker: {sku_worker}\n"
        f"+   workerCount: {workers}",
        claim=kind_named("RegionClaim"),
        name=xrc_name(dep_id, "region", region),
        spec={
            "region": region,
            "provider": _s(v, "provider") or provider,
            "skuCP": sku_cp,
            "skuWorker": sku_worker,
            "workerCount": workers,
        },
    )


def _cluster(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(
        req.body, "createClusterBody", {"name": "string", "version": "string", "ha": "bool"}
    )
    name = _s(v, "name")
    _required(name, "name-required", "cluster name is required")
    ha = bool(v.get("ha", False))
    return Mutation(
        verb="add",
        kind="cluster",
        slug=name,
        action=f"add-cluster name={name} region={req.path_id} ha={str(ha).lower()}",
        diff=f"+ cluster: {name}",
        claim=kind_named("ClusterClaim"),
        name=xrc_name(dep_id, "cluster", name),
        spec={"region": req.path_id, "name": name, "version": _s(v, "version"), "ha": ha},
    )


def _vcluster(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(
        req.body,
        "createVClusterBody",
        {"name": "string", "namespace": "string", "role": "string"},
    )
    name, role = _s(v, "name"), _s(v, "role")
    _required(name, "name-required", "vcluster name is required")
    return Mutation(
        verb="add",
        kind="vcluster",
        slug=name,
        action=f"add-vcluster name={name} cluster={req.path_id} role={role}",
        diff=f"+ vcluster: {name}",
        claim=kind_named("VClusterClaim"),
        name=xrc_name(dep_id, "vcluster", name),
        spec={
            "cluster": req.path_id,
            "name": name,
            "namespace": _s(v, "namespace"),
            "role": role,
        },
    )


def _pool(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(
        req.body,
        "createPoolBody",
        {
            "name": "string",
            "role": "string",
            "sku": "string",
            "region": "string",
            "desiredSize": "int",
        },
    )
    name, sku, size = _s(v, "name"), _s(v, "sku"), _i(v, "desiredSize")
    _required(name, "name-required", "pool name is required")
    return Mutation(
        verb="add",
        kind="pool",
        slug=name,
        action=f"add-pool name={name} cluster={req.path_id} sku={sku} size={size}",
        diff=f"+ nodePool: {name}\n+   sku: {sku}\n+   desiredSize: {size}",
        claim=kind_named("NodePoolClaim"),
        name=xrc_name(dep_id, "pool", name),
        spec={
            "cluster": req.path_id,
            "name": name,
            "role": _s(v, "role"),
            "sku": sku,
            "region": _s(v, "region"),
            "desiredSize": size,
        },
    )


def _patch_pool(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(req.body, "patchPoolBody", {"desiredSize": "ptr-int", "sku": "string"})
    sku = _s(v, "sku")
    if "desiredSize" not in v and not sku.strip():
        raise InvalidRequest("no-fields", "PATCH must include desiredSize and/or sku")
    spec: Obj = {"name": req.path_id}
    diff = ""
    if "desiredSize" in v:
        spec["desiredSize"] = v["desiredSize"]
        diff += f"~ desiredSize: {v['desiredSize']}\n"
    if sku:
        spec["sku"] = sku
        diff += f"~ sku: {sku}\n"
    return Mutation(
        verb="update",
        kind="pool",
        slug=req.path_id,
        action=f"update-pool id={req.path_id}",
        diff=diff,
        claim=kind_named("NodePoolClaim"),
        name=xrc_name(dep_id, "pool", req.path_id),
        spec=spec,
        patch=True,
    )


def _loadbalancer(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(req.body, "createLBBody", {"name": "string", "region": "string", "ports": "string"})
    name, region = _s(v, "name"), _s(v, "region")
    _required(name, "name-required", "lb name is required")
    return Mutation(
        verb="add",
        kind="lb",
        slug=name,
        action=f"add-lb name={name} region={region}",
        diff=f"+ lb: {name}",
        claim=kind_named("LoadBalancerClaim"),
        name=xrc_name(dep_id, "lb", name),
        spec={"name": name, "region": region, "ports": _s(v, "ports")},
    )


def _peering(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(
        req.body,
        "createPeeringBody",
        {"name": "string", "vpcFrom": "string", "vpcTo": "string", "subnets": "string"},
    )
    name, vpc_from, vpc_to = _s(v, "name"), _s(v, "vpcFrom"), _s(v, "vpcTo")
    _required(name, "name-required", "peering name is required")
    return Mutation(
        verb="add",
        kind="peering",
        slug=name,
        action=f"add-peering name={name} pair={vpc_from}/{vpc_to}",
        diff=f"+ peering: {name}\n+   vpcFrom: {vpc_from}\n+   vpcTo: {vpc_to}",
        claim=kind_named("PeeringClaim"),
        name=xrc_name(dep_id, "peering", name),
        spec={"name": name, "vpcFrom": vpc_from, "vpcTo": vpc_to, "subnets": _s(v, "subnets")},
    )


def _firewall_rule(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    v = _decode(
        req.body,
        "createFWRuleBody",
        {
            "direction": "string",
            "protocol": "string",
            "port": "string",
            "sources": "string",
            "action": "string",
        },
    )
    direction, protocol, port = _s(v, "direction"), _s(v, "protocol"), _s(v, "port")
    sources, verdict = _s(v, "sources"), _s(v, "action")
    if not direction.strip() or not protocol.strip():
        raise InvalidRequest("direction-protocol-required", "direction and protocol are required")
    slug = f"{direction}-{protocol}-{port}"
    fw = req.path_id
    return Mutation(
        verb="add",
        kind="firewall-rule",
        slug=slug,
        action=f"add-firewall-rule fw={fw} {direction}/{protocol}/{port}",
        diff=f"+ rule: {direction}/{protocol}/{port} sources={sources} action={verdict}",
        claim=kind_named("FirewallRuleClaim"),
        name=xrc_name(dep_id, "fw", f"{fw}-{slug}"),
        spec={
            "firewall": fw,
            "direction": direction,
            "protocol": protocol,
            "port": port,
            "sources": sources,
            "action": verdict,
        },
    )


def _node_action(dep_id: str, req: MutationRequest, _: str) -> Mutation:
    verb, node = req.action.lower(), req.path_id
    return Mutation(
        verb=verb,
        kind="node",
        slug=node,
        action=f"{verb}-node id={node}",
        diff=f"~ node {node}: {verb}",
        claim=kind_named("NodeActionClaim"),
        name=xrc_name(dep_id, verb, node),
        spec={"node": node, "action": verb},
    )


_PLANNERS: dict[str, Callable[[str, MutationRequest, str], Mutation]] = {
    "region": _region,
    "cluster": _cluster,
    "vcluster": _vcluster,
    "pool": _pool,
    "patch-pool": _patch_pool,
    "loadbalancer": _loadbalancer,
    "peering": _peering,
    "firewall-rule": _firewall_rule,
    "node-action": _node_action,
}

OPERATIONS = tuple(_PLANNERS)


def check_node_action(action: str) -> None:
    """400 `unsupported-action` unless cordon|drain|replace (case-insensitive)."""
    if action.lower() not in NODE_ACTIONS:
        raise InvalidRequest("unsupported-action", "action must be cordon|drain|replace")


def plan(deployment_id: str, req: MutationRequest, *, default_provider: str) -> Mutation:
    """Decode and validate one request into what it writes (`InvalidRequest` on bad input)."""
    return _PLANNERS[req.operation](deployment_id, req, default_provider)
