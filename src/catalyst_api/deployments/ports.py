"""The seams the deployment service drives: Phase 0, pool domains / DNS, and Phase 1.

Real implementations live in `provisioner/`, `dns/` and `phase1/`; the sandbox and the tests
plug their own in through `wiring.build_services`. Each call streams progress through the
`Emit` it is given and reports failure by raising (`ProvisionError`, `DnsError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..events import Emit
from ..provisioner import Phase0Outputs, ProvisionJob

__all__ = [
    "DnsError",
    "Phase1Outcome",
    "Phase1Runner",
    "PoolDomains",
    "Provisioner",
    "Reservation",
]


class Provisioner(Protocol):
    """Phase 0: create (or destroy) the cloud resources of one Sovereign."""

    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs: ...

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None: ...

    def has_state(self, fqdn: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Reservation:
    """A held pool subdomain (PDM's reservation, or our embedded one)."""

    pool_domain: str
    subdomain: str
    token: str = ""


class DnsError(Exception):
    """A DNS / PDM step failed; the message is shown to the user as the deployment error."""


class PoolDomains(Protocol):
    """Reserve → commit (write DNS) → release a managed pool subdomain."""

    async def reserve(
        self, *, deployment_id: str, pool_domain: str, subdomain: str
    ) -> Reservation: ...

    async def commit(
        self,
        reservation: Reservation,
        *,
        sovereign_fqdn: str,
        load_balancer_ip: str,
        emit: Emit,
    ) -> None: ...

    async def release(self, reservation: Reservation, *, committed: bool, emit: Emit) -> None: ...


@dataclass(slots=True)
class Phase1Outcome:
    """How Phase 1 ended: per-component states and the outcome word of spec §8.3."""

    states: dict[str, str] = field(default_factory=dict)
    outcome: str = ""  # ready | failed | timeout | flux-not-reconciling
    error: str = ""  # a watch that could not run at all


class Phase1Runner(Protocol):
    """Phase 1: watch the bootstrap kit on the new cluster until it is installed."""

    async def run(self, *, deployment_id: str, kubeconfig: bytes, emit: Emit) -> Phase1Outcome: ...
