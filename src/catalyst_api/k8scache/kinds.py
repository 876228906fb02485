"""The kinds registry: which resource types the cache holds, by wire name.

`DEFAULT_KINDS` is the earliest upstream list found (spec §6.4: "23 entries", of which its
table names 22, all here) plus the three Flux kinds the sandbox and Phase 1 care about,
`vcluster.io` vclusters and the eight `infra.openova.io` Day-2 claim kinds the infrastructure
page reads (issue 13). `event` is deliberately absent (an unbounded informer OOM-looped
upstream, #2125) and `KindRegistry.add` refuses it, so neither the ConfigMap nor the
kinds file can bring it back. Extensions use the ConfigMap CSV format
(`name,group,version,resource,namespaced[,sensitive]`), merged on top of the defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import structlog

__all__ = [
    "DEFAULT_KINDS",
    "FORBIDDEN_KINDS",
    "Kind",
    "KindRegistry",
    "parse_kinds_csv",
]

log = structlog.get_logger(__name__)

FORBIDDEN_KINDS = frozenset({"event", "events"})
"""Never cached, whatever the configuration says (#2125)."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One cached resource type: wire `name`, group/version/resource, scope, redaction."""

    name: str
    group: str
    version: str
    resource: str
    namespaced: bool
    sensitive: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _k(
    name: str, group: str, version: str, resource: str, namespaced: bool, sensitive: bool = False
) -> Kind:
    return Kind(name, group, version, resource, namespaced, sensitive)


_HCLOUD = "hcloud.crossplane.io"
_INFRA = "infra.openova.io"
DEFAULT_KINDS: tuple[Kind, ...] = (
    _k("namespace", "", "v1", "namespaces", False),
    _k("node", "", "v1", "nodes", False),
    _k("pod", "", "v1", "pods", True),
    _k("service", "", "v1", "services", True),
    _k("configmap", "", "v1", "configmaps", True, sensitive=True),
    _k("secret", "", "v1", "secrets", True, sensitive=True),
    _k("persistentvolumeclaim", "", "v1", "persistentvolumeclaims", True),
    _k("persistentvolume", "", "v1", "persistentvolumes", False),
    _k("deployment", "apps", "v1", "deployments", True),
    _k("statefulset", "apps", "v1", "statefulsets", True),
    _k("daemonset", "apps", "v1", "daemonsets", True),
    _k("replicaset", "apps", "v1", "replicasets", True),
    _k("ingress", "networking.k8s.io", "v1", "ingresses", True),
    _k("endpointslice", "discovery.k8s.io", "v1", "endpointslices", True),
    _k("server.hcloud", _HCLOUD, "v1alpha1", "servers", False),
    _k("loadbalancer.hcloud", _HCLOUD, "v1alpha1", "loadbalancers", False),
    _k("network.hcloud", _HCLOUD, "v1alpha1", "networks", False),
    _k("volume.hcloud", _HCLOUD, "v1alpha1", "volumes", False),
    _k("vcluster", "vcluster.com", "v1alpha1", "vclusters", True),
    _k("podmetrics", "metrics.k8s.io", "v1beta1", "pods", True),
    _k("policyreport", "wgpolicyk8s.io", "v1alpha2", "policyreports", True),
    _k("clusterpolicyreport", "wgpolicyk8s.io", "v1alpha2", "clusterpolicyreports", False),
    _k("helmrelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases", True),
    _k("kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations", True),
    _k("gitrepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories", True),
    # The infrastructure page (issue 13): vCluster's own API group, as the original reads it,
    # and the Day-2 Crossplane claims catalyst-api writes (namespace `catalyst-day2`).
    _k("vcluster.io", "vcluster.io", "v1alpha1", "vclusters", True),
    *(
        _k(f"{noun}claim", _INFRA, "v1alpha1", f"{noun}claims", True)
        for noun in (
            "region",
            "cluster",
            "vcluster",
            "nodepool",
            "loadbalancer",
            "peering",
            "firewallrule",
            "nodeaction",
        )
    ),
)

_SHORT = {
    "ns": "namespace",
    "no": "node",
    "po": "pod",
    "svc": "service",
    "cm": "configmap",
    "sec": "secret",
    "pvc": "persistentvolumeclaim",
    "pvcs": "persistentvolumeclaim",
    "pv": "persistentvolume",
    "pvs": "persistentvolume",
    "deploy": "deployment",
    "sts": "statefulset",
    "ds": "daemonset",
    "rs": "replicaset",
    "ing": "ingress",
    "ep": "endpointslice",
    "crd": "customresourcedefinition",
    "crds": "customresourcedefinition",
    "cnpg": "cnpgcluster",
    "cnpgclusters": "cnpgcluster",
    "hr": "helmrelease",
    "ks": "kustomization",
}


def _is_event(name: str, group: str, resource: str) -> bool:
    return name in FORBIDDEN_KINDS or (
        group in ("", "events.k8s.io") and resource.strip().lower() == "events"
    )


def canonical(name: str) -> str:
    """The wire id: lower case, no whitespace."""
    return "".join(name.split()).lower()


class KindRegistry:
    """Kinds by canonical name, in registration order; `get` also resolves plurals and short
    aliases (the first registration of a plural wins: `pods` → `pod`, not `podmetrics`)."""

    def __init__(self, kinds: Iterable[Kind] = DEFAULT_KINDS) -> None:
        self._kinds: dict[str, Kind] = {}
        for kind in kinds:
            self.add(kind)

    def add(self, kind: Kind) -> None:
        """Add or replace (same name) a kind. Raises `ValueError` without name or resource,
        or for a kind that is never cached."""
        name = canonical(kind.name)
        if not name or not kind.resource.strip():
            raise ValueError("a kind needs a name and a resource")
        if _is_event(name, kind.group, kind.resource):
            raise ValueError(f"kind {name!r} is never cached (unbounded; upstream #2125)")
        self._kinds[name] = Kind(
            name, kind.group, kind.version, kind.resource.strip(), kind.namespaced, kind.sensitive
        )

    def get(self, name: str) -> Kind | None:
        """The kind for a wire name, plural or short alias (case-insensitive), or None."""
        key = canonical(name)
        if key in self._kinds:
            return self._kinds[key]
        alias = _SHORT.get(key)
        if alias is not None and alias in self._kinds:
            return self._kinds[alias]
        for kind in self._kinds.values():
            if kind.resource.lower() == key:
                return kind
        return None

    def names(self) -> list[str]:
        """Every canonical name, sorted."""
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[Kind]:
        return iter(list(self._kinds.values()))

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


def _flag(text: str) -> bool:
    return text.strip().lower() == "true"


def parse_kinds_csv(text: str, *, source: str) -> list[Kind]:
    """Kinds from the ConfigMap CSV body: `name,group,version,resource,namespaced[,sensitive]`.

    Blank and `#` lines are skipped; a malformed line is warned about (naming `source` and
    the line number) and skipped, never fatal.
    """
    out: list[Kind] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 5:
            log.warning("k8scache kinds: line needs 5 fields, skipped", source=source, line=number)
            continue
        name, group, version, resource, namespaced = fields[:5]
        if not canonical(name) or not resource:
            log.warning(
                "k8scache kinds: line without name or resource, skipped", source=source, line=number
            )
            continue
        kind = Kind(
            canonical(name),
            group,
            version,
            resource,
            _flag(namespaced),
            _flag(fields[5]) if len(fields) > 5 else False,
        )
        if _is_event(kind.name, group, resource):
            log.warning(
                "k8scache kinds: events are never cached, skipped", source=source, line=number
            )
            continue
        out.append(kind)
    return out


def build_registry(extra: Iterable[Kind] = ()) -> KindRegistry:
    """The defaults with `extra` merged on top (same name replaces)."""
    registry = KindRegistry()
    for kind in extra:
        registry.add(kind)
    return registry
