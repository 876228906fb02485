"""`GET /api/v1/session`: who the caller is, so the console can hide what their role forbids."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .access import principal_of
from .deps import services
from .responses import json_response

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["session"])


@router.get("/session")
async def session(request: Request) -> Response:
    """`{"authMode", "principal", "role"}`: `open` mode has no principal (and no role: every
    caller may do everything); in `required` mode the route itself needs a viewer."""
    principal = principal_of(request)
    return json_response(
        {
            "authMode": services(request).settings.auth_mode,
            "principal": principal.name if principal is not None else None,
            "role": principal.role.label if principal is not None and principal.role else None,
        }
    )
