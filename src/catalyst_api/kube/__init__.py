"""The kube client layer: the only place catalyst-api talks to Kubernetes (via lightkube).

What: `KubeClient` (built from kubeconfig bytes, closed with `async with`) lists objects as
plain dicts, opens single watch / log-follow streams, and lists pods; `Reflector` turns a
resource into a resumable list+watch stream (`Listed` / `Changed`). Every lightkube or
transport failure surfaces as one of our `KubeError`s.
Usage: Phase 1 (`phase1/`) and the multi-cluster cache share it; callers never import
lightkube.
Trade-off: objects stay raw JSON dicts (no typed models) so the hot watch path only parses JSON
once and callers describe what they read with `TypedDict`s.
"""

from .client import KubeClient
from .errors import (
    KubeConfigError,
    KubeConnectionError,
    KubeError,
    KubeExpired,
    KubeNotFound,
    KubeStatusError,
)
from .reflector import Changed, Listed, Reflector, WatchTiming
from .resources import HELMRELEASES, ObjectList, PodInfo, ResourceRef, WatchEvent

__all__ = [
    "HELMRELEASES",
    "Changed",
    "KubeClient",
    "KubeConfigError",
    "KubeConnectionError",
    "KubeError",
    "KubeExpired",
    "KubeNotFound",
    "KubeStatusError",
    "Listed",
    "ObjectList",
    "PodInfo",
    "Reflector",
    "ResourceRef",
    "WatchEvent",
    "WatchTiming",
]
