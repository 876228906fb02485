"""Every router the app mounts, in registration order (static paths before templated ones)."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    console,
    dashboard,
    deployments,
    health,
    infrastructure,
    jobs,
    k8scache,
    session,
    wizard,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    health.router,
    wizard.router,
    deployments.router,
    jobs.router,
    k8scache.router,
    infrastructure.router,
    dashboard.router,
    session.router,
    console.router,
]
