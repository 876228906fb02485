"""The per-Sovereign OpenTofu working directory: naming, staging, CLI config, state probe.

Layout of `<CATALYST_TOFU_WORKDIR>/<fqdn with dots as dashes>/` (0700):

    *.tf, *.tftpl            staged from CATALYST_TOFU_MODULE_PATH (0600, non-recursive)
    tofu.auto.tfvars.json    the run's inputs incl. secrets (0600, see tfvars.py)
    cli.tfrc                 our TF_CLI_CONFIG_FILE (0600; optional filesystem mirror)
    terraform.tfstate        OpenTofu state, kept across runs so a retry continues from it
    tfplan                   exists only while a run is between `plan` and the end of `apply`
                             (a plan file embeds every variable value, secrets included)

Staging also removes `*.tf`/`*.tftpl` files that are no longer in the module, so an upgraded
module never runs next to a stale file from an older one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

__all__ = [
    "CLI_CONFIG_FILE",
    "PLAN_FILE",
    "STATE_FILE",
    "prepare_workdir",
    "remove_quietly",
    "stage_module",
    "state_has_resources",
    "workdir_name",
    "write_cli_config",
]

CLI_CONFIG_FILE = "cli.tfrc"
PLAN_FILE = "tfplan"
STATE_FILE = "terraform.tfstate"

_STAGED_SUFFIXES = (".tf", ".tftpl")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,252}$")


def workdir_name(fqdn: str) -> str:
    """`<fqdn with every "." replaced by "-">`; refuses anything that is not a plain name."""
    name = fqdn.strip().replace(".", "-")
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"invalid sovereign FQDN for a workdir name: {fqdn!r}")
    return name


def prepare_workdir(root: Path, fqdn: str) -> Path:
    """Create (0700) and return `<root>/<workdir_name(fqdn)>`; the root is created 0700 too."""
    path = root / workdir_name(fqdn)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def stage_module(module_dir: Path, workdir: Path) -> list[str]:
    """Copy the module's `*.tf`/`*.tftpl` regular files into `workdir` (0600); returns names.

    Non-recursive: sub-directories and other files are skipped. Staged files that vanished from
    the module are removed from the workdir.
    """
    if not module_dir.is_dir():
        raise FileNotFoundError(f"module directory {str(module_dir)!r} does not exist")
    staged: list[str] = []
    for source in sorted(module_dir.iterdir()):
        if source.name.endswith(_STAGED_SUFFIXES) and source.is_file():
            _write_private(workdir / source.name, source.read_bytes())
            staged.append(source.name)
    for existing in workdir.iterdir():
        if existing.name.endswith(_STAGED_SUFFIXES) and existing.name not in staged:
            if existing.is_dir() and not existing.is_symlink():
                shutil.rmtree(existing)
            else:
                existing.unlink()
    return staged


def _hcl_string(value: str) -> str:
    # JSON string escaping is valid in the CLI config's HCL (it does no interpolation).
    return json.dumps(value)


def write_cli_config(workdir: Path, plugin_mirror_dir: Path | None) -> Path:
    """Write our `TF_CLI_CONFIG_FILE`; with a mirror, providers install only from it."""
    lines = ["# Written by catalyst-api for this workdir only.", "disable_checkpoint = true"]
    if plugin_mirror_dir is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path = {_hcl_string(str(plugin_mirror_dir.resolve()))}",
            "  }",
            "}",
        ]
    path = workdir / CLI_CONFIG_FILE
    _write_private(path, ("\n".join(lines) + "\n").encode())
    return path


def state_has_resources(workdir: Path) -> bool:
    """Whether `terraform.tfstate` exists and records at least one managed resource instance."""
    try:
        state = json.loads((workdir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return False
    resources = state.get("resources") if isinstance(state, dict) else None
    if not isinstance(resources, list):
        return False
    return any(
        isinstance(r, dict) and r.get("mode") == "managed" and r.get("instances") for r in resources
    )


def remove_quietly(path: Path) -> None:
    """Delete a file if it exists; never raises (best-effort cleanup of secret-bearing files)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
