"""The in-memory indexer of one (cluster, kind): objects by `namespace/name`.

Objects are stored already redacted and without `managedFields` (see `redact`), so nothing
that leaves the cache can carry a secret value and memory holds only what readers see. The
last-event time (wall clock, unix seconds) drives the staleness header and the metric.
"""

from __future__ import annotations

from .kinds import Kind
from .types import Obj

__all__ = ["Indexer", "object_key", "resource_version"]


def object_key(obj: Obj) -> str:
    """`namespace/name` (`/name` for cluster-scoped objects)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "/"
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def resource_version(obj: Obj) -> int:
    """The object's resourceVersion as a number (0 when absent or not numeric)."""
    meta = obj.get("metadata")
    raw = meta.get("resourceVersion") if isinstance(meta, dict) else None
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return 0


class Indexer:
    """Objects of one kind in one cluster; `synced` once the first list arrived."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._objects: dict[str, Obj] = {}
        self.last_event: float | None = None
        self.synced = False
        self.served = True
        """False while the cluster answers 404 for this kind (not installed there)."""

    def __len__(self) -> int:
        return len(self._objects)

    def replace(self, items: list[Obj], at: float | None) -> None:
        """Replace the whole set (a list, or a hydrated snapshot)."""
        self._objects = {object_key(o): o for o in items}
        if at is not None:
            self.last_event = at

    def upsert(self, obj: Obj, at: float) -> None:
        self._objects[object_key(obj)] = obj
        self.last_event = at

    def delete(self, obj: Obj, at: float) -> Obj | None:
        """Remove the object; returns what was cached (None if it was not)."""
        self.last_event = at
        return self._objects.pop(object_key(obj), None)

    def get(self, key: str) -> Obj | None:
        return self._objects.get(key)

    def items(self) -> list[Obj]:
        """Every object, sorted by `namespace/name` (stable pages)."""
        return [self._objects[k] for k in sorted(self._objects)]

    def max_resource_version(self) -> int:
        return max((resource_version(o) for o in self._objects.values()), default=0)
