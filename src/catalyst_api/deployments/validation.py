"""Create-request validation (spec §3.6 step 4): first failure wins, messages verbatim.

After the original's required-field checks come our format checks (DESIGN item 6, issue 10):
the FQDN is a DNS hostname (stored normalised), the SSH key parses, the e-mail looks like one.
"""

from __future__ import annotations

from .formats import email_problem, fqdn_problem, normalise_fqdn, ssh_key_problem
from .models import DeploymentRequest

__all__ = ["GHCR_REQUIRED_MESSAGE", "validate_request"]

GHCR_REQUIRED_MESSAGE = (
    "GHCR pull token is required for managed-pool deployments (CATALYST_GHCR_PULL_TOKEN "
    "missing on catalyst-api — see docs/SECRET-ROTATION.md)"
)


def validate_request(req: DeploymentRequest) -> str | None:
    """Return the first validation message, or None. Mirrors `regions[0]` into the singular
    region fields (a mutation that persists, as in the original)."""
    for i, region in enumerate(req.regions):
        if not region.provider.strip():
            return f"region[{i}] provider is required"
        if not region.cloud_region.strip():
            return f"region[{i}] cloudRegion is required"
        if not region.control_plane_size.strip():
            return f"region[{i}] controlPlaneSize is required"
        if region.worker_count < 0:
            return f"region[{i}] workerCount must be non-negative"
        if region.worker_count > 0 and not region.worker_size.strip():
            return f"region[{i}] workerSize is required when workerCount > 0"
    if req.regions:
        first = req.regions[0]
        req.region = first.cloud_region
        req.control_plane_size = first.control_plane_size
        req.worker_size = first.worker_size
        req.worker_count = first.worker_count
    checks = (
        (req.hetzner_token.get_secret_value(), "hetzner token is required"),
        (req.hetzner_project_id, "hetzner project ID is required"),
        (req.region, "region is required (runtime parameter, never hardcoded)"),
        (req.sovereign_fqdn, "sovereign FQDN is required"),
        (req.org_name, "organisation name is required"),
        (req.org_email, "organisation email is required (becomes initial sovereign-admin)"),
        (
            req.ssh_public_key,
            "SSH public key is required (sovereign-admin break-glass + cluster bootstrap)",
        ),
    )
    for value, message in checks:
        if not value.strip():
            return message
    if req.is_pool and not req.ghcr_pull_token.get_secret_value().strip():
        return GHCR_REQUIRED_MESSAGE
    return _format_problem(req)


def _format_problem(req: DeploymentRequest) -> str | None:
    """The first format problem; on success the FQDN is replaced by its normalised form."""
    fqdn = normalise_fqdn(req.sovereign_fqdn)
    problem = (
        fqdn_problem(fqdn)
        or email_problem(req.org_email.strip())
        or ssh_key_problem(req.ssh_public_key.strip())
    )
    if problem is None:
        req.sovereign_fqdn = fqdn
    return problem
