"""Which methods a path supports: the full `Allow` header of a 405.

Starlette's router builds a 405 from the first route whose path matched, so a path served by
several routes (`GET` and `POST /api/v1/deployments`) would advertise only one method. Here
every method is probed against the app's routes through the public `BaseRoute.matches`.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.routing import BaseRoute, Match

__all__ = ["allowed_methods"]

_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(routes: Iterable[BaseRoute], scope: MutableMapping[str, Any]) -> list[str]:
    """Sorted methods for which some route fully matches the request's path."""
    routes = list(routes)
    allowed = []
    for method in _METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in routes):
            allowed.append(method)
    return allowed
