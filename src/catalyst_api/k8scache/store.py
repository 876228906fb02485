"""The in-memory indexer of one (cluster, kind): objects by `namespace/name`.

Objects are stored already redacted and without `managedFields` (see `redact`), so nothing
that leaves the cache can carry a secret value and memory holds only what readers see. Each is
held as an `Entry`: its compact JSON bytes (exact size) plus the few fields readers filter and
sort on (namespace, labels, resourceVersion), so a cached object costs little more than its
JSON, a list response is a join of stored bytes, and an object is decoded only when a reader
needs the dict. The last-event time (wall clock, unix seconds) drives the staleness header and
the metric.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from .kinds import Kind
from .types import Obj

__all__ = ["Entry", "Indexer", "encode_object", "object_key", "resource_version"]


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


def encode_object(obj: Obj) -> bytes:
    """Compact JSON of `obj` as an exact-size `bytes` (orjson's output over-allocates)."""
    return bytes(memoryview(orjson.dumps(obj)))


def _labels(meta: Any) -> tuple[str, ...]:
    """`metadata.labels` as a flat `(k1, v1, k2, v2, ...)` tuple of interned strings."""
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict) or not labels:
        return ()
    flat: list[str] = []
    for k, v in labels.items():
        flat.append(sys.intern(str(k)))
        flat.append(sys.intern(str(v)))
    return tuple(flat)


class Entry:
    """One cached object: its JSON bytes and what readers filter, sort and page on."""

    __slots__ = ("key", "labels", "namespace", "raw", "rv")

    def __init__(self, obj: Obj, raw: bytes | None = None) -> None:
        meta = obj.get("metadata")
        self.key = object_key(obj)
        self.raw = encode_object(obj) if raw is None else raw
        ns = meta.get("namespace") if isinstance(meta, dict) else None
        self.namespace = sys.intern(str(ns or ""))
        self.labels = _labels(meta)
        self.rv = resource_version(obj)

    @property
    def name(self) -> str:
        return self.key[len(self.namespace) + 1 :]

    def label_dict(self) -> dict[str, str]:
        it = iter(self.labels)
        return dict(zip(it, it, strict=True))

    def obj(self) -> Obj:
        """The object as a fresh dict (decoded from the stored bytes)."""
        decoded: Obj = orjson.loads(self.raw)
        return decoded


class Indexer:
    """Objects of one kind in one cluster; `synced` once the first list arrived."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._order: list[str] | None = None
        """The sorted keys, kept until a key is added or removed (an update keeps the order)."""
        self.last_event: float | None = None
        self.synced = False
        self.served = True
        """False while the cluster answers 404 for this kind (not installed there)."""

    def __len__(self) -> int:
        return len(self._entries)

    def replace(self, items: list[Obj], at: float | None) -> dict[str, Entry]:
        """Replace the whole set (a list, or a hydrated snapshot); returns the previous set."""
        return self.replace_entries([Entry(o) for o in items], at)

    def replace_entries(self, entries: list[Entry], at: float | None) -> dict[str, Entry]:
        """`replace` with entries already built; returns the previous set."""
        old = self._entries
        self._entries = {e.key: e for e in entries}
        self._order = None
        if at is not None:
            self.last_event = at
        return old

    def upsert(self, obj: Obj, at: float) -> Entry:
        entry = Entry(obj)
        if self._entries.setdefault(entry.key, entry) is not entry:
            self._entries[entry.key] = entry
        else:
            self._order = None
        self.last_event = at
        return entry

    def delete(self, obj: Obj, at: float) -> Entry | None:
        """Remove the object; returns what was cached (None if it was not)."""
        self.last_event = at
        entry = self._entries.pop(object_key(obj), None)
        if entry is not None:
            self._order = None
        return entry

    def get(self, key: str) -> Obj | None:
        entry = self._entries.get(key)
        return entry.obj() if entry is not None else None

    def entries(self) -> list[Entry]:
        """Every entry, sorted by `namespace/name` (stable pages)."""
        if self._order is None:
            self._order = sorted(self._entries)
        entries = self._entries
        return [entries[k] for k in self._order]

    def items(self) -> list[Obj]:
        """Every object decoded, sorted by `namespace/name`."""
        return [e.obj() for e in self.entries()]

    def max_resource_version(self) -> int:
        return max((e.rv for e in self._entries.values()), default=0)
