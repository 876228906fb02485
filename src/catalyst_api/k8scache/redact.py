"""What leaves the cache: `managedFields` never, Sensitive kinds without their values.

Unlike upstream (spec §6.9 quirks), `managedFields` are stripped from every cached object (they
are large and useless to readers) and a ConfigMap's `binaryData` is removed with `data` and
`stringData`. The `kubectl.kubernetes.io/last-applied-configuration` annotation of a Sensitive
kind holds the same values, so it goes too.
"""

from __future__ import annotations

from .kinds import Kind
from .types import Obj

__all__ = ["LAST_APPLIED", "REDACTED", "redact", "strip_managed_fields"]

REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_VALUE_FIELDS = ("data", "stringData", "binaryData")


def strip_managed_fields(obj: Obj) -> Obj:
    """`obj` without `metadata.managedFields` (a shallow copy when there were any)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        meta = {k: v for k, v in meta.items() if k != "managedFields"}
        return {**obj, "metadata": meta}
    return obj


def redact(obj: Obj, kind: Kind) -> Obj:
    """A copy of a Sensitive kind's object without values (`redactedKeys`, `redactedValue`);
    any other object unchanged (the same object)."""
    if not kind.sensitive:
        return obj
    out = {k: v for k, v in obj.items() if k not in _VALUE_FIELDS}
    keys: set[str] = set()
    for name in _VALUE_FIELDS:
        values = obj.get(name)
        if isinstance(values, dict):
            keys.update(str(k) for k in values)
    if keys:
        out["redactedKeys"] = sorted(keys)
        out["redactedValue"] = REDACTED
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(meta, dict) and isinstance(annotations, dict) and LAST_APPLIED in annotations:
        kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        out["metadata"] = {**meta, "annotations": kept}
    return out
