"""Patch formats: JSON merge patch, a strategic-merge subset, and JSON patch.

Strategic merge (what `kubectl apply`/`patch` send for built-in kinds) is implemented for the
list fields our kinds use: lists of containers, init/ephemeral containers, env, volumes,
imagePullSecrets merge by `name`; volumeMounts by `mountPath`; conditions by `type`;
ownerReferences by `uid`; container ports by `containerPort` and service ports by `port`;
`finalizers` is a merged set. Directives honoured: `$patch: replace|delete` (maps and list
items), `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`. Any other
field follows JSON merge patch rules (lists replace, null deletes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .errors import KubeApiError

__all__ = ["json_patch", "merge_patch", "patch_function", "strategic_merge_patch"]

_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
}
_SET_LISTS = frozenset({"finalizers"})
_DELETE = object()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        dicts = [i for i in items if isinstance(i, dict)]
        return "containerPort" if any("containerPort" in i for i in dicts) else "port"
    return _MERGE_KEYS.get(field)


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    current_list = list(current) if isinstance(current, list) else []
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in _SET_LISTS:
        return current_list + [v for v in patch if v not in current_list]
    key = _merge_key(field, current_list + patch)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return _strip_directives(patch)  # type: ignore[no-any-return]
    result = [c for c in current_list if isinstance(c, dict)]
    for item in patch:
        idx = next((n for n, c in enumerate(result) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
        elif idx is None:
            result.append(_strip_directives(item))
        else:
            result[idx] = strategic_merge_patch(result[idx], item)
    return result


def _reorder(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def ident(v: Any) -> Any:
        return v.get(key) if key is not None and isinstance(v, dict) else v

    wanted = [ident(o) for o in order]
    ranked = [i for w in wanted for i in items if ident(i) == w]
    return ranked + [i for i in items if ident(i) not in wanted]


def _smp(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip_directives(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            merged = _smp(result.get(key), value)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
        elif key.startswith("$setElementOrder/") and isinstance(value, list):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = _reorder(result[name], value, _merge_key(name, value))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch (the subset documented in this module)."""
    result = _smp(target, patch)
    return {} if result is _DELETE else result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error(f"invalid JSON pointer {path!r}")
    return [_unescape(t) for t in path[1:].split("/")]


def _patch_error(message: str) -> KubeApiError:
    return KubeApiError(422, "Invalid", f"the server rejected our request: {message}")


def _parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            raise _patch_error(f"path segment {tok!r} not found")
    return cur, tokens[-1]


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _patch_error(f"path {'/'.join(tokens)!r} not found")


def _remove(doc: Any, tokens: list[str]) -> Any:
    value = _get(doc, tokens)
    parent, last = _parent(doc, tokens)
    if isinstance(parent, dict):
        del parent[last]
    else:
        parent.pop(int(last))
    return value


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _patch_error(f"array index {last!r} out of range")
    else:
        raise _patch_error("cannot add to a scalar")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(operations, list):
        raise _patch_error("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise _patch_error(f"invalid operation {op!r}")
        tokens = _pointer(op["path"])
        kind = op["op"]
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            _get(doc, tokens)
            if tokens:
                _remove(doc, tokens)
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(str(op.get("from", "")))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op.get("value"):
                raise _patch_error(f"test operation failed at {op['path']!r}")
        else:
            raise _patch_error(f"unknown operation {kind!r}")
    return doc


def patch_function(content_type: str, body: Any, custom: bool) -> Callable[[Any], dict[str, Any]]:
    """current object → patched object, for a PATCH request's Content-Type.

    `application/apply-patch+yaml` (server-side apply) is applied as a JSON merge patch of the
    applied configuration: fields the manager stops sending are not removed, and there are no
    field-ownership conflicts. Strategic merge on custom resources is a 415, as upstream.
    """
    if content_type in ("application/merge-patch+json", "application/apply-patch+yaml"):
        apply: Callable[[Any], Any] = lambda cur: merge_patch(cur, body)  # noqa: E731
    elif content_type == "application/strategic-merge-patch+json" and not custom:
        apply = lambda cur: strategic_merge_patch(cur, body)  # noqa: E731
    elif content_type == "application/json-patch+json":
        apply = lambda cur: json_patch(cur, body)  # noqa: E731
    elif content_type == "application/strategic-merge-patch+json":
        raise KubeApiError(
            415,
            "UnsupportedMediaType",
            "strategic merge patch is not supported for custom resources; use merge or apply",
        )
    else:
        raise KubeApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an "
            "unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml, application/strategic-merge-patch+json",
        )

    def checked(current: Any) -> dict[str, Any]:
        result = apply(current)
        if not isinstance(result, dict):
            raise KubeApiError(422, "Invalid", "the patched object is not a JSON object")
        return result

    return checked
