"""The run's OpenTofu inputs: `tofu.auto.tfvars.json` for the plain ones, `TF_VAR_*` for secrets.

The inputs are the keys of spec §6.2 step 5. Deliberate difference from the original: the five
secrets (`hcloud_token`, `dynadot_key`, `dynadot_secret`, `ghcr_pull_token`,
`kubeconfig_bearer_token`) are never written to disk. They reach OpenTofu only as
`TF_VAR_<name>` in the environment of the OpenTofu child process, for the duration of one run
(`secret_env`); the file (0600, 2-space indent, spec order) holds every other key. A tfvars file
takes precedence over `TF_VAR_*`, which is why the file must never carry a secret key at all.

The GHCR token falls back to `CATALYST_GHCR_PULL_TOKEN` when the job carries none (§6.2
step 1); the Dynadot credentials are passed only in pool mode (job value, else the settings'),
`""` otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from catalyst_api.config import Settings
from catalyst_api.provisioner import workdir as wd
from catalyst_api.provisioner.models import GHCR_TOKEN_REQUIRED, ProvisionError, ProvisionJob
from catalyst_api.provisioner.workdir import SECRET_TFVARS_KEYS, TFVARS_FILE

__all__ = [
    "TFVARS_FILE",
    "build_tfvars",
    "effective_ghcr_token",
    "public_tfvars",
    "secret_env",
    "stage_run_inputs",
    "write_tfvars",
]


def _pick(primary: SecretStr, fallback: SecretStr) -> str:
    value = primary.get_secret_value()
    return value if value.strip() else fallback.get_secret_value()


def effective_ghcr_token(job: ProvisionJob, settings: Settings, *, require: bool) -> str:
    """The job's GHCR token, else the configured one; with `require`, enforce spec §6.3.

    Raises `ProvisionError(GHCR_TOKEN_REQUIRED)` for a pool-mode job without any token.
    """
    token = _pick(job.ghcr_pull_token, settings.ghcr_pull_token)
    if require and job.module_domain_mode == "pool" and not token.strip():
        raise ProvisionError(GHCR_TOKEN_REQUIRED)
    return token


def build_tfvars(job: ProvisionJob, settings: Settings, *, ghcr_token: str) -> dict[str, Any]:
    """The tfvars object for `job` (every key of spec §6.2 step 5, `regions` `[]` when absent)."""
    pool = job.module_domain_mode == "pool"
    return {
        "sovereign_fqdn": job.sovereign_fqdn,
        "sovereign_subdomain": job.sovereign_subdomain,
        "org_name": job.org_name,
        "org_email": job.org_email,
        "hcloud_token": job.hcloud_token.get_secret_value(),
        "hcloud_project_id": job.hcloud_project_id,
        "region": job.region,
        "control_plane_size": job.control_plane_size,
        "worker_size": job.worker_size,
        "worker_count": job.worker_count,
        "ha_enabled": job.ha_enabled,
        "regions": [region.to_dict() for region in job.regions],
        "ssh_public_key": job.ssh_public_key,
        "domain_mode": job.module_domain_mode,
        "pool_domain": job.pool_domain,
        "dynadot_key": _pick(job.dynadot_key, settings.dynadot_api_key) if pool else "",
        "dynadot_secret": _pick(job.dynadot_secret, settings.dynadot_api_secret) if pool else "",
        "gitops_repo_url": settings.gitops_repo_url,
        "gitops_branch": settings.gitops_branch,
        "ghcr_pull_token": ghcr_token,
        "deployment_id": job.deployment_id,
        "kubeconfig_bearer_token": job.kubeconfig_bearer_token.get_secret_value(),
        "catalyst_api_url": settings.api_public_url,
    }


def public_tfvars(values: dict[str, Any]) -> dict[str, Any]:
    """`values` without the secret keys (what may be written to the tfvars file)."""
    return {key: value for key, value in values.items() if key not in SECRET_TFVARS_KEYS}


def secret_env(values: dict[str, Any]) -> dict[str, str]:
    """`TF_VAR_<name>` for every secret key of `values` (also empty ones: the variables are
    declared without defaults), for the OpenTofu child's environment only."""
    return {f"TF_VAR_{key}": str(values.get(key, "")) for key in SECRET_TFVARS_KEYS}


def write_tfvars(workdir: Path, values: dict[str, Any]) -> Path:
    """Write `<workdir>/tofu.auto.tfvars.json` (0600, 2-space indent); returns its path.

    Refuses values that carry a secret key (use `public_tfvars`). The file is created 0600
    before any byte is written, and an existing file (maybe an old one with secrets) is
    truncated and forced back to 0600.
    """
    leaked = [key for key in SECRET_TFVARS_KEYS if key in values]
    if leaked:
        raise ValueError(f"secret variables must not be written to tfvars: {leaked}")
    path = workdir / TFVARS_FILE
    data = (json.dumps(values, indent=2, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
    return path


def stage_run_inputs(
    job: ProvisionJob,
    settings: Settings,
    workdir: Path,
    *,
    ghcr_token: str,
    plugin_mirror_dir: Path | None,
) -> dict[str, str]:
    """Stage the module, the tfvars file (no secrets) and the CLI config into `workdir`, as
    Phase 0 and the plan preview both do; returns the run's `TF_VAR_*` secrets (never written)."""
    try:
        wd.stage_module(settings.tofu_module_path, workdir)
    except OSError as exc:
        raise ProvisionError(f"stage tofu module: {exc}") from None
    values = build_tfvars(job, settings, ghcr_token=ghcr_token)
    try:
        write_tfvars(workdir, public_tfvars(values))
    except OSError as exc:
        raise ProvisionError(f"write tfvars: {exc}") from None
    try:
        wd.write_cli_config(workdir, plugin_mirror_dir)
    except OSError as exc:
        raise ProvisionError(f"write tofu CLI config: {exc}") from None
    return secret_env(values)
