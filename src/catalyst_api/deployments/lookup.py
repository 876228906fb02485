"""Lookups every part of the deployment service shares: a deployment by id, who holds an FQDN,
and the wire shapes of the 409s they answer."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import Conflict, DeploymentNotFound
from .models import Deployment
from .ports import Provisioner
from .registry import IN_PROGRESS, Registry

__all__ = ["Deployments", "IsManagedDomain", "fqdn_in_use", "stream_url", "subdomain_conflict"]

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


class Deployments:
    """The registry plus the lookups that answer 404 / 409 (`fqdn-in-use`)."""

    def __init__(self, *, registry: Registry, provisioner: Provisioner) -> None:
        self.registry = registry
        self._provisioner = provisioner

    def get(self, deployment_id: str) -> Deployment:
        dep = self.registry.get(deployment_id)
        if dep is None:
            raise DeploymentNotFound()
        return dep

    def holds_cloud_state(self, dep: Deployment) -> bool:
        """Whether the deployment's OpenTofu state records resources (the provisioner reads
        its workdir; a failed deployment holds its FQDN while this is true)."""
        return self._provisioner.has_state(
            dep.request.sovereign_fqdn.strip(), workdir=dep.tofu_workdir
        )

    def check_fqdn_free(self, fqdn: str, *, exclude: Deployment | None = None) -> None:
        """Raise 409 `fqdn-in-use` when another deployment holds `fqdn` (DESIGN item 6)."""
        holder_id = self.registry.fqdn_holder(fqdn, self.holds_cloud_state, exclude=exclude)
        if holder_id is not None:
            raise fqdn_in_use(fqdn, holder_id, self.registry.get(holder_id))
