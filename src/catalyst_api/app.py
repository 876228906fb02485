"""The FastAPI application factory: middleware, routers, error handlers and the lifespan.

`create_app(settings)` is all a caller needs; the lifespan builds the services
(`wiring.build_services`) and exposes them to routers as `request.state.services`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from . import __version__
from .api import ROUTERS, AccessLogMiddleware, CorsMiddleware, install_error_handlers
from .api.access import AuditMiddleware, authorize
from .api.openapi import install_openapi
from .config import Settings
from .metrics import Metrics
from .wiring import Overrides, build_services

__all__ = ["create_app"]


def create_app(settings: Settings, *, overrides: Overrides | None = None) -> FastAPI:
    """Build the app; nothing starts until the ASGI lifespan runs."""
    access_metrics: dict[str, Metrics] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        async with build_services(settings, overrides) as services:
            access_metrics["current"] = services.metrics
            app.state.services = services
            yield {"services": services}

    app = FastAPI(
        title="catalyst-api",
        version=__version__,
        summary="Provisions a Sovereign Kubernetes cluster end to end",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # No trailing-slash redirects: Starlette builds their Location from the Host header.
        # `/path/` is a 404 like any unknown path, as in the original (chi).
        redirect_slashes=False,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(authorize)])
    install_openapi(app)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(AccessLogMiddleware, metrics=lambda: access_metrics.get("current"))
    app.add_middleware(CorsMiddleware, origin=settings.cors_origin)
    return app
