"""The bootstrap kit the Flux simulator installs, and the sandbox's timings.

The 11 `bp-*` HelmReleases are created in `flux-system` by the `bootstrap-kit` Kustomization
and install in the order of platform §8, each depending on the one before it (`dependsOn`):
cilium → cert-manager → flux → crossplane → sealed-secrets → spire → nats-jetstream → openbao →
keycloak → gitea → catalyst-platform. Component ids are the release names without `bp-`
(`nats-jetstream`, not the `jetstream` of the original's Phase 1 retry list).

Timings are seconds at `--sandbox-speed 1` (a deployment reaches `ready` in about a minute);
`Timings.scaled(speed)` divides them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

__all__ = [
    "CHART_VERSION",
    "COMPONENTS",
    "KIT_NAMESPACE",
    "Component",
    "Timings",
    "dependencies",
    "parse_fail_components",
    "release_name",
]

KIT_NAMESPACE = "flux-system"
CHART_VERSION = "1.0.0"


@dataclass(frozen=True, slots=True)
class Component:
    """One bootstrap-kit component: its id, the namespace its chart installs into, and how
    long its Helm install takes at speed 1."""

    id: str
    target_namespace: str
    install_seconds: float


COMPONENTS: tuple[Component, ...] = (
    Component("cilium", "kube-system", 4.0),
    Component("cert-manager", "cert-manager", 3.0),
    Component("flux", "flux-system", 2.5),
    Component("crossplane", "crossplane-system", 4.0),
    Component("sealed-secrets", "kube-system", 2.0),
    Component("spire", "spire-system", 3.5),
    Component("nats-jetstream", "nats-system", 3.0),
    Component("openbao", "openbao", 4.0),
    Component("keycloak", "keycloak", 5.0),
    Component("gitea", "gitea", 3.5),
    Component("catalyst-platform", "catalyst-system", 5.0),
)
"""The kit in install order."""

_IDS = tuple(c.id for c in COMPONENTS)


def release_name(component: str) -> str:
    """`bp-<component>`."""
    return f"bp-{component}"


def dependencies(component: str) -> tuple[str, ...]:
    """The components `component` depends on (its predecessor in the chain)."""
    index = _IDS.index(component)
    return (_IDS[index - 1],) if index > 0 else ()


_FAIL_IN_NAME = re.compile(r"fail:([A-Za-z0-9,_-]+)")


def parse_fail_components(configured: str, org_name: str = "") -> frozenset[str]:
    """Components to fail: the `--sandbox-fail` list (`a,b`) plus, from the deployment's org
    name, every `fail:<component>[,<component>]`; `bp-` prefixes are accepted, unknown names
    ignored."""
    chunks = [configured, *_FAIL_IN_NAME.findall(org_name)]
    names = {
        raw.strip().lower().removeprefix("bp-") for chunk in chunks for raw in chunk.split(",")
    }
    return frozenset(name for name in names if name in _IDS)


@dataclass(frozen=True, slots=True)
class Timings:
    """Simulated durations in seconds (speed 1); see `scaled`."""

    # Sandbox cloud: creating / deleting resources.
    create_network: float = 1.0
    create_subnet: float = 0.5
    create_firewall: float = 0.8
    create_ssh_key: float = 0.3
    create_load_balancer: float = 2.0
    create_lb_part: float = 0.4
    create_server: float = 4.0
    delete_resource: float = 0.3
    delete_server: float = 1.0
    # Cloud-init on the first control plane.
    k3s_ready: float = 4.0
    postback_retry_delay: float = 10.0
    flux_install: float = 3.0
    source_fetch: float = 2.0
    # Flux reconciling the kit.
    dependency_requeue: float = 0.5
    install_factor: float = 1.0

    def scaled(self, speed: float) -> Timings:
        """Every duration divided by `speed` (the postback retry delay floored at 50 ms,
        `install_factor` is the per-component multiplier)."""
        values = {f.name: getattr(self, f.name) / speed for f in fields(self)}
        values["postback_retry_delay"] = max(values["postback_retry_delay"], 0.05)
        return replace(self, **values)

    def install_seconds(self, component: str) -> float:
        """How long the component's Helm install takes at this scale."""
        base = next(c.install_seconds for c in COMPONENTS if c.id == component)
        return base * self.install_factor
