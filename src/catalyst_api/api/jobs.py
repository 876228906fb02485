"""Jobs, executions and the live component view: spec §9.4, §8.7, §8.8.

Our contract (DESIGN): the jobs endpoints answer 404 `deployment-not-found` for an unknown
deployment id instead of an empty result, and reading never creates anything on disk.
`/jobs/batches` is declared before `/jobs/{job_id}` so it wins.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..deployments import Deployment
from ..errors import InvalidRequest, NotFound, ServiceUnavailable
from ..jobs import JobsService
from ..phase1 import LiveWatches
from ..wiring import Services
from .deps import services
from .responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["jobs"])

PERSISTENCE_DISABLED = "catalyst-api is running with persistence disabled — see Pod logs"


def _jobs(svc: Services, *, detail: bool = False) -> JobsService:
    if svc.jobs is None:
        raise ServiceUnavailable("jobs-store-unavailable", PERSISTENCE_DISABLED if detail else None)
    return svc.jobs


def _deployment(svc: Services, deployment_id: str) -> Deployment:
    dep = svc.deployments.registry.get(deployment_id)
    if dep is None:
        raise NotFound("deployment-not-found")
    return dep


def _watches(svc: Services) -> LiveWatches:
    if svc.watches is None:
        raise ServiceUnavailable("watches-unavailable", "no HelmRelease watcher is configured")
    return svc.watches


def _int_param(raw: str | None) -> int:
    """Non-numeric or missing → 0 (the store then applies its defaults)."""
    try:
        return int(raw or "0")
    except ValueError:
        return 0


@router.get("/api/v1/deployments/{dep_id}/jobs")
async def list_jobs(dep_id: str, request: Request) -> Response:
    svc = services(request)
    jobs = _jobs(svc, detail=True)
    if not dep_id.strip():
        raise InvalidRequest("missing-depId", "deployment id path segment is required")
    _deployment(svc, dep_id)
    return json_response({"jobs": await jobs.list_jobs(dep_id)})


@router.get("/api/v1/deployments/{dep_id}/jobs/batches")
async def list_batches(dep_id: str, request: Request) -> Response:
    svc = services(request)
    jobs = _jobs(svc)
    if not dep_id.strip():
        raise InvalidRequest("missing-depId", "deployment id path segment is required")
    _deployment(svc, dep_id)
    return json_response({"batches": await jobs.batches(dep_id)})


@router.get("/api/v1/deployments/{dep_id}/jobs/{job_id}")
async def get_job(dep_id: str, job_id: str, request: Request) -> Response:
    svc = services(request)
    jobs = _jobs(svc)
    if not dep_id.strip() or not job_id.strip():
        raise InvalidRequest("missing-path-params")
    _deployment(svc, dep_id)
    return json_response(await jobs.get_job(dep_id, job_id))


@router.get("/api/v1/actions/executions/{exec_id}/logs")
async def execution_logs(exec_id: str, request: Request) -> Response:
    svc = services(request)
    jobs = _jobs(svc)
    if not exec_id.strip():
        raise InvalidRequest("missing-execId")
    params = request.query_params
    page = await jobs.page_logs(
        exec_id, _int_param(params.get("fromLine")), _int_param(params.get("limit"))
    )
    return json_response(page)


@router.post("/api/v1/deployments/{dep_id}/refresh-watch")
async def refresh_watch(dep_id: str, request: Request) -> Response:
    """(Re)start a live watcher and seed the jobs; never changes status or result."""
    svc = services(request)
    _jobs(svc, detail=True)
    dep = _deployment(svc, dep_id)
    result = dep.result
    with svc.deployments.refresh_window(dep):  # 409 while destroying / destroyed
        status, body = await _watches(svc).refresh(
            dep.id,
            kubeconfig_path=result.kubeconfig_path if result else "",
            known_states=result.component_states if result else {},
        )
    return json_response(body, status)


@router.get("/api/v1/deployments/{dep_id}/components/state")
async def components_state(dep_id: str, request: Request) -> Response:
    svc = services(request)
    if not dep_id.strip():
        raise InvalidRequest("missing-depId")
    dep = _deployment(svc, dep_id)
    persisted = dep.result.component_states if dep.result else {}
    return json_response(_watches(svc).components(dep.id, persisted))
