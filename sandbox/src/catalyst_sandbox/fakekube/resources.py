"""The resource types the fake serves: built-in kinds plus CRDs registered at runtime."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ADDON_CRDS",
    "ADDON_TYPES",
    "BUILTIN_TYPES",
    "FLUX_COLUMNS",
    "FLUX_CRDS",
    "ResourceRegistry",
    "ResourceType",
    "TypeKey",
]

TypeKey = tuple[str, str]
"""(group, plural): the storage identity of a resource type (shared by all its versions)."""

CRUD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served (group, version, resource)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    status: bool = False
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = CRUD_VERBS
    categories: tuple[str, ...] = ()
    custom: bool = False
    generation: bool = False
    """Objects carry `metadata.generation` (spec-bearing built-ins and every custom resource;
    not ConfigMap, Secret, Namespace, Pod, Service, ...), as the apiserver's strategies do."""
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def api_version(self) -> str:
        """`group/version`, or just `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> TypeKey:
        """Storage identity (group, plural)."""
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        """Lower-cased kind, as discovery reports it."""
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        """`<Kind>List`."""
        return f"{self.kind}List"

    @property
    def has_generation(self) -> bool:
        """Whether the apiserver maintains `metadata.generation` for this type."""
        return self.generation or self.custom

    def all_subresources(self) -> tuple[str, ...]:
        """Subresource names served for this type (`status` first when present)."""
        return (("status",) if self.status else ()) + self.subresources


def _core(kind: str, plural: str, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", kind, plural, **kw)


def _apps(kind: str, plural: str, short: str, scale: bool = True) -> ResourceType:
    return ResourceType(
        "apps",
        "v1",
        kind,
        plural,
        short_names=(short,),
        status=True,
        subresources=("scale",) if scale else (),
        categories=("all",),
        generation=True,
    )


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _core(
        "Namespace",
        "namespaces",
        namespaced=False,
        short_names=("ns",),
        status=True,
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _core(
        "Pod", "pods", short_names=("po",), status=True, subresources=("log",), categories=("all",)
    ),
    _core("ConfigMap", "configmaps", short_names=("cm",)),
    _core("Secret", "secrets"),
    _core("Service", "services", short_names=("svc",), status=True, categories=("all",)),
    _core("Node", "nodes", namespaced=False, short_names=("no",), status=True),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _core("Event", "events", short_names=("ev",)),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), status=True),
    _core(
        "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",), status=True
    ),
    _core("ResourceQuota", "resourcequotas", short_names=("quota",), status=True),
    _core("LimitRange", "limitranges", short_names=("limits",)),
    _apps("Deployment", "deployments", "deploy"),
    _apps("StatefulSet", "statefulsets", "sts"),
    _apps("DaemonSet", "daemonsets", "ds", scale=False),
    _apps("ReplicaSet", "replicasets", "rs"),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        short_names=("ing",),
        status=True,
        generation=True,
    ),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", generation=True),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short_names=("crd", "crds"),
        status=True,
        generation=True,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        namespaced=False,
        verbs=("create",),
    ),
)
"""What a bare kube-apiserver serves (of what catalyst-api reads, spec §6.4)."""

ADDON_TYPES: tuple[ResourceType, ...] = (
    ResourceType("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", verbs=("get", "list")),
)
"""Aggregated APIs of the add-ons of a Sovereign (metrics-server: get and list, no watch)."""

_HCLOUD = "hcloud.crossplane.io"
ADDON_CRDS: tuple[tuple[str, str, str, str, bool, tuple[str, ...]], ...] = (
    (_HCLOUD, "v1alpha1", "Server", "servers", False, ()),
    (_HCLOUD, "v1alpha1", "LoadBalancer", "loadbalancers", False, ()),
    (_HCLOUD, "v1alpha1", "Network", "networks", False, ()),
    (_HCLOUD, "v1alpha1", "Volume", "volumes", False, ()),
    ("vcluster.com", "v1alpha1", "VCluster", "vclusters", True, ()),
    ("vcluster.io", "v1alpha1", "VCluster", "vclusters", True, ()),
    *(
        ("infra.openova.io", "v1alpha1", f"{kind}Claim", f"{kind.lower()}claims", True, ())
        for kind in (
            "Region",
            "Cluster",
            "VCluster",
            "NodePool",
            "LoadBalancer",
            "Peering",
            "FirewallRule",
            "NodeAction",
        )
    ),
    ("wgpolicyk8s.io", "v1alpha2", "PolicyReport", "policyreports", True, ("polr",)),
    (
        "wgpolicyk8s.io",
        "v1alpha2",
        "ClusterPolicyReport",
        "clusterpolicyreports",
        False,
        ("cpolr",),
    ),
)
"""(group, version, kind, plural, namespaced, short names) of the add-on CRDs of §6.4's
default kinds (Crossplane hcloud, vCluster under both groups, Kyverno policy reports) and the
Day-2 Crossplane claims (`infra.openova.io`) the infrastructure page writes."""

_READY = '.status.conditions[?(@.type=="Ready")]'
FLUX_COLUMNS: tuple[dict[str, str], ...] = (
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Ready", "type": "string", "jsonPath": f"{_READY}.status"},
    {"name": "Status", "type": "string", "jsonPath": f"{_READY}.message"},
)
"""The printer columns Flux's own CRDs declare (what `kubectl get hr` shows)."""

FLUX_CRDS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases", ("hr",)),
    ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", ("ks",)),
    ("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories", ("gitrepo",)),
)
"""(group, version, kind, plural, short names) of the Flux CRDs every fake cluster starts with."""


class ResourceRegistry:
    """Lookup tables for served types. Not locked: the state object guards it with its lock."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._by_gvk: dict[tuple[str, str], ResourceType] = {}
        for rt in BUILTIN_TYPES:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        """Serve `rt` (replacing a previous definition of the same group/version/plural)."""
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
        self._by_gvk[(rt.api_version, rt.kind)] = rt

    def remove_group_resource(self, group: str, plural: str) -> None:
        """Stop serving every version of `plural.group`."""
        for gvr, rt in list(self._by_gvr.items()):
            if rt.group == group and rt.plural == plural:
                del self._by_gvr[gvr]
                self._by_gvk.pop((rt.api_version, rt.kind), None)

    def by_resource(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at `/apis/<group>/<version>/<plural>`."""
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The type for an object's `apiVersion` + `kind`."""
        return self._by_gvk.get((api_version, kind))

    def types(self) -> list[ResourceType]:
        """Every served type, sorted by group, version, plural."""
        return sorted(self._by_gvr.values(), key=lambda r: (r.group, r.version, r.plural))

    def group_versions(self) -> dict[str, list[str]]:
        """group → served versions (the preferred one first), core group excluded."""
        out: dict[str, list[str]] = {}
        for rt in self.types():
            if rt.group and rt.version not in out.setdefault(rt.group, []):
                out[rt.group].append(rt.version)
        for versions in out.values():
            versions.sort(key=_version_priority)
        return out


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    stage = {"": 0, "beta": 1, "alpha": 2}[m.group(2) or ""]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0))
