"""The dashboard treemap (spec §10.1) computed from live data, never from the fixture.

Query contract kept from the original: `group_by` (comma list of sovereign, cluster, family,
namespace, application; default application), `color_by` (utilization, health, age; default
utilization), `size_by` (cpu_limit, memory_limit, storage_limit, replica_count; default
cpu_limit), 400 `invalid-group-by` / `invalid-color-by` / `invalid-size-by`.

Data: for every Sovereign the k8scache holds (or only `deployment_id`'s, when given), its pods
become *workloads*, one per (Sovereign, namespace, application): the application is the `bp-*`
HelmRelease that owns the pods (by Helm's `app.kubernetes.io/instance` release name, or Flux's
`helm.toolkit.fluxcd.io/name` label), `unmanaged` for pods no `bp-*` release owns. A workload
sums its pods' container CPU limits (millicores) and memory limits (bytes), the sizes of the
PVCs they mount (bytes), and counts its pods (replicas; ready ones for `replica_count`). Its
percentage is utilization (PodMetrics usage / limit, CPU — memory for `size_by=memory_limit`)
where metrics exist, else health (ready pods / pods); `health` and `age` (oldest pod's age over
30 days) as asked. All percentages are within [0, 100].

Grouping follows the original's rules: one dimension → a flat list (count and size summed,
percentage a size-weighted running mean that the first workload sets and a workload added to a
zero size leaves alone); two or more → the first two only, parents in first-appearance order
with children by the second dimension, parent percentage the size-weighted mean of its
children (0 when the total size is 0). `size_value` is omitted when 0; `total_count` is the
number of workloads. No live data → `{"items": [], "total_count": 0}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidRequest
from ..wire.kit import COMPONENTS

__all__ = [
    "ClusterObjects",
    "TreemapQuery",
    "Workload",
    "parse_quantity",
    "parse_query",
    "render",
    "workloads",
]

Obj = dict[str, Any]

DIMENSIONS = ("sovereign", "cluster", "family", "namespace", "application")
COLORS = ("utilization", "health", "age")
SIZES = ("cpu_limit", "memory_limit", "storage_limit", "replica_count")
AGE_WINDOW_DAYS = 30.0
UNMANAGED = "unmanaged"
FAMILY_LABEL = "catalyst.openova.io/family"
_OTHER_FAMILIES = {
    # Applications beyond the bootstrap kit (whose families `wire.kit` defines).
    "fabric": ("cnpg", "seaweedfs"),
    "cortex": ("kserve", "axon"),
    "observability": ("prometheus", "grafana", "tempo", "loki"),
    "security": ("coraza", "syft-grype"),
}
_FAMILY_OF = {
    **{app: fam for fam, apps in _OTHER_FAMILIES.items() for app in apps},
    **{c.id: c.family for c in COMPONENTS},
}


@dataclass(frozen=True, slots=True)
class TreemapQuery:
    group_by: tuple[str, ...]
    color_by: str
    size_by: str


def parse_query(params: Mapping[str, str]) -> TreemapQuery:
    """Defaults and 400s of spec §10.1."""
    raw = params.get("group_by", "").strip() or "application"
    dims = tuple(token.strip() for token in raw.split(","))
    for token in dims:
        if token not in DIMENSIONS:
            raise InvalidRequest("invalid-group-by", f"unsupported dimension: {token}")
    color = params.get("color_by", "").strip() or "utilization"
    if color not in COLORS:
        raise InvalidRequest("invalid-color-by", f"unsupported color metric: {color}")
    size = params.get("size_by", "").strip() or "cpu_limit"
    if size not in SIZES:
        raise InvalidRequest("invalid-size-by", f"unsupported size metric: {size}")
    return TreemapQuery(dims, color, size)


_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


def parse_quantity(text: Any) -> float:
    """A Kubernetes quantity (`250m`, `1.5`, `512Mi`, `1e3`) as a number; bad → 0."""
    if not isinstance(text, str) or not text.strip():
        return 0.0
    m = _QUANTITY.match(text.strip())
    if m is None or m.group(3) not in _SUFFIX:
        return 0.0
    value = float(m.group(1)) * (10.0 ** int(m.group(2)) if m.group(2) else 1.0)
    return value * _SUFFIX[m.group(3)]


@dataclass
class ClusterObjects:
    """What one Sovereign's cache holds for the treemap."""

    sovereign_id: str
    name: str
    pods: list[Obj] = field(default_factory=list)
    pvcs: list[Obj] = field(default_factory=list)
    metrics: list[Obj] = field(default_factory=list)
    helmreleases: list[Obj] = field(default_factory=list)


