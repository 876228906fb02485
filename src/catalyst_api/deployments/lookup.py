"""State shared by the deployment service's parts (`DeploymentService` is assembled from
`rehydrate`, `postback` and `actions`): collaborators, the registry and the lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Conflict, DeploymentNotFound
from ..events import DeploymentStream
from .machine import RestartAction
from .models import Deployment
from .recent import MANUAL_RETRY_WINDOW, RecentKeys
from .registry import IN_PROGRESS, Registry
from .runs import Collaborators, Runs
from .supervisor import RunSupervisor

__all__ = ["IsManagedDomain", "ServiceBase", "fqdn_in_use", "stream_url", "subdomain_conflict"]

IsManagedDomain = Callable[[str], bool]


def stream_url(deployment_id: str) -> str:
    return f"/api/v1/deployments/{deployment_id}/logs"


def subdomain_conflict() -> Conflict:
    return Conflict(
        "subdomain-conflict",
        "this subdomain has been reserved or activated for the chosen pool — pick a different name",
    )


def fqdn_in_use(fqdn: str, holder_id: str, holder: Deployment | None) -> Conflict:
    """409 `fqdn-in-use` naming the holder (DESIGN item 6); `holder` None = a create in flight."""
    if holder is None or holder.status in IN_PROGRESS:
        why = "is still in progress — wait for it to finish, or destroy it"
    else:
        why = "still has cloud resources in its OpenTofu state — destroy it"
    return Conflict(
        "fqdn-in-use",
        f"deployment {holder_id} holds {fqdn} and {why} "
        f"(DELETE /api/v1/deployments/{holder_id}) before creating it again",
        extra={"holder": holder_id},
    )


class ServiceBase:
    """Collaborators and lookups every part of the service uses."""

    def __init__(
        self,
        *,
        deps: Collaborators,
        supervisor: RunSupervisor,
        is_managed_domain: IsManagedDomain,
        pdm_mode: bool,
        stop_refresh_watch: Callable[[str], None] | None = None,
    ) -> None:
        self.deps = deps
        self.runs = Runs(deps)
        self.supervisor = supervisor
        self.registry = Registry()
        self.is_managed_domain = is_managed_domain
        self.pdm_mode = pdm_mode
        self._pending_resume: dict[str, RestartAction] = {}
        self.manual_retries = RecentKeys(MANUAL_RETRY_WINDOW)
        # refresh-watch calls in flight per deployment (DELETE is refused meanwhile), and how a
        # destroy stops a refresh watcher that is still observing the cluster.
        self.refreshing: dict[str, int] = {}
        self.stop_refresh_watch = stop_refresh_watch or (lambda _deployment_id: None)

    def get(self, deployment_id: str) -> Deployment:
        dep = self.registry.get(deployment_id)
        if dep is None:
            raise DeploymentNotFound()
        return dep

    def holds_cloud_state(self, dep: Deployment) -> bool:
        """Whether the deployment's OpenTofu state records resources (the provisioner reads
        its workdir; a failed deployment holds its FQDN while this is true)."""
        return self.deps.provisioner.has_state(
            dep.request.sovereign_fqdn.strip(), workdir=dep.tofu_workdir
        )

    def check_fqdn_free(self, fqdn: str, *, exclude: Deployment | None = None) -> None:
        """Raise 409 `fqdn-in-use` when another deployment holds `fqdn` (DESIGN item 6)."""
        holder_id = self.registry.fqdn_holder(fqdn, self.holds_cloud_state, exclude=exclude)
        if holder_id is not None:
            raise fqdn_in_use(fqdn, holder_id, self.registry.get(holder_id))

    def state(self, dep: Deployment) -> dict[str, Any]:
        return dep.state(self.deps.hub.count(dep.id))

    def stream(self, dep: Deployment) -> DeploymentStream:
        return self.deps.hub.stream(dep.id)

    def start_provision(self, dep: Deployment, *, retry_phase: str | None) -> None:
        """Begin a provision run (Phase 0 → DNS → postback → Phase 1)."""
        self.deps.hub.stream(dep.id).begin_run()
        self.deps.phase1_started.discard(dep.id)
        self.supervisor.start_run(
            dep.id, f"deploy:{dep.id}:phase0", self.runs.provision(dep, retry_phase=retry_phase)
        )
