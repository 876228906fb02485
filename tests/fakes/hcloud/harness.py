"""Reusable helpers for tests that run OpenTofu/Terraform: paths, canary secrets, a job factory,
an event recorder, a module writer and a process-leak probe.

Import as `from fakes.hcloud.harness import ...` (the root conftest puts `tests/` on sys.path).
The fake provider mirror itself is `fakes.hcloud.mirror.build_mirror`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import psutil
from pydantic import SecretStr

from catalyst_api.events.models import Event
from catalyst_api.provisioner import ProvisionJob

__all__ = [
    "CANARIES",
    "CANARY_BEARER",
    "CANARY_DYNADOT_KEY",
    "CANARY_DYNADOT_SECRET",
    "CANARY_GHCR",
    "CANARY_HCLOUD",
    "HETZNER_MODULE",
    "SSH_KEY",
    "TERRAFORM",
    "TFVARS_KEYS",
    "EventRecorder",
    "processes_under",
    "provision_job",
    "tofu_base_env",
    "write_tfvars_module",
]

VENV_BIN = Path(sys.executable).parent
TERRAFORM = VENV_BIN / "terraform"
HETZNER_MODULE = Path(__file__).resolve().parents[3] / "infra" / "hetzner"

# Canary secrets: distinctive, so a grep over files and events cannot miss them.
CANARY_HCLOUD = "hcloud-canary-7f3d9a0c5e1b4d2a8c6f0e9b1a3d5c7e9f1b3d5a7c9e1f3b5d7a9c1e3f5b7d9a"
CANARY_GHCR = "ghcr-canary-2b4d6f8a0c2e4a6c"
CANARY_BEARER = "bearer-canary-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
CANARY_DYNADOT_KEY = "dynadot-key-canary-41c3"
CANARY_DYNADOT_SECRET = "dynadot-secret-canary-77aa"
CANARIES = (CANARY_HCLOUD, CANARY_GHCR, CANARY_BEARER, CANARY_DYNADOT_KEY, CANARY_DYNADOT_SECRET)

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2 t@test"

TFVARS_KEYS = (
    "sovereign_fqdn",
    "sovereign_subdomain",
    "org_name",
    "org_email",
    "hcloud_token",
    "hcloud_project_id",
    "region",
    "control_plane_size",
    "worker_size",
    "worker_count",
    "ha_enabled",
    "regions",
    "ssh_public_key",
    "domain_mode",
    "pool_domain",
    "dynadot_key",
    "dynadot_secret",
    "gitops_repo_url",
    "gitops_branch",
    "ghcr_pull_token",
    "deployment_id",
    "kubeconfig_bearer_token",
    "catalyst_api_url",
)
"""Every key of spec §6.2 step 5, in order."""

_TFVAR_TYPES = {"worker_count": "number", "ha_enabled": "bool", "regions": "any"}
_SENSITIVE = {"hcloud_token", "dynadot_key", "dynadot_secret", "ghcr_pull_token"}
_SENSITIVE |= {"kubeconfig_bearer_token"}


def tofu_base_env() -> dict[str, str]:
    """A subprocess base environment with the venv's `terraform` first on PATH."""
    path = os.pathsep.join((str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"))
    return {"PATH": path, "HOME": os.environ.get("HOME", "/root")}


def provision_job(**overrides: Any) -> ProvisionJob:
    """A valid pool-mode job (1 control plane, 1 worker in fsn1) carrying the canary secrets."""
    values: dict[str, Any] = {
        "deployment_id": "0123456789abcdef",
        "sovereign_fqdn": "acme.omani.works",
        "sovereign_subdomain": "acme",
        "org_name": "Acme",
        "org_email": "ops@acme.example",
        "hcloud_token": SecretStr(CANARY_HCLOUD),
        "hcloud_project_id": "991",
        "region": "fsn1",
        "control_plane_size": "cpx31",
        "worker_size": "cpx41",
        "worker_count": 1,
        "ha_enabled": False,
        "ssh_public_key": SSH_KEY,
        "domain_mode": "pool",
        "pool_domain": "omani.works",
        "dynadot_key": SecretStr(CANARY_DYNADOT_KEY),
        "dynadot_secret": SecretStr(CANARY_DYNADOT_SECRET),
        "ghcr_pull_token": SecretStr(CANARY_GHCR),
        "kubeconfig_bearer_token": SecretStr(CANARY_BEARER),
    }
    values.update(overrides)
    return ProvisionJob(**values)


def write_tfvars_module(directory: Path, main_tf: str) -> Path:
    """Write a module that declares every tfvars key (so no undeclared-variable warnings) plus
    `main_tf` as `main.tf`; returns `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    blocks = []
    for key in TFVARS_KEYS:
        kind = _TFVAR_TYPES.get(key, "string")
        sensitive = "\n  sensitive = true" if key in _SENSITIVE else ""
        blocks.append(f'variable "{key}" {{\n  type = {kind}{sensitive}\n}}\n')
    (directory / "variables.tf").write_text("\n".join(blocks))
    (directory / "main.tf").write_text(main_tf)
    return directory


class EventRecorder:
    """An `Emit` that keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def phases(self) -> list[str]:
        return [e.phase for e in self.events]

    def messages(self, phase: str | None = None, level: str | None = None) -> list[str]:
        return [
            e.message
            for e in self.events
            if (phase is None or e.phase == phase) and (level is None or e.level == level)
        ]

    def text(self) -> str:
        """Every event as its wire JSON, one per line (for canary greps)."""
        return "\n".join(e.to_json().decode() for e in self.events)


def processes_under(directory: Path) -> list[psutil.Process]:
    """Live processes anywhere on the machine whose working directory is inside `directory`
    (OpenTofu, its providers and `local-exec` shells all run in the workdir)."""
    root = str(directory.resolve())
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            cwd = proc.cwd()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append(proc)
    return found
