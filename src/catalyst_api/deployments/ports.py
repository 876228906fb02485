"""The seams the deployment service drives: Phase 0, pool domains / DNS, and Phase 1.

Real implementations live in `provisioner/`, `dns/` and `phase1/` (which also defines the
`Phase1Outcome` a watch returns); the sandbox and the tests
plug their own in through `wiring.build_services`. Each call streams progress through the
`Emit` it is given and reports failure by raising (`ProvisionError`, `DnsError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..dns.types import DnsError, PoolDomains, Reservation
from ..events import Emit
from ..phase1.watcher import Phase1Outcome
from ..provisioner import Phase0Outputs, PlannedChange, ProvisionJob

__all__ = [
    "DnsError",
    "JobsFeed",
    "Phase1Outcome",
    "Phase1Runner",
    "Planner",
    "PoolDomains",
    "Provisioner",
    "Reservation",
]


class Provisioner(Protocol):
    """Phase 0: create (or destroy) the cloud resources of one Sovereign."""

    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs: ...

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None: ...

    def has_state(self, fqdn: str, *, workdir: str) -> bool:
        """Whether the deployment's OpenTofu state records resources; `workdir` is its
        recorded `tofu_workdir` ("" = the legacy `<fqdn-dashed>` workdir)."""
        ...


class Planner(Protocol):
    """The plan preview: what Phase 0 would create for a job, without creating anything."""

    async def plan(self, job: ProvisionJob) -> list[PlannedChange]:
        """Raises `ProvisionError` (`ProvisionTimedOut` past the plan budget)."""
        ...


class Phase1Runner(Protocol):
    """Phase 1: watch the bootstrap kit on the new cluster until it is installed."""

    async def run(
        self,
        *,
        deployment_id: str,
        kubeconfig: bytes,
        emit: Emit,
        known_states: Mapping[str, str] | None = None,
    ) -> Phase1Outcome:
        """`known_states`: component states already reported (a resumed watch emits only
        changes, so a restart never duplicates component events)."""
        ...


class JobsFeed(Protocol):
    """The jobs view, fed from each deployment's events through a queue (`jobs.JobsBridges`)."""

    async def flush(self, deployment_id: str | None = None) -> None:
        """Wait until every event emitted so far for the deployment is applied."""
        ...
