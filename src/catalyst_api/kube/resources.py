"""What the kube layer can list and watch: resource references and plain-data results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["HELMRELEASES", "ObjectList", "PodInfo", "ResourceRef", "WatchEvent"]

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """A served resource type: `group`/`version`, its `kind` and URL `plural`."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


HELMRELEASES = ResourceRef("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases")
"""Flux HelmRelease v2, the objects Phase 1 watches."""


@dataclass(slots=True)
class ObjectList:
    """A list response: raw objects (plain dicts) and the list's resourceVersion."""

    items: list[Obj]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: `ADDED`, `MODIFIED`, `DELETED` or `BOOKMARK`, with the raw object."""

    type: str
    object: Obj
    resource_version: str


@dataclass(frozen=True, slots=True)
class PodInfo:
    """The parts of a Pod the log tailer needs."""

    name: str
    namespace: str
    phase: str
    labels: dict[str, str] = field(default_factory=dict)
