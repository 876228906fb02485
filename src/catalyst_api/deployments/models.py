"""Deployment data shapes: the create request, the result, the record and their JSON forms.

`Deployment.to_record()` is the on-disk record (spec §4.5 keys and order, secrets redacted per
§4.4, no events); `Deployment.from_record()` also reads records written by the original Go
service. `Deployment.state()` is the wire state object of `GET /deployments/{id}` (spec §3.7).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import SecretStr

from ..provisioner.models import RegionSpec
from ..timefmt import format_rfc3339, format_rfc3339_nano, parse_time
from ..wire.shapes import DeploymentState

__all__ = [
    "IN_FLIGHT_PHASE0",
    "REDACTED",
    "Deployment",
    "DeploymentRequest",
    "FailureStage",
    "RegionSpec",
    "Result",
    "Status",
]

REDACTED = "<redacted>"


class Status(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    TOFU_APPLYING = "tofu-applying"
    FLUX_BOOTSTRAPPING = "flux-bootstrapping"
    PHASE1_WATCHING = "phase1-watching"
    READY = "ready"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"


class FailureStage(StrEnum):
    """Where a failed deployment failed; decides what a later kubeconfig PUT may do."""

    PHASE0 = "phase0"
    DNS = "dns"
    KUBECONFIG_WAIT = "kubeconfig-wait"
    PHASE1 = "phase1"
    DESTROY = "destroy"


IN_FLIGHT_PHASE0 = frozenset(
    {Status.PENDING, Status.PROVISIONING, Status.TOFU_APPLYING, Status.FLUX_BOOTSTRAPPING}
)


def _failure_stage(value: Any) -> FailureStage | None:
    try:
        return FailureStage(value) if value else None
    except ValueError:
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _secret(value: SecretStr) -> str:
    return value.get_secret_value()


@dataclass(slots=True)
class DeploymentRequest:
    """The create request. Secrets are `SecretStr`; server-stamped ones never come off the wire."""

    org_name: str = ""
    org_email: str = ""
    sovereign_fqdn: str = ""
    sovereign_domain_mode: str = ""
    sovereign_pool_domain: str = ""
    sovereign_subdomain: str = ""
    hetzner_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    hetzner_project_id: str = ""
    region: str = ""
    control_plane_size: str = ""
    worker_size: str = ""
    worker_count: int = 0
    ha_enabled: bool = False
    regions: list[RegionSpec] = field(default_factory=list)
    ssh_public_key: str = ""
    # Server-stamped only (never decoded from the wire):
    dynadot_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    dynadot_secret: SecretStr = field(default_factory=lambda: SecretStr(""))
    ghcr_pull_token: SecretStr = field(default_factory=lambda: SecretStr(""))

    @property
    def is_pool(self) -> bool:
        return self.sovereign_domain_mode.strip() == "pool"

    def hetzner_token_usable(self) -> bool:
        """False when the token is blank or only the redaction marker survived a restart."""
        token = _secret(self.hetzner_token).strip()
        return bool(token) and token != REDACTED

    def to_record(self) -> dict[str, Any]:
        """The persisted projection (spec §4.4): secrets as `<redacted>`, empties omitted."""
        out: dict[str, Any] = {}

        def put(key: str, value: str) -> None:
            if value:
                out[key] = value

        def put_secret(key: str, value: SecretStr) -> None:
            if _secret(value).strip():
                out[key] = REDACTED

        put("orgName", self.org_name)
        put("orgEmail", self.org_email)
        put("sovereignFQDN", self.sovereign_fqdn)
        put("sovereignDomainMode", self.sovereign_domain_mode)
        put("sovereignPoolDomain", self.sovereign_pool_domain)
        put("sovereignSubdomain", self.sovereign_subdomain)
        put_secret("hetznerToken", self.hetzner_token)
        put("hetznerProjectID", self.hetzner_project_id)
        put("region", self.region)
        put("controlPlaneSize", self.control_plane_size)
        put("workerSize", self.worker_size)
        out["workerCount"] = self.worker_count
        out["haEnabled"] = self.ha_enabled
        if self.regions:
            out["regions"] = [r.to_dict() for r in self.regions]
        put("sshPublicKey", self.ssh_public_key)
        put_secret("dynadotKey", self.dynadot_key)
        put_secret("dynadotSecret", self.dynadot_secret)
        return out

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> DeploymentRequest:
        """Rebuild from a persisted projection; secrets come back as `<redacted>` or ""."""
        regions_raw = raw.get("regions")
        regions = (
            [RegionSpec.from_dict(r) for r in regions_raw if isinstance(r, dict)]
            if isinstance(regions_raw, list)
            else []
        )
        return cls(
            org_name=_str(raw.get("orgName")),
            org_email=_str(raw.get("orgEmail")),
            sovereign_fqdn=_str(raw.get("sovereignFQDN")),
            sovereign_domain_mode=_str(raw.get("sovereignDomainMode")),
            sovereign_pool_domain=_str(raw.get("sovereignPoolDomain")),
            sovereign_subdomain=_str(raw.get("sovereignSubdomain")),
            hetzner_token=SecretStr(_str(raw.get("hetznerToken"))),
            hetzner_project_id=_str(raw.get("hetznerProjectID")),
            region=_str(raw.get("region")),
            control_plane_size=_str(raw.get("controlPlaneSize")),
            worker_size=_str(raw.get("workerSize")),
            worker_count=_int(raw.get("workerCount")),
            ha_enabled=raw.get("haEnabled") is True,
            regions=regions,
            ssh_public_key=_str(raw.get("sshPublicKey")),
            dynadot_key=SecretStr(_str(raw.get("dynadotKey"))),
            dynadot_secret=SecretStr(_str(raw.get("dynadotSecret"))),
        )


@dataclass(slots=True)
class Result:
    """What Phase 0 produced and Phase 1 observed (spec §4.1)."""

    sovereign_fqdn: str = ""
    control_plane_ip: str = ""
    load_balancer_ip: str = ""
    console_url: str = ""
    gitops_repo_url: str = ""
    kubeconfig_path: str = ""
    component_states: dict[str, str] = field(default_factory=dict)
    phase1_finished_at: datetime | None = None
    phase1_outcome: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sovereignFQDN": self.sovereign_fqdn,
            "controlPlaneIP": self.control_plane_ip,
            "loadBalancerIP": self.load_balancer_ip,
            "consoleURL": self.console_url,
            "gitopsRepoURL": self.gitops_repo_url,
        }
        if self.kubeconfig_path:
            out["kubeconfigPath"] = self.kubeconfig_path
        if self.component_states:
            out["componentStates"] = dict(sorted(self.component_states.items()))
        if self.phase1_finished_at is not None:
            out["phase1FinishedAt"] = format_rfc3339_nano(self.phase1_finished_at)
        if self.phase1_outcome:
            out["phase1Outcome"] = self.phase1_outcome
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Result:
        states = raw.get("componentStates")
        return cls(
            sovereign_fqdn=_str(raw.get("sovereignFQDN")),
            control_plane_ip=_str(raw.get("controlPlaneIP")),
            load_balancer_ip=_str(raw.get("loadBalancerIP")),
            console_url=_str(raw.get("consoleURL")),
            gitops_repo_url=_str(raw.get("gitopsRepoURL")),
            kubeconfig_path=_str(raw.get("kubeconfigPath")),
            component_states=(
                {str(k): str(v) for k, v in states.items()} if isinstance(states, dict) else {}
            ),
            phase1_finished_at=parse_time(raw.get("phase1FinishedAt")),
            phase1_outcome=_str(raw.get("phase1Outcome")),
        )


@dataclass(eq=False)
class Deployment:
    """One deployment: the durable record plus in-memory-only secrets and a lock."""

    id: str
    status: Status
    request: DeploymentRequest
    started_at: datetime
    finished_at: datetime | None = None
    result: Result | None = None
    error: str = ""
    pdm_reservation_token: str = ""
    pdm_pool_domain: str = ""
    pdm_subdomain: str = ""
    kubeconfig_bearer_hash: str = ""
    # Ours (not in the original's records):
    phase0_finished_at: datetime | None = None
    dns_committed: bool = False
    failure_stage: FailureStage | None = None
    tofu_workdir: str = ""  # "" = legacy `<fqdn-dashed>` (records of older versions / the original)
    owner: str = ""  # the creating principal (CATALYST_AUTH_MODE=required); "" = none
    # Memory only:
    bearer_token: SecretStr | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def to_record(self) -> dict[str, Any]:
        """The on-disk record: the original's keys in its order, then ours; no events."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": str(self.status),
            "request": self.request.to_record(),
        }
        if self.result is not None:
            out["result"] = self.result.to_dict()
        if self.error:
            out["error"] = self.error
        out["startedAt"] = format_rfc3339_nano(self.started_at)
        out["finishedAt"] = (
            format_rfc3339_nano(self.finished_at) if self.finished_at is not None else None
        )
        if self.pdm_reservation_token:
            out["pdmReservationToken"] = self.pdm_reservation_token
        if self.pdm_pool_domain:
            out["pdmPoolDomain"] = self.pdm_pool_domain
        if self.pdm_subdomain:
            out["pdmSubdomain"] = self.pdm_subdomain
        if self.kubeconfig_bearer_hash:
            out["kubeconfigBearerHash"] = self.kubeconfig_bearer_hash
        if self.phase0_finished_at is not None:
            out["phase0FinishedAt"] = format_rfc3339_nano(self.phase0_finished_at)
        if self.dns_committed:
            out["dnsCommitted"] = True
        if self.failure_stage is not None and self.status is Status.FAILED:
            out["failureStage"] = self.failure_stage.value
        if self.tofu_workdir:
            out["tofuWorkdir"] = self.tofu_workdir
        if self.owner:
            out["owner"] = self.owner
        return out

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Deployment:
        """Load a record written by this service or by the original Go service."""
        status_raw = _str(raw.get("status"))
        try:
            status = Status(status_raw)
        except ValueError:
            status = Status.FAILED if not status_raw else Status.PENDING
        request_raw = raw.get("request")
        result_raw = raw.get("result")
        started = parse_time(raw.get("startedAt"))
        return cls(
            id=str(raw["id"]),
            status=status,
            request=DeploymentRequest.from_record(
                request_raw if isinstance(request_raw, dict) else {}
            ),
            started_at=started if started is not None else datetime.fromtimestamp(0).astimezone(),
            finished_at=parse_time(raw.get("finishedAt")),
            result=Result.from_dict(result_raw) if isinstance(result_raw, dict) else None,
            error=_str(raw.get("error")),
            pdm_reservation_token=_str(raw.get("pdmReservationToken")),
            pdm_pool_domain=_str(raw.get("pdmPoolDomain")),
            pdm_subdomain=_str(raw.get("pdmSubdomain")),
            kubeconfig_bearer_hash=_str(raw.get("kubeconfigBearerHash")),
            phase0_finished_at=parse_time(raw.get("phase0FinishedAt")),
            dns_committed=raw.get("dnsCommitted") is True,
            failure_stage=_failure_stage(raw.get("failureStage")),
            tofu_workdir=_str(raw.get("tofuWorkdir")),
            owner=_str(raw.get("owner")),
        )

    def state(self, num_events: int) -> DeploymentState:
        """The wire state object (spec §3.7)."""
        out: DeploymentState = {
            "id": self.id,
            "status": str(self.status),
            "startedAt": format_rfc3339(self.started_at),
            "finishedAt": (
                format_rfc3339(self.finished_at) if self.finished_at is not None else None
            ),
            "sovereignFQDN": self.request.sovereign_fqdn,
            "region": self.request.region,
            "numEvents": num_events,
        }
        if self.error:
            out["error"] = self.error
        if self.owner:
            out["owner"] = self.owner
        if self.result is not None:
            out["result"] = self.result.to_dict()
            if self.result.component_states:
                out["componentStates"] = dict(sorted(self.result.component_states.items()))
            if self.result.phase1_finished_at is not None:
                out["phase1FinishedAt"] = format_rfc3339(self.result.phase1_finished_at)
        return out
