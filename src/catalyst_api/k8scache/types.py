"""Aliases and raw-JSON shapes shared by the k8scache modules."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NewType, TypedDict

__all__ = ["CacheEvent", "ClusterId", "HydrateOutcome", "Obj"]

Obj = dict[str, Any]
"""A Kubernetes object as plain JSON data."""

ClusterId = NewType("ClusterId", str)
"""A cluster's id: the kubeconfig file's stem (the deployment id in production)."""


class CacheEvent(TypedDict):
    """One change as streamed to subscribers (the wire contract of spec §6.5)."""

    cluster: str
    kind: str
    type: str
    object: Obj
    at: str


class HydrateOutcome(StrEnum):
    """What reading one (cluster, kind) snapshot at start found (spec §6.9)."""

    MISSING = "missing"
    FAILED = "failed"
    EXPIRED = "expired"
    HYDRATED = "hydrated"
