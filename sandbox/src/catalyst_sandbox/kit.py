"""The sandbox's view of the bootstrap kit (defined once, in `catalyst_api.wire.kit`) and its
timings.

The Flux simulator creates the kit's 11 `bp-*` HelmReleases in `flux-system` with their
`dependsOn` edges (the original's DAG) and installs each once its dependencies are installed;
component ids are the release names without `bp-`. Timings are seconds at `--sandbox-speed 1`
(a deployment reaches `ready` in about a minute); `Timings.scaled(speed)` divides them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from catalyst_api.wire.kit import (
    COMPONENT_IDS,
    COMPONENTS,
    KIT_NAMESPACE,
    RELEASE_PREFIX,
    Component,
    component,
    release_name,
)

__all__ = [
    "CHART_VERSION",
    "COMPONENTS",
    "KIT_NAMESPACE",
    "Component",
    "Timings",
    "dependencies",
    "parse_fail_components",
    "parse_flaky_components",
    "release_name",
]

CHART_VERSION = "1.0.0"


def dependencies(component_id: str) -> tuple[str, ...]:
    """The components `component_id` depends on (its HelmRelease's `dependsOn`)."""
    return component(component_id).depends_on


_FAIL_IN_NAME = re.compile(r"fail:([A-Za-z0-9,_-]+)")
_FLAKY_IN_NAME = re.compile(r"flaky:([A-Za-z0-9,_-]+)")


def parse_fail_components(configured: str, org_name: str = "") -> frozenset[str]:
    """Components to fail for good (every install attempt, so Helm's retries run out): the
    `--sandbox-fail` list (`a,b`) plus, from the deployment's org name, every
    `fail:<component>[,<component>]`; `bp-` prefixes are accepted, unknown names ignored."""
    return _components([configured, *_FAIL_IN_NAME.findall(org_name)])


def parse_flaky_components(org_name: str) -> frozenset[str]:
    """Components whose first install attempt fails and whose retry succeeds: every
    `flaky:<component>[,<component>]` in the deployment's org name."""
    return _components(_FLAKY_IN_NAME.findall(org_name))


def _components(chunks: list[str]) -> frozenset[str]:
    names = {
        raw.strip().lower().removeprefix(RELEASE_PREFIX)
        for chunk in chunks
        for raw in chunk.split(",")
    }
    return frozenset(name for name in names if name in COMPONENT_IDS)


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
    remediation_retry: float = 0.5  # wait before an install retry, and the retry's duration
    install_factor: float = 1.0
    # The Crossplane stand-in composing Day-2 claims.
    claim_sync: float = 1.0
    claim_ready: float = 3.0

    def scaled(self, speed: float) -> Timings:
        """Every duration divided by `speed` (the postback retry delay floored at 50 ms,
        `install_factor` is the per-component multiplier)."""
        values = {f.name: getattr(self, f.name) / speed for f in fields(self)}
        values["postback_retry_delay"] = max(values["postback_retry_delay"], 0.05)
        return replace(self, **values)

    def install_seconds(self, component_id: str) -> float:
        """How long the component's Helm install takes at this scale."""
        base = component(component_id).install_seconds
        return base * self.install_factor
