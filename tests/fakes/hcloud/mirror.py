"""Build a provider `filesystem_mirror` serving the fake `hetznercloud/hcloud` provider.

Layout (the "unpacked" mirror layout, once for Terraform's and once for OpenTofu's registry):

    <mirror>/registry.terraform.io/hetznercloud/hcloud/<version>/<os>_<arch>/
        terraform-provider-hcloud_v<version>      (a launcher script execing provider.py)
    <mirror>/registry.opentofu.org/hetznercloud/hcloud/<version>/<os>_<arch>/...

Pass the mirror directory to `TofuProvisioner(plugin_mirror_dir=...)` (or write your own CLI
config with `provider_installation { filesystem_mirror { path = "<mirror>" } }`).

Standalone (stdlib only) so any test area can load it by path:

    spec = importlib.util.spec_from_file_location("fake_hcloud_mirror", <this file>)
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

__all__ = ["FAKE_HCLOUD_VERSION", "PROVIDER_SCRIPT", "REGISTRY_HOSTS", "build_mirror"]

FAKE_HCLOUD_VERSION = "1.49.1"
PROVIDER_SCRIPT = Path(__file__).resolve().with_name("provider.py")
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")

_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def _target() -> str:
    system = platform.system().lower()
    machine = platform.machine().lower()
    return f"{system}_{_ARCHES.get(machine, machine)}"


def build_mirror(
    dest: Path, *, version: str = FAKE_HCLOUD_VERSION, python: str | None = None
) -> Path:
    """Lay out the mirror under `dest` (created if needed) and return `dest`.

    `python` is the interpreter the launcher execs (default: the current one, which must be
    able to import the `tf` package).
    """
    interpreter = python or sys.executable
    launcher = (
        "#!/bin/sh\n"
        "# Fake hetznercloud/hcloud provider for offline tests (tests/fakes/hcloud).\n"
        f'exec {shlex.quote(interpreter)} {shlex.quote(str(PROVIDER_SCRIPT))} "$@"\n'
    )
    for host in REGISTRY_HOSTS:
        target_dir = dest / host / "hetznercloud" / "hcloud" / version / _target()
        target_dir.mkdir(parents=True, exist_ok=True)
        executable = target_dir / f"terraform-provider-hcloud_v{version}"
        executable.write_text(launcher)
        os.chmod(executable, 0o755)
    return dest
