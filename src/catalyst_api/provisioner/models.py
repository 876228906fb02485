"""Data shapes of a Phase 0 run: the job handed in, the outputs handed back, the error raised.

Secrets travel as `SecretStr` so a `repr()` of a job (in a log line, a traceback, a test
failure) never shows them; only `tfvars.py` unwraps them, into the `TF_VAR_*` environment of
the OpenTofu child (never into a file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

__all__ = [
    "BANNERS",
    "DESTROY_BANNER",
    "GHCR_TOKEN_REQUIRED",
    "Phase0Outputs",
    "ProvisionError",
    "ProvisionJob",
    "ProvisionTimedOut",
    "RegionSpec",
    "flux_bootstrap_banner",
]

_EMPTY = SecretStr("")

GHCR_TOKEN_REQUIRED = (
    "GHCR pull token is required for managed-pool deployments (CATALYST_GHCR_PULL_TOKEN missing "
    "on catalyst-api — see docs/SECRET-ROTATION.md)"
)
"""Verbatim Phase 0 failure for a pool-mode run without a GHCR pull token (spec §6.3)."""

BANNERS: dict[str, tuple[str, str]] = {
    "init": ("tofu-init", "Initialising OpenTofu working directory"),
    "plan": ("tofu-plan", "Planning Hetzner resources (network, firewall, server, LB, DNS)"),
    "apply": ("tofu-apply", "Applying — this provisions real Hetzner resources, please wait"),
    "output": ("tofu-output", "Reading OpenTofu outputs"),
}
"""Step → (banner phase, banner message), verbatim from the original (spec §6.2 step 6)."""

DESTROY_BANNER = (
    "tofu-destroy",
    "Destroying OpenTofu-managed resources (servers, load balancer, firewall, network, SSH key)",
)
"""Banner of the destroy step (our addition: the original had no destroy)."""


def flux_bootstrap_banner(fqdn: str) -> str:
    """The original's final `flux-bootstrap` banner, verbatim (spec §6.2 step 6)."""
    return (
        "Cloud-init has bootstrapped Flux + Crossplane in the new cluster — Flux will now "
        f"reconcile clusters/{fqdn}/ from the public OpenOva monorepo, installing the "
        "11-component bootstrap kit and bp-catalyst-platform umbrella in dependency order. "
        "The wizard's progress page will poll Flux Kustomizations on the new cluster for "
        "steady-state."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionSpec:
    """One entry of the create request's `regions` list: decoded from the wire, kept on the
    deployment record and handed to the module as tfvars, all three under the same camelCase
    keys. Empty fields are the Go zero values (a `null` entry decodes to `RegionSpec()`)."""

    provider: str = ""
    cloud_region: str = ""
    control_plane_size: str = ""
    worker_size: str = ""
    worker_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The `{provider, cloudRegion, controlPlaneSize, workerSize, workerCount}` object
        (record, wire and tfvars)."""
        return {
            "provider": self.provider,
            "cloudRegion": self.cloud_region,
            "controlPlaneSize": self.control_plane_size,
            "workerSize": self.worker_size,
            "workerCount": self.worker_count,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RegionSpec:
        """Read a stored record's entry leniently: a missing or mistyped field is its zero
        value (the create route's strict decoding is `deployments/decode.py`)."""

        def text(key: str) -> str:
            value = raw.get(key)
            return value if isinstance(value, str) else ""

        count = raw.get("workerCount")
        return cls(
            provider=text("provider"),
            cloud_region=text("cloudRegion"),
            control_plane_size=text("controlPlaneSize"),
            worker_size=text("workerSize"),
            worker_count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionJob:
    """Everything one Phase 0 run (or destroy) needs; secrets are masked in `repr`.

    `region`, `control_plane_size`, `worker_size` and `worker_count` are the singular values
    (the caller mirrors `regions[0]` into them). `domain_mode` may be any wire mode
    (`pool`, `byo`, `byo-manual`, `byo-api`); the module receives `pool` or `byo`.
    `workdir` is the workdir's name under `CATALYST_TOFU_WORKDIR` as recorded on the deployment
    (`tofuWorkdir`); empty means the legacy `<fqdn-dashed>` (records without the field).
    """

    deployment_id: str
    sovereign_fqdn: str
    org_name: str
    org_email: str
    hcloud_token: SecretStr
    region: str
    control_plane_size: str
    ssh_public_key: str
    domain_mode: str
    sovereign_subdomain: str = ""
    hcloud_project_id: str = ""
    worker_size: str = ""
    worker_count: int = 0
    ha_enabled: bool = False
    regions: Sequence[RegionSpec] = ()
    pool_domain: str = ""
    dynadot_key: SecretStr = _EMPTY
    dynadot_secret: SecretStr = _EMPTY
    ghcr_pull_token: SecretStr = _EMPTY
    kubeconfig_bearer_token: SecretStr = _EMPTY
    workdir: str = ""

    @property
    def module_domain_mode(self) -> str:
        """`pool` or `byo`: every mode but `pool` is BYO (DESIGN "Domain modes")."""
        return "pool" if self.domain_mode == "pool" else "byo"

    def secret_values(self) -> list[str]:
        """The non-empty secret strings of this job (for scrubbing tofu output)."""
        secrets = (
            self.hcloud_token,
            self.dynadot_key,
            self.dynadot_secret,
            self.ghcr_pull_token,
            self.kubeconfig_bearer_token,
        )
        return [value for s in secrets if (value := s.get_secret_value())]


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase0Outputs:
    """What a successful Phase 0 hands back (spec §6.2 steps 9-10).

    `raw` maps every OpenTofu output name to its value (sensitive outputs are left out).
    """

    control_plane_ip: str
    load_balancer_ip: str
    sovereign_fqdn: str
    console_url: str
    gitops_repo_url: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class ProvisionError(Exception):
    """A Phase 0 run (or destroy) failed; `str(error)` is the deployment's error string.

    `step` is the OpenTofu step that failed (`init`, `plan`, …) or None before any step ran;
    `diagnostics` are the error diagnostics OpenTofu reported (`summary: detail`), already
    streamed as events and kept here for logs and tests.
    """

    def __init__(
        self, message: str, *, step: str | None = None, diagnostics: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.step = step
        self.diagnostics = tuple(diagnostics)

    def __str__(self) -> str:
        return self.message


class ProvisionTimedOut(ProvisionError):
    """A run's time budget ran out; OpenTofu has been stopped."""
