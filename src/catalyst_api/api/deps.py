"""How routers reach the services: the lifespan puts them on `request.state`."""

from __future__ import annotations

from typing import cast

from starlette.requests import Request

from ..wiring import Services

__all__ = ["services"]


def services(request: Request) -> Services:
    """The `Services` built by the app lifespan."""
    return cast(Services, request.state.services)
