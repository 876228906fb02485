"""`GET /api/v1/dashboard/treemap` (spec §10.1), computed from live data (see
`infrastructure.treemap`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import ServiceUnavailable
from .deps import services
from .responses import json_response

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])


@router.get("/api/v1/dashboard/treemap")
async def treemap(request: Request) -> Response:
    svc = services(request).infrastructure
    if svc is None:
        raise ServiceUnavailable("infrastructure-unavailable")
    return json_response(svc.treemap(request.query_params))
