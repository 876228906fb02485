"""Raw JSON shapes Phase 1 reads (Flux HelmRelease v2) and the snapshot item it serves."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

__all__ = ["ComponentItem", "Condition", "HelmReleaseObj"]


class Condition(TypedDict, total=False):
    """`status.conditions[]` of a HelmRelease."""

    type: str
    status: str
    reason: str
    message: str
    lastTransitionTime: str


class HelmReleaseObj(TypedDict, total=False):
    """The parts of a HelmRelease Phase 1 reads (`metadata`, `spec.dependsOn`, conditions)."""

    apiVersion: str
    kind: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    status: dict[str, Any]


class ComponentItem(TypedDict):
    """One item of `GET .../components/state` (spec §8.8), also the jobs seed input."""

    appId: str
    status: str
    helmReleaseName: str
    namespace: str
    lastTransitionAt: str
    message: str
    dependsOn: NotRequired[list[str]]
