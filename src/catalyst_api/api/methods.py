"""Which methods a path supports: the full `Allow` header of a 405.

Starlette's router builds a 405 from the first route whose path matched, so a path served by
several routes (`GET` and `POST /api/v1/deployments`) would advertise only one method. Here
every method is probed against the app's routes through the public `BaseRoute.matches`.

A path that a route without parameters matches is that route's alone, as in OpenAPI where a
concrete path wins over a templated one: `/api/v1/deployments/plan` (POST) advertises POST, not
also the GET and DELETE of `/api/v1/deployments/{deployment_id}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from starlette.routing import BaseRoute, Match

__all__ = ["allowed_methods"]

_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _leaves(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes themselves: FastAPI (0.165) wraps each included router in one object that
    keeps it as `original_router`, whose routes carry the full paths."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaves(inner.routes)
        else:
            yield route


def allowed_methods(routes: Iterable[BaseRoute], scope: MutableMapping[str, Any]) -> list[str]:
    """Sorted methods for which some route fully matches the request's path (only the routes
    without parameters when one of those matches it)."""
    leaves = list(_leaves(routes))
    matched: dict[str, bool] = {}  # method → served by a route without parameters
    for method in _METHODS:
        probe = {**scope, "method": method}
        for route in leaves:
            if route.matches(probe)[0] == Match.FULL:
                matched[method] = "{" not in str(getattr(route, "path", "{"))
                break
    if any(matched.values()):
        return [method for method, static in matched.items() if static]
    return list(matched)
