"""The sandbox's HTTP surface, mounted on catalyst-api at `/sandbox` (loopback use only).

GET    /sandbox/                              inventory: resources and Sovereigns (no secrets)
GET    /sandbox/hetzner/v1/servers            Hetzner-like token check (wizard validate)
POST   /sandbox/hetzner/v1/{collection}       create (called by infra/sandbox)
DELETE /sandbox/hetzner/v1/{collection}/{name} delete (destroy-time provisioners)
GET    /sandbox/dynadot/api3.json             the fake Dynadot (`DYNADOT_API_URL`)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .cloud import UNAUTHORIZED, CloudReply, SandboxCloud, token_accepted

__all__ = ["PersistAfterRequest", "sandbox_routes"]


def _json(reply: CloudReply) -> Response:
    return Response(orjson.dumps(reply.body), reply.status, media_type="application/json")


class PersistAfterRequest:
    """Wraps an ASGI app; awaits `after()` once each HTTP request has been answered."""

    def __init__(self, app: ASGIApp, after: Callable[[], Awaitable[None]]) -> None:
        self.app = app
        self.after = after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            await self.after()


def sandbox_routes(cloud: SandboxCloud, *, dynadot: ASGIApp) -> Starlette:
    """The Starlette app to mount at `/sandbox`."""

    async def inventory(_: Request) -> Response:
        return _json(CloudReply(200, cloud.describe()))

    async def list_servers(request: Request) -> Response:
        if not token_accepted(request.headers.get("authorization")):
            return _json(UNAUTHORIZED)
        servers = cloud.servers()
        meta = {"pagination": {"page": 1, "per_page": 25, "total_entries": len(servers)}}
        return _json(CloudReply(200, {"servers": servers, "meta": meta}))

    async def create(request: Request) -> Response:
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return _json(
                CloudReply(
                    400, {"error": {"code": "json_error", "message": "body must be an object"}}
                )
            )
        reply = await cloud.create(
            request.path_params["collection"], body, request.headers.get("authorization")
        )
        return _json(reply)

    async def delete(request: Request) -> Response:
        reply = await cloud.delete(request.path_params["collection"], request.path_params["name"])
        return _json(reply)

    return Starlette(
        routes=[
            Route("/", inventory, methods=["GET"]),
            Route("/hetzner/v1/servers", list_servers, methods=["GET"]),
            Route("/hetzner/v1/{collection}", create, methods=["POST"]),
            Route("/hetzner/v1/{collection}/{name}", delete, methods=["DELETE"]),
            Mount("/dynadot", app=dynadot),
        ]
    )
