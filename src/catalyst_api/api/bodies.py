"""Bounded request-body reading: never buffer more than the route's cap."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request

from ..errors import CatalystError

__all__ = ["read_capped"]


async def read_capped(request: Request, cap: int, too_large: Callable[[], CatalystError]) -> bytes:
    """Read at most `cap` bytes; raise `too_large()` past it (or when the read fails)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise too_large()
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                raise too_large()
    except ClientDisconnect:
        raise too_large() from None
    return bytes(body)
