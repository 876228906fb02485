"""Bounded request-body reading: never buffer more than the route's cap, nor wait forever."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request

from ..errors import CatalystError, RequestTimeout

__all__ = ["read_capped"]

DEFAULT_BODY_TIMEOUT = 30.0


def _body_timeout(request: Request) -> float:
    """`CATALYST_REQUEST_BODY_TIMEOUT` from the running services (the default without them)."""
    settings = getattr(getattr(request.state, "services", None), "settings", None)
    timeout = getattr(settings, "request_body_timeout", None)
    return timeout.total_seconds() if timeout is not None else DEFAULT_BODY_TIMEOUT


async def read_capped(request: Request, cap: int, too_large: Callable[[], CatalystError]) -> bytes:
    """Read at most `cap` bytes; raise `too_large()` past it (or when the read fails), 408
    `request-timeout` when the body is not complete within the body timeout."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise too_large()
    body = bytearray()
    timeout = _body_timeout(request)
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > cap:
                    raise too_large()
    except TimeoutError:
        raise RequestTimeout(
            "request-timeout", f"request body not received within {timeout:g}s"
        ) from None
    except ClientDisconnect:
        raise too_large() from None
    return bytes(body)
