"""The ASGI application: auth, fault injection, discovery, OpenAPI and resource routing."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from . import discovery, openapi
from .errors import KubeApiError
from .faults import Faults
from .handlers import Handlers, json_response
from .routing import parse_resource_path
from .sar import SarPolicy
from .state import FakeKubeState

__all__ = ["FakeKubeApp"]

log = logging.getLogger("catalyst_sandbox.fakekube")
_OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz"})


def _error_response(exc: KubeApiError) -> Response:
    return json_response(exc.status(), exc.code, exc.headers)


class FakeKubeApp:
    """ASGI callable serving one fake cluster."""

    def __init__(
        self,
        state: FakeKubeState,
        faults: Faults,
        *,
        token: str | None,
        sar_policy: SarPolicy | None,
        bookmark_interval: float,
        server_address: Callable[[], str],
    ) -> None:
        self.state = state
        self.faults = faults
        self._token = token
        self._server_address = server_address
        self._handlers = Handlers(state, sar_policy, bookmark_interval)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except KubeApiError as exc:
            response = _error_response(exc)
        except Exception:
            log.exception("fake kube-apiserver failed on %s %s", request.method, request.url.path)
            response = _error_response(KubeApiError(500, "InternalError", "internal error"))
        await response(scope, receive, send)

    def _authorized(self, request: Request) -> bool:
        if self._token is None or request.url.path in _OPEN_PATHS:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self._token.encode()
        )

    async def _respond(self, request: Request) -> Response:
        if not self._authorized(request):
            raise KubeApiError(401, "Unauthorized", "Unauthorized")
        if self.faults.delay_seconds > 0:
            await asyncio.sleep(self.faults.delay_seconds)
        path = request.url.path.rstrip("/") or "/"
        injected = self.faults.take_failure(path)
        if injected is not None:
            raise injected
        rp = parse_resource_path(path)
        if rp is not None:
            return await self._handlers.handle(request, rp)
        if request.method != "GET":
            raise KubeApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        if path in _OPEN_PATHS:
            return PlainTextResponse("ok")
        body = self._static(path)
        if body is None:
            raise KubeApiError(
                404, "NotFound", "the server could not find the requested resource", {}
            )
        return json_response(body)

    def _static(self, path: str) -> dict[str, Any] | None:
        types = self.state.types()
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return discovery.version_info()
        if path == "/api":
            return discovery.api_versions(self._server_address())
        if path == "/apis":
            groups = self.state.registry_group_versions()
            return discovery.api_group_list(groups)
        if path == "/api/v1":
            return discovery.api_resource_list("v1", [t for t in types if t.group == ""])
        if len(parts) == 2 and parts[0] == "apis":
            versions = self.state.registry_group_versions().get(parts[1])
            return discovery.api_group(parts[1], versions) if versions else None
        if len(parts) == 3 and parts[0] == "apis":
            served = [t for t in types if t.group == parts[1] and t.version == parts[2]]
            if served:
                return discovery.api_resource_list(f"{parts[1]}/{parts[2]}", served)
            return None
        if parts[:1] == ["openapi"]:
            return openapi.document(parts[1:], types)
        return None
