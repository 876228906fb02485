"""The built-in web console's routes (issue 18): pages at `/` and `/deployments/...`, and
their static files at `/console/static/<name>`.

Thin: pick the page, render it with the auth settings (`console.render_page`), answer with
the console's Content-Security-Policy. Pages and assets are public in every auth mode: they
hold no data; their scripts call the API with the tab's bearer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from ..console import Page, PageSettings, render_page, security_headers, static_asset
from ..deployments import Status
from ..store.ids import is_safe_id
from .deps import services
from .responses import text_response

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

DEP = "/deployments/{deployment_id}"


def _headers(request: Request) -> dict[str, str]:
    return security_headers(services(request).settings.auth_oidc_issuer)


def _page(request: Request, page: Page, **context: object) -> Response:
    settings = services(request).settings
    html = render_page(
        page,
        PageSettings(
            auth_mode=settings.auth_mode,
            oidc_issuer=settings.auth_oidc_issuer,
            oidc_client_id=settings.console_oidc_client_id,
        ),
        **context,
    )
    return HTMLResponse(html, headers={**_headers(request), "Cache-Control": "no-cache"})


def _not_found(request: Request) -> Response:
    response = text_response("404 page not found\n", 404)
    response.headers.update(_headers(request))
    return response


def _deployment_page(request: Request, page: Page, deployment_id: str) -> Response:
    if not is_safe_id(deployment_id):
        return _not_found(request)
    return _page(request, page, deployment_id=deployment_id)


@router.get("/")
async def deployments_page(request: Request) -> Response:
    """The deployments list."""
    return _page(request, Page.LIST, statuses=[str(s) for s in Status])


@router.get("/deployments/new")
async def create_page(request: Request) -> Response:
    """The create form with the plan preview."""
    return _page(request, Page.CREATE)


@router.get(DEP)
async def deployment_page(deployment_id: str, request: Request) -> Response:
    """One deployment: timeline, components, event log, result, actions."""
    return _deployment_page(request, Page.DEPLOYMENT, deployment_id)


@router.get(f"{DEP}/infrastructure")
async def infrastructure_page(deployment_id: str, request: Request) -> Response:
    """The Sovereign's topology from the infrastructure endpoints."""
    return _deployment_page(request, Page.INFRASTRUCTURE, deployment_id)


@router.get(f"{DEP}/objects")
async def objects_page(deployment_id: str, request: Request) -> Response:
    """A live view of the Sovereign's objects from the k8scache."""
    return _deployment_page(request, Page.OBJECTS, deployment_id)


@router.get("/console/oidc-callback")
async def oidc_callback_page(request: Request) -> Response:
    """Where the OIDC provider sends the browser back (the script exchanges the code)."""
    return _page(request, Page.OIDC_CALLBACK)


@router.get("/console/static/{name}")
async def static_file(name: str, request: Request) -> Response:
    """A script, the stylesheet or an image shipped with the package."""
    asset = static_asset(name)
    if asset is None:
        return _not_found(request)
    headers = {**_headers(request), "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
