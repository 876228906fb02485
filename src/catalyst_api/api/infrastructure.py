"""The Sovereign Infrastructure page (spec §10.2): topology, legacy views, Day-2 mutations.

Thin: read the (capped) body, hand the request to `InfrastructureService`, answer its dict.
Every mutation answers 202; errors come from the service as `CatalystError`s.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import InvalidRequest, ServiceUnavailable
from ..infrastructure import BODY_CAP, InfrastructureService, MutationRequest
from .bodies import read_capped
from .deps import services
from .responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["infrastructure"])

BASE = "/api/v1/deployments/{dep_id}/infrastructure"


def _service(request: Request) -> InfrastructureService:
    svc = services(request).infrastructure
    if svc is None:
        raise ServiceUnavailable("infrastructure-unavailable")
    return svc


def _too_large() -> InvalidRequest:
    return InvalidRequest("invalid-body", "http: request body too large")


async def _mutate(
    request: Request, dep_id: str, operation: str, path_id: str = "", action: str = ""
) -> Response:
    svc = _service(request)
    body = await read_capped(request, BODY_CAP, _too_large) if operation != "node-action" else b""
    result = await svc.mutate(
        dep_id, MutationRequest(operation, body=body, path_id=path_id, action=action)
    )
    return json_response(result, 202)


@router.get(f"{BASE}/topology")
async def topology(dep_id: str, request: Request) -> Response:
    return json_response(await _service(request).topology(dep_id))


@router.get(f"{BASE}/compute")
async def compute(dep_id: str, request: Request) -> Response:
    return json_response(_service(request).compute(dep_id))


@router.get(f"{BASE}/storage")
async def storage(dep_id: str, request: Request) -> Response:
    return json_response(_service(request).storage(dep_id))


@router.get(f"{BASE}/network")
async def network(dep_id: str, request: Request) -> Response:
    return json_response(_service(request).network(dep_id))


@router.post(f"{BASE}/regions")
async def add_region(dep_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "region")


@router.post(f"{BASE}/regions/{{region_id}}/clusters")
async def add_cluster(dep_id: str, region_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "cluster", region_id)


@router.post(f"{BASE}/clusters/{{cluster_id}}/vclusters")
async def add_vcluster(dep_id: str, cluster_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "vcluster", cluster_id)


@router.post(f"{BASE}/clusters/{{cluster_id}}/pools")
async def add_pool(dep_id: str, cluster_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "pool", cluster_id)


@router.patch(f"{BASE}/pools/{{pool_id}}")
async def patch_pool(dep_id: str, pool_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "patch-pool", pool_id)


@router.post(f"{BASE}/loadbalancers")
async def add_loadbalancer(dep_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "loadbalancer")


@router.post(f"{BASE}/peerings")
async def add_peering(dep_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "peering")


@router.post(f"{BASE}/firewalls/{{firewall_id}}/rules")
async def add_firewall_rule(dep_id: str, firewall_id: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "firewall-rule", firewall_id)


@router.post(f"{BASE}/nodes/{{node_id}}/{{action}}")
async def node_action(dep_id: str, node_id: str, action: str, request: Request) -> Response:
    return await _mutate(request, dep_id, "node-action", node_id, action)


@router.delete(f"{BASE}/pools/{{pool_id}}")
async def delete_pool(dep_id: str, pool_id: str, request: Request) -> Response:
    """Its own route only so the path's methods (PATCH, DELETE) are told as one."""
    return json_response(await _service(request).delete(dep_id, "pools", pool_id), 202)


@router.delete(f"{BASE}/{{kind}}/{{resource_id}}")
async def delete_resource(dep_id: str, kind: str, resource_id: str, request: Request) -> Response:
    return json_response(await _service(request).delete(dep_id, kind, resource_id), 202)