@dataclass
class Workload:
    """One (Sovereign, namespace, application): the treemap's leaf."""

    sovereign_id: str
    sovereign: str
    namespace: str
    application: str
    family: str
    pods: int = 0
    ready: int = 0
    cpu_limit: float = 0.0
    memory_limit: float = 0.0
    storage: float = 0.0
    cpu_usage: float = 0.0
    memory_usage: float = 0.0
    has_metrics: bool = False
    oldest: datetime | None = None

    def size(self, size_by: str) -> float:
        return {
            "cpu_limit": self.cpu_limit,
            "memory_limit": self.memory_limit,
            "storage_limit": self.storage,
            "replica_count": float(self.ready),
        }[size_by]

    def count(self, size_by: str) -> int:
        return self.ready if size_by == "replica_count" else self.pods

    def percentage(self, query: TreemapQuery, now: datetime) -> float:
        health = 100.0 * self.ready / self.pods if self.pods else 0.0
        if query.color_by == "age":
            if self.oldest is None:
                return 0.0
            days = (now - self.oldest).total_seconds() / 86400.0
            return _clamp(100.0 * days / AGE_WINDOW_DAYS)
        if query.color_by == "health" or not self.has_metrics:
            return _clamp(health)
        memory = query.size_by == "memory_limit"
        used, limit = (
            (self.memory_usage, self.memory_limit) if memory else (self.cpu_usage, self.cpu_limit)
        )
        return _clamp(100.0 * used / limit) if limit else 0.0


def _clamp(value: float) -> float:
    return round(min(100.0, max(0.0, value)), 2)


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _key(obj: Obj) -> tuple[str, str]:
    meta = _meta(obj)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _release_owners(helmreleases: Iterable[Obj]) -> dict[str, Obj]:
    """Helm release name (and the HelmRelease name) → the `bp-*` HelmRelease."""
    out: dict[str, Obj] = {}
    for hr in helmreleases:
        name = str(_meta(hr).get("name") or "")
        if not name.startswith("bp-"):
            continue
        spec = _dict(hr.get("spec"))
        target = str(spec.get("targetNamespace") or "")
        release = str(spec.get("releaseName") or (f"{target}-{name}" if target else name))
        out[release] = hr
        out.setdefault(name, hr)
    return out


def _ready(pod: Obj) -> bool:
    status = _dict(pod.get("status"))
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def _created(obj: Obj) -> datetime | None:
    raw = _meta(obj).get("creationTimestamp")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _family(app: str, hr: Obj | None, pod_labels: Mapping[str, str]) -> str:
    hr_labels = _meta(hr).get("labels") if hr is not None else None
    if isinstance(hr_labels, dict) and hr_labels.get(FAMILY_LABEL):
        return str(hr_labels[FAMILY_LABEL])
    if pod_labels.get(FAMILY_LABEL):
        return str(pod_labels[FAMILY_LABEL])
    return _FAMILY_OF.get(app.removeprefix("bp-"), "other")


def workloads(clusters: Iterable[ClusterObjects]) -> list[Workload]:
    """Every workload of these Sovereigns, sorted by Sovereign, namespace, application."""
    out: dict[tuple[str, str, str], Workload] = {}
    for cluster in clusters:
        owners = _release_owners(cluster.helmreleases)
        pvcs = {_key(p): p for p in cluster.pvcs}
        metrics = {_key(m): m for m in cluster.metrics}
        for pod in cluster.pods:
            meta = _meta(pod)
            labels = _dict(meta.get("labels"))
            ns = str(meta.get("namespace") or "")
            hr = None
            for label in ("app.kubernetes.io/instance", "helm.toolkit.fluxcd.io/name"):
                hr = owners.get(str(labels.get(label) or ""))
                if hr is not None:
                    break
            app = str(_meta(hr).get("name")) if hr is not None else UNMANAGED
            key = (cluster.sovereign_id, ns, app)
            w = out.get(key)
            if w is None:
                w = out[key] = Workload(
                    cluster.sovereign_id, cluster.name, ns, app, _family(app, hr, labels)
                )
            _add_pod(w, pod, ns, pvcs, metrics)
    return [out[k] for k in sorted(out)]


