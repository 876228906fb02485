"""The one place errors become HTTP responses.

`CatalystError` → its status and body; Starlette's 404/405 → the original's texts; a request
validation error (FastAPI) → 400 JSON. Anything else escapes to `AccessLogMiddleware`, which
answers a JSON 500 carrying the request id and logs the traceback (a handler registered for
`Exception` would run in Starlette's outermost middleware, where no request id exists).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import CatalystError
from ..wire.shapes import ErrorBody
from .methods import allowed_methods
from .responses import json_response, text_response

__all__ = ["install_error_handlers"]


async def _catalyst_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, CatalystError)
    text = exc.text()
    if text is not None:
        return text_response(text, exc.status)
    return json_response(exc.body(), exc.status, headers=exc.headers or None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return text_response("404 page not found\n", 404)
    if exc.status_code == 405:
        headers = dict(exc.headers or {})
        allowed = allowed_methods(request.app.router.routes, request.scope)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
        return Response(status_code=405, headers=headers)
    body: ErrorBody = {"error": "http-error", "detail": str(exc.detail)}
    return json_response(body, exc.status_code)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    body: ErrorBody = {
        "error": "invalid-request",
        "detail": f"{where}: {first.get('msg', 'invalid')}",
    }
    return json_response(body, 400)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CatalystError, _catalyst_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
