"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import PlainTextResponse, Response

from .deps import services
from .responses import json_response

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    """Liveness: always 200 `ok` (DESIGN item 4)."""
    return PlainTextResponse("ok")


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """Readiness: the deployments store (directory or database) must be writable; 503 otherwise."""
    svc = services(request)
    writable, problem = await asyncio.to_thread(svc.records.check_writable)
    store: dict[str, Any] = {"ok": writable, **svc.records.describe()}
    if problem:
        store["detail"] = problem
    check = svc.extra.get("k8scache_check", {"ok": True, "enabled": False})
    # A callable reports the live per-cluster sync state (informational: never fails readiness).
    k8scache: dict[str, Any] = check() if callable(check) else check
    ready = writable and bool(k8scache.get("ok", True))
    auth = {"ok": True, "mode": svc.settings.auth_mode}
    return json_response(
        {"ready": ready, "checks": {"store": store, "k8scache": k8scache, "auth": auth}},
        200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = services(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
