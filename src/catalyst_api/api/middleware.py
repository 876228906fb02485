"""ASGI middleware: request id + JSON access log + HTTP metrics, and the original's CORS.

Pure ASGI (no BaseHTTPMiddleware) so streaming responses pass through untouched. The access-log
middleware is also the last line of defence: an exception no handler answered becomes a JSON
500 carrying the request id (header and body), logged here with its traceback, never sent.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import structlog

from ..metrics import Metrics
from ..wire.shapes import ErrorBody
from .responses import SECRET_MARKER

__all__ = ["AccessLogMiddleware", "CorsMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = structlog.get_logger("catalyst_api.access")

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class AccessLogMiddleware:
    """One log line per request with a request id; counts and times requests by route."""

    def __init__(self, app: ASGIApp, *, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 500
        first_byte: float | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal status, first_byte
            if message["type"] == "http.response.start":
                status = int(message["status"])
                first_byte = time.perf_counter()
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            log.error(
                "unhandled error",
                request_id=request_id,
                method=scope.get("method", ""),
                path=scope.get("path", ""),
                error=type(exc).__name__,
                exc_info=exc,
            )
            if first_byte is None:
                await _internal_error(request_id, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            elapsed = time.perf_counter() - start
            metrics = self.metrics()
            if metrics is not None:
                metrics.http_requests.labels(method=method, route=template, status=status).inc()
                metrics.http_duration.labels(method=method, route=template).observe(
                    (first_byte or time.perf_counter()) - start
                )
            client = scope.get("client")
            log.info(
                "request",
                request_id=request_id,
                method=method,
                path=scope.get("path", ""),
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                remote=client[0] if client else None,
            )


async def _internal_error(request_id: str, send: Send) -> None:
    """The JSON 500 for an exception nothing else answered (no detail of the exception)."""
    error: ErrorBody = {
        "error": "internal-error",
        "detail": "internal server error",
        "requestId": request_id,
    }
    body = orjson.dumps(error)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body) + 1).encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body + b"\n"})


_ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_ALLOWED_HEADERS = ("accept", "content-type", "authorization")


class CorsMiddleware:
    """CORS as the original's go-chi/cors setup (spec §3.0): one origin, fixed methods and
    headers, max-age 300, no credentials; preflights answered here with an empty 200.

    Ours: a response that carries a secret (marked by its route with `SECRET_MARKER`: the
    kubeconfig download, a generated private key) never gets `Access-Control-Allow-Origin: *`.
    With `CORS_ORIGIN` unset or `*` it gets no ACAO at all (a browser page of another origin
    cannot read it); with one configured origin, that origin (an explicit operator choice, so
    a cross-origin wizard keeps working) and `Vary: Origin`. It is always `Cache-Control:
    no-store`. The marker never leaves the server.
    """

    def __init__(self, app: ASGIApp, *, origin: str) -> None:
        self.app = app
        self.origin = origin.strip() or "*"

    def _allowed(self, origin: str) -> bool:
        return self.origin == "*" or origin.lower() == self.origin.lower()

    def _allow_origin_value(self, origin: str) -> str:
        return "*" if self.origin == "*" else origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        requested_method = _header(scope, b"access-control-request-method")
        if scope.get("method") == "OPTIONS" and requested_method is not None:
            await self._preflight(origin, requested_method, scope, send)
            return
        allow = (
            self._allow_origin_value(origin).encode()
            if origin is not None and self._allowed(origin)
            else None
        )

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers, secret = _strip_secret_marker(message.get("headers", []))
                if allow is not None and not (secret and allow == b"*"):
                    headers.append((b"access-control-allow-origin", allow))
                    headers.append((b"vary", b"Origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _preflight(
        self, origin: str | None, requested_method: str, scope: Scope, send: Send
    ) -> None:
        headers: list[tuple[bytes, bytes]] = [
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"content-length", b"0"),
        ]
        method = requested_method.strip().upper()
        raw_req_headers = _header(scope, b"access-control-request-headers") or ""
        req_headers = [h.strip().lower() for h in raw_req_headers.split(",") if h.strip()]
        if (
            origin is not None
            and self._allowed(origin)
            and method in _ALLOWED_METHODS
            and all(h in _ALLOWED_HEADERS for h in req_headers)
        ):
            headers.append(
                (b"access-control-allow-origin", self._allow_origin_value(origin).encode())
            )
            headers.append((b"access-control-allow-methods", method.encode()))
            if req_headers:
                headers.append((b"access-control-allow-headers", ", ".join(req_headers).encode()))
            headers.append((b"access-control-max-age", b"300"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


_SECRET_MARKER = SECRET_MARKER.encode()


def _strip_secret_marker(
    raw: Any,
) -> tuple[list[tuple[bytes, bytes]], bool]:
    """The response headers without the marker, `Cache-Control: no-store` forced on a marked
    response; and whether it was marked."""
    headers = [(bytes(k), bytes(v)) for k, v in raw]
    secret = any(k.lower() == _SECRET_MARKER for k, _ in headers)
    if secret:
        headers = [
            (k, v) for k, v in headers if k.lower() not in (_SECRET_MARKER, b"cache-control")
        ]
        headers.append((b"cache-control", b"no-store"))
    return headers, secret