def _add_pod(
    w: Workload,
    pod: Obj,
    ns: str,
    pvcs: Mapping[tuple[str, str], Obj],
    metrics: Mapping[tuple[str, str], Obj],
) -> None:
    spec = _dict(pod.get("spec"))
    w.pods += 1
    w.ready += _ready(pod)
    created = _created(pod)
    if created is not None and (w.oldest is None or created < w.oldest):
        w.oldest = created
    for container in spec.get("containers") or []:
        limits = ((container or {}).get("resources") or {}).get("limits") or {}
        w.cpu_limit += parse_quantity(limits.get("cpu")) * 1000.0
        w.memory_limit += parse_quantity(limits.get("memory"))
    for volume in spec.get("volumes") or []:
        claim = ((volume or {}).get("persistentVolumeClaim") or {}).get("claimName")
        pvc = pvcs.get((ns, str(claim))) if claim else None
        if pvc is not None:
            requests = ((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}
            w.storage += parse_quantity(requests.get("storage"))
    usage = metrics.get(_key(pod))
    if usage is not None:
        w.has_metrics = True
        for container in usage.get("containers") or []:
            used = (container or {}).get("usage") or {}
            w.cpu_usage += parse_quantity(used.get("cpu")) * 1000.0
            w.memory_usage += parse_quantity(used.get("memory"))


def _dimension(w: Workload, dim: str) -> tuple[str, str]:
    if dim == "sovereign":
        return f"sovereign-{w.sovereign_id}", w.sovereign
    if dim == "cluster":
        return w.sovereign, w.sovereign
    if dim == "namespace":
        return w.namespace, w.namespace
    if dim == "family":
        return w.family, w.family[:1].upper() + w.family[1:]
    return w.application, w.application.removeprefix("bp-")


def _item(ident: str, name: str, count: int, pct: float, size: float) -> Obj:
    out: Obj = {"id": ident, "name": name, "count": count, "percentage": pct}
    if size:
        out["size_value"] = size
    return out


def _flat(items: list[Workload], dim: str, query: TreemapQuery, now: datetime) -> list[Obj]:
    groups: dict[str, Obj] = {}
    for w in items:
        ident, name = _dimension(w, dim)
        size, pct = w.size(query.size_by), w.percentage(query, now)
        g = groups.get(ident)
        if g is None:
            groups[ident] = {
                "id": ident,
                "name": name,
                "count": w.count(query.size_by),
                "pct": pct,
                "size": size,
            }
            continue
        g["count"] += w.count(query.size_by)
        if g["size"] > 0:
            g["pct"] = (g["pct"] * g["size"] + pct * size) / (g["size"] + size)
        g["size"] += size
    return [
        _item(g["id"], g["name"], g["count"], round(g["pct"], 2), g["size"])
        for g in groups.values()
    ]


def render(items: list[Workload], query: TreemapQuery, now: datetime | None = None) -> Obj:
    """The `{"items", "total_count"}` body."""
    when = now or datetime.now(UTC)
    if len(query.group_by) == 1:
        return {"items": _flat(items, query.group_by[0], query, when), "total_count": len(items)}
    first, second = query.group_by[0], query.group_by[1]
    parents: dict[str, tuple[str, list[Workload]]] = {}
    for w in items:
        ident, name = _dimension(w, first)
        parents.setdefault(ident, (name, []))[1].append(w)
    out = []
    for ident, (name, members) in parents.items():
        children = _flat(members, second, query, when)
        sizes = [float(c.get("size_value", 0.0)) for c in children]
        total = sum(sizes)
        weighted = sum(c["percentage"] * s for c, s in zip(children, sizes, strict=True))
        pct = weighted / total if total else 0.0
        parent = _item(ident, name, sum(c["count"] for c in children), round(pct, 2), total)
        parent["children"] = children
        out.append(parent)
    return {"items": out, "total_count": len(items)}
