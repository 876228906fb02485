"""Response helpers: Go-style JSON (one value + newline) and plain-text bodies."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["SECRET_MARKER", "json_response", "secret_headers", "text_response"]

SECRET_MARKER = "x-catalyst-secret"
"""Set by a route whose response body is a secret (kubeconfig, private key). `CorsMiddleware`
strips it before the response leaves, and never lets such a response carry
`Access-Control-Allow-Origin: *`."""


def secret_headers() -> dict[str, str]:
    """Headers of a secret-bearing response: never cached, never CORS-wildcarded."""
    return {"Cache-Control": "no-store", SECRET_MARKER: "1"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`Content-Type: application/json`, body is one JSON value followed by `\\n`."""
    return Response(
        orjson.dumps(body) + b"\n",
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def text_response(body: str, status: int) -> Response:
    """Go `http.Error`: text/plain with `X-Content-Type-Options: nosniff`."""
    return Response(
        body,
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )
