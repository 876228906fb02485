"""The bootstrap kit: its components, their HelmRelease names, the `dependsOn` DAG, the order.

The one definition the server (the retry route's phase list), the client (the component table)
and the sandbox (the Flux simulator's HelmReleases) all read. The 11 `bp-*` HelmReleases live
in `flux-system` (created by the `bootstrap-kit` Kustomization), listed in the order of
platform §8; their `dependsOn` edges are the original's HelmReleases' (a DAG rooted at
`cilium`, not a chain: `spire`'s failure blocks only `nats-jetstream` and `openbao`).
Component ids are the release names without `bp-`; the original's Phase 1 retry route spells
two of them differently (`jetstream`, `bp-catalyst-platform`), kept verbatim in
`Component.retry_phase` because clients send them.

No imports from the rest of `catalyst_api`: the client imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMPONENTS",
    "COMPONENT_IDS",
    "KIT_NAMESPACE",
    "PHASE0_STEPS",
    "PHASE1_RETRY_NAMES",
    "PHASE1_WATCH_PHASE",
    "RELEASE_PREFIX",
    "Component",
    "component",
    "install_order",
    "release_name",
]

KIT_NAMESPACE = "flux-system"
"""Namespace of the kit's HelmReleases."""

RELEASE_PREFIX = "bp-"

PHASE0_STEPS = ("tofu-init", "tofu-plan", "tofu-apply", "tofu-output", "flux-bootstrap")
"""Phase 0 banner phases in run order (the retry route's Phase 0 names, spec §6.6)."""

PHASE1_WATCH_PHASE = "phase1-watch"
"""The event phase of Phase 1's watch-level messages (no component: first-seen warning, watch
ended, could not start). `component` events always name their component."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One bootstrap-kit component.

    `target_namespace`: where its chart installs; `depends_on`: component ids of its
    HelmRelease's `spec.dependsOn`; `retry_phase`: its name in the original's Phase 1 retry
    list; `install_seconds`: how long its Helm install takes in the sandbox at speed 1;
    `family`: its product family (spine, pilot, fabric…), the dashboard treemap's grouping.
    """

    id: str
    target_namespace: str
    depends_on: tuple[str, ...] = ()
    retry_phase: str = ""
    install_seconds: float = 3.0
    family: str = "other"

    @property
    def release(self) -> str:
        """The HelmRelease name, `bp-<id>`."""
        return release_name(self.id)

    @property
    def retry_name(self) -> str:
        return self.retry_phase or self.id


COMPONENTS: tuple[Component, ...] = (
    Component(id="cilium", family="spine", target_namespace="kube-system", install_seconds=4.0),
    Component(
        id="cert-manager",
        family="spine",
        target_namespace="cert-manager",
        depends_on=("cilium",),
        install_seconds=3.0,
    ),
    Component(
        id="flux",
        family="spine",
        target_namespace="flux-system",
        depends_on=("cert-manager",),
        install_seconds=2.5,
    ),
    Component(
        id="crossplane",
        family="spine",
        target_namespace="crossplane-system",
        depends_on=("flux",),
        install_seconds=4.0,
    ),
    Component(
        id="sealed-secrets",
        family="spine",
        target_namespace="kube-system",
        depends_on=("cert-manager",),
        install_seconds=2.0,
    ),
    Component(
        id="spire",
        family="pilot",
        target_namespace="spire-system",
        depends_on=("cert-manager",),
        install_seconds=3.5,
    ),
    Component(
        id="nats-jetstream",
        family="fabric",
        target_namespace="nats-system",
        depends_on=("spire",),
        retry_phase="jetstream",
        install_seconds=3.0,
    ),
    Component(
        id="openbao",
        family="pilot",
        target_namespace="openbao",
        depends_on=("spire",),
        install_seconds=4.0,
    ),
    Component(
        id="keycloak",
        family="pilot",
        target_namespace="keycloak",
        depends_on=("cert-manager",),
        install_seconds=5.0,
    ),
    Component(
        id="gitea",
        family="fabric",
        target_namespace="gitea",
        depends_on=("keycloak",),
        install_seconds=3.5,
    ),
    Component(
        id="catalyst-platform",
        family="fabric",
        target_namespace="catalyst-system",
        depends_on=("gitea",),
        retry_phase="bp-catalyst-platform",
        install_seconds=5.0,
    ),
)
"""The kit in install order (every component after the ones it depends on)."""

COMPONENT_IDS: tuple[str, ...] = tuple(c.id for c in COMPONENTS)
"""Component ids in install order (HelmRelease names without `bp-`)."""

PHASE1_RETRY_NAMES: tuple[str, ...] = tuple(c.retry_name for c in COMPONENTS)
"""The retry route's Phase 1 names, verbatim from the original (answered
`manual-retry-required`)."""

_BY_ID = {c.id: c for c in COMPONENTS}


def component(component_id: str) -> Component:
    """The component with this id (`KeyError` if it is not in the kit)."""
    return _BY_ID[component_id]


def release_name(component_id: str) -> str:
    """`bp-<component>`."""
    return f"{RELEASE_PREFIX}{component_id}"


def install_order(components: tuple[Component, ...] = COMPONENTS) -> tuple[str, ...]:
    """Component ids in a topological order of the `dependsOn` DAG (stable: ties keep the
    listed order); `ValueError` on an unknown dependency or a cycle."""
    known = {c.id for c in components}
    done: list[str] = []
    pending = list(components)
    while pending:
        ready = [c for c in pending if all(d in done for d in c.depends_on)]
        if not ready:
            missing = sorted({d for c in pending for d in c.depends_on} - known)
            raise ValueError(f"unknown dependency {missing}" if missing else "dependency cycle")
        done.append(ready[0].id)
        pending.remove(ready[0])
    return tuple(done)
