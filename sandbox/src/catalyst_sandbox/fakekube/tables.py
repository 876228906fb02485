"""Server-side printing: `meta.k8s.io/v1 Table` answers for `kubectl get` (Accept `as=Table`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

__all__ = ["table", "wants_table"]

Obj = dict[str, Any]
Column = tuple[str, str, Callable[[Obj], Any]]  # (name, type, value)


def wants_table(accept: str) -> bool:
    """Whether the client asked for a Table rendering."""
    return "as=Table" in accept


def _age(obj: Obj) -> str:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    secs = max(0, int((datetime.now(UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= 2 * size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def json_path(obj: Obj, expr: str) -> Any:
    """Tiny JSONPath for printer columns: `.a.b`, `[0]`, `[?(@.type=="Ready")]`."""
    cur: Any = obj
    for token in re.findall(r"\[\?\(@\.\w+==[\"'][^\"']*[\"']\)\]|\[\d+\]|\.[\w-]+", expr):
        if token.startswith("[?"):
            m = re.match(r"\[\?\(@\.(\w+)==[\"']([^\"']*)[\"']\)\]", token)
            assert m is not None
            key, value = m.groups()
            cur = next((i for i in cur or [] if isinstance(i, dict) and i.get(key) == value), None)
        elif token.startswith("["):
            idx = int(token[1:-1])
            cur = cur[idx] if isinstance(cur, list) and idx < len(cur) else None
        else:
            cur = cur.get(token[1:]) if isinstance(cur, dict) else None
    return cur


def _pod_ready(pod: Obj) -> str:
    total = len(_get(pod, "spec", "containers") or [])
    ready = sum(1 for s in _get(pod, "status", "containerStatuses") or [] if s.get("ready"))
    return f"{ready}/{total}"


def _restarts(pod: Obj) -> int:
    return sum(
        int(s.get("restartCount", 0)) for s in _get(pod, "status", "containerStatuses") or []
    )


_NAME: Column = ("Name", "string", lambda o: o["metadata"]["name"])
_AGE: Column = ("Age", "string", _age)
_BUILTIN_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [
        _NAME,
        ("Ready", "string", _pod_ready),
        ("Status", "string", lambda o: _get(o, "status", "reason") or _get(o, "status", "phase")),
        ("Restarts", "integer", _restarts),
        _AGE,
    ],
    ("", "namespaces"): [_NAME, ("Status", "string", lambda o: _get(o, "status", "phase")), _AGE],
    ("", "configmaps"): [_NAME, ("Data", "integer", lambda o: len(o.get("data") or {})), _AGE],
    ("", "secrets"): [
        _NAME,
        ("Type", "string", lambda o: o.get("type")),
        ("Data", "integer", lambda o: len(o.get("data") or {})),
        _AGE,
    ],
    ("", "services"): [
        _NAME,
        ("Type", "string", lambda o: _get(o, "spec", "type")),
        ("Cluster-IP", "string", lambda o: _get(o, "spec", "clusterIP")),
        _AGE,
    ],
    ("apps", "deployments"): [
        _NAME,
        (
            "Ready",
            "string",
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas') or 0}/{_get(o, 'spec', 'replicas') or 0}"
            ),
        ),
        ("Available", "integer", lambda o: _get(o, "status", "availableReplicas") or 0),
        _AGE,
    ],
}


def _path_getter(path: str) -> Callable[[Obj], Any]:
    return lambda obj: json_path(obj, path)


def _columns(rt: ResourceType) -> list[Column]:
    if rt.printer_columns:
        cols: list[Column] = [_NAME]
        for spec in rt.printer_columns:
            path = str(spec.get("jsonPath", ""))
            if path == ".metadata.creationTimestamp":
                cols.append((str(spec.get("name", "Age")), "string", _age))
            else:
                cols.append(
                    (str(spec.get("name")), str(spec.get("type", "string")), _path_getter(path))
                )
        return cols
    return _BUILTIN_COLUMNS.get(rt.key, [_NAME, _AGE])


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def table(
    rt: ResourceType,
    items: list[Obj],
    list_meta: Obj | None,
    include_object: str = "Metadata",
    headers: bool = True,
) -> Obj:
    """A Table of `items` (column definitions omitted when `headers` is False)."""
    cols = _columns(rt)
    defs = [
        {
            "name": n,
            "type": t,
            "format": "name" if n == "Name" else "",
            "description": n,
            "priority": 0,
        }
        for n, t, _ in cols
    ]
    rows = []
    for obj in items:
        row: Obj = {"cells": [("" if (v := fn(obj)) is None else v) for _, _, fn in cols]}
        embedded = _row_object(obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta or {},
        "columnDefinitions": defs if headers else None,
        "rows": rows,
    }
