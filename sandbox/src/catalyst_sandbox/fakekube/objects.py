"""Pure transformations of object dicts on write: create normalisation and update merging."""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from .admission import default_on_create, fold_string_data
from .errors import KubeApiError, invalid
from .resources import ResourceType

__all__ = ["clone", "merge_update", "prepare_create"]

Obj = dict[str, Any]
_SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "selfLink",
)


def clone(obj: Any) -> Any:
    """Deep copy of JSON data."""
    return orjson.loads(orjson.dumps(obj))


def _body(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_create(
    rt: ResourceType, obj: Obj, namespace: str | None, keep_status: bool
) -> tuple[Obj, str, str]:
    """A copy of `obj` ready to store, with its namespace ("" if cluster-scoped) and name.

    Resolves generateName, checks the name (422) and namespace (400 on mismatch), strips
    server-owned metadata, drops `status` unless `keep_status`, applies per-kind defaults.
    """
    obj = clone(obj)
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise KubeApiError(400, "BadRequest", "metadata must be an object")
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
    name = meta.get("name") or ""
    if not name:
        raise invalid(
            rt.kind,
            rt.group,
            "",
            "metadata.name",
            "Required value: name or generateName is required",
        )
    if rt.namespaced:
        ns = namespace or meta.get("namespace") or "default"
        if meta.get("namespace") not in (None, "", ns):
            raise KubeApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does "
                "not match the namespace sent on the request",
            )
        meta["namespace"] = ns
    else:
        ns = ""
        meta.pop("namespace", None)
    for server_field in _SERVER_FIELDS:
        meta.pop(server_field, None)
    if rt.status and not keep_status:
        obj.pop("status", None)
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    default_on_create(rt, obj)
    return obj, ns, name


def merge_update(rt: ResourceType, current: Obj, new: Obj, subresource: str | None) -> Obj:
    """The object an update of `current` with `new` stores (before its resourceVersion).

    Main resource: everything but `status` (kept from `current` when the type has a status
    subresource). `status` subresource: only `status`. Identity metadata is kept; the
    generation is bumped when anything outside metadata/status changed.
    """
    if subresource == "status":
        merged = {**current, "status": new.get("status")}
        if merged["status"] is None:
            merged.pop("status")
    else:
        merged = {k: v for k, v in new.items() if k != "status"}
        if rt.status:
            if "status" in current:
                merged["status"] = current["status"]
        elif "status" in new:
            merged["status"] = new["status"]
        if rt.key == ("", "secrets"):
            fold_string_data(merged)
    meta = dict(merged.get("metadata") or {})
    old_meta = current["metadata"]
    if subresource == "status":
        meta = dict(old_meta)
    for fixed in ("name", "namespace", "uid", "creationTimestamp", "generation"):
        if fixed in old_meta:
            meta[fixed] = old_meta[fixed]
    meta.pop("managedFields", None)
    if rt.has_generation and _body(merged) != _body(current):
        meta["generation"] = int(old_meta.get("generation", 1)) + 1
    merged["metadata"] = meta
    merged["apiVersion"], merged["kind"] = current["apiVersion"], current["kind"]
    return merged
