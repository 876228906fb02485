"""Minimal OpenAPI v3 documents: just enough for kubectl's `apply`, `create` and `patch`.

kubectl validates manifests by asking whether the server does field validation itself: it
reads `/openapi/v3`, then the group-version document, and looks for a PATCH operation tagged
with the kind's `x-kubernetes-group-version-kind` that takes a `fieldValidation` query
parameter. We declare one for every served kind, so kubectl skips client-side schema
validation (and sends `fieldValidation=Strict`, which the fake accepts and ignores). The PATCH
request bodies deliberately omit `application/strategic-merge-patch+json`: kubectl then builds
client-side-apply patches from its compiled-in types (strategic merge for built-in kinds, JSON
merge for custom resources) instead of from schemas we do not serve. `/openapi/v2` is a 404
(kubectl wants protobuf there); kubectl tolerates that once v3 is available.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from .resources import ResourceType

__all__ = ["document"]

_QUERY = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")
_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)


def _gv_path(rt: ResourceType) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"


def _item_path(rt: ResourceType) -> str:
    scope = "namespaces/{namespace}/" if rt.namespaced else ""
    return f"/{_gv_path(rt)}/{scope}{rt.plural}/{{name}}"


def _patch_op(rt: ResourceType) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{rt.kind}"}
    return {
        "operationId": f"patch{rt.kind}",
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {
            "group": rt.group,
            "version": rt.version,
            "kind": rt.kind,
        },
        "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}} for n in _QUERY],
        "requestBody": {
            "content": {t: {"schema": {"type": "object"}} for t in _PATCH_TYPES},
            "required": True,
        },
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}}
        },
    }


def _gv_document(types: list[ResourceType]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        if rt.namespaced:
            params.append(
                {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if "patch" in rt.verbs:
            paths[_item_path(rt)] = {"patch": _patch_op(rt), "parameters": params}
        schemas[rt.kind] = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-group-version-kind": [
                {"group": rt.group, "version": rt.version, "kind": rt.kind}
            ],
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (fakekube)", "version": "v1.32.3"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _by_gv(types: list[ResourceType]) -> dict[str, list[ResourceType]]:
    out: dict[str, list[ResourceType]] = {}
    for rt in types:
        out.setdefault(_gv_path(rt), []).append(rt)
    return out


def document(parts: list[str], types: list[ResourceType]) -> dict[str, Any] | None:
    """The document at `/openapi/<parts...>`, or None (404)."""
    if parts[:1] != ["v3"]:
        return None
    groups = _by_gv(types)
    if len(parts) == 1:
        index = {}
        for gv, members in groups.items():
            digest = hashlib.sha256(orjson.dumps(_gv_document(members))).hexdigest()[:32]
            index[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest.upper()}"}
        return {"paths": index}
    served = groups.get("/".join(parts[1:]))
    return _gv_document(served) if served else None
