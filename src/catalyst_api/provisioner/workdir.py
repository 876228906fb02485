"""The per-Sovereign OpenTofu working directory: naming, staging, CLI config, state probe, and
the startup sweep that keeps the workdir root private and free of resting secrets.

Naming. A deployment created by this version records its workdir name (`tofuWorkdir`):

    <normalised fqdn>.<deployment id>        e.g. coll.example.test.0123456789abcdef

The normalised FQDN is lower-cased, trimmed, cut to fit NAME_MAX (255 bytes) with the id, and
any character outside `[a-z0-9.-]` becomes `_` (create validates FQDNs as hostnames, so that
never happens for new deployments). The name is injective: the suffix after the last `.` is the
deployment id (ids contain no `.`), and ids are unique, so two deployments never share a
workdir, even two deployments of the same FQDN created one after the other (a retry of an old
failed one can never plan against a newer one's resources). An operator still finds it by FQDN
(`ls tofu/ | grep coll.example.test`). It can never equal a legacy name: legacy names replace
every `.` by `-`, so they contain no `.`, and new names always contain one (before the id).

Legacy: a record without `tofuWorkdir` (written by an earlier version or by the original Go
service) keeps the original's `<fqdn with every "." replaced by "-">`, so its state is found
where it was written; `coll.example.test` and `coll-example.test` collide there, which is why
new deployments no longer use it.

Layout of a workdir (0700; every file 0600, OpenTofu runs with umask 077):

    *.tf, *.tftpl            staged from CATALYST_TOFU_MODULE_PATH (non-recursive)
    tofu.auto.tfvars.json    the run's non-secret inputs (see tfvars.py; secrets travel only
                             in the child's environment as TF_VAR_*)
    cli.tfrc                 our TF_CLI_CONFIG_FILE (optional filesystem mirror)
    terraform.tfstate(.backup)  OpenTofu state, kept across runs so a retry continues from it
                             (no variable values; see docs/SECRET-ROTATION.md for what it holds)
    tfplan                   exists only while a run is between `plan` and the end of `apply`
                             (a plan file embeds every variable value, secrets included)

Staging also removes `*.tf`/`*.tftpl` files that are no longer in the module, so an upgraded
module never runs next to a stale file from an older one. `secure_root()` runs at startup:
it deletes leftover plan files and secret-bearing tfvars files (older versions, kill -9) and
tightens every mode under the root to 0600/0700.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from catalyst_api.store._atomic import ensure_private_dir

__all__ = [
    "CLI_CONFIG_FILE",
    "PLAN_FILE",
    "SECRET_TFVARS_KEYS",
    "STATE_FILE",
    "SweepReport",
    "check_workdir_name",
    "new_workdir_name",
    "prepare_workdir",
    "remove_quietly",
    "secure_root",
    "stage_module",
    "state_has_resources",
    "tighten_workdir",
    "workdir_name",
    "write_cli_config",
]

CLI_CONFIG_FILE = "cli.tfrc"
PLAN_FILE = "tfplan"
STATE_FILE = "terraform.tfstate"

TFVARS_FILE = "tofu.auto.tfvars.json"
SECRET_TFVARS_KEYS = (
    "hcloud_token",
    "dynadot_key",
    "dynadot_secret",
    "ghcr_pull_token",
    "kubeconfig_bearer_token",
)
"""The variables that never go into a file: they reach OpenTofu as `TF_VAR_<name>` only."""

_STAGED_SUFFIXES = (".tf", ".tftpl")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,252}$")
_WORKDIR_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
_NAME_MAX = 255
_UNSAFE_FQDN_CHARS = re.compile(r"[^a-z0-9.-]")


def workdir_name(fqdn: str) -> str:
    """The legacy name `<fqdn with every "." replaced by "-">` (the original's; records without
    `tofuWorkdir` keep it); refuses anything that is not a plain name."""
    name = fqdn.strip().replace(".", "-")
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"invalid sovereign FQDN for a workdir name: {fqdn!r}")
    return name


def new_workdir_name(fqdn: str, deployment_id: str) -> str:
    """`<normalised fqdn>.<deployment id>`: injective, never a legacy name (module docs)."""
    if not deployment_id or "." in deployment_id or not _WORKDIR_NAME.fullmatch(deployment_id):
        raise ValueError(f"invalid deployment id for a workdir name: {deployment_id!r}")
    host = _UNSAFE_FQDN_CHARS.sub("_", fqdn.strip().lower()).strip(".-")
    host = host[: _NAME_MAX - len(deployment_id) - 1].rstrip(".-") or "sovereign"
    return f"{host}.{deployment_id}"


def check_workdir_name(name: str) -> str:
    """`name` if it is a single plain path component usable as a workdir, else ValueError."""
    if not _WORKDIR_NAME.fullmatch(name):
        raise ValueError(f"invalid OpenTofu workdir name: {name!r}")
    return name


def prepare_workdir(root: Path, name: str) -> Path:
    """Create (0700) and return `<root>/<name>`; the root (and its new parents) 0700 too."""
    path = root / check_workdir_name(name)
    ensure_private_dir(root)
    ensure_private_dir(path)
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


def _holds_secret_tfvars(path: Path) -> bool:
    try:
        values = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return True  # unreadable or partial: treat as secret-bearing, it is rewritten each run
    return not isinstance(values, dict) or any(values.get(key) for key in SECRET_TFVARS_KEYS)


@dataclass(slots=True)
class SweepReport:
    """What `secure_root` changed (counts only: never a file's content)."""

    plans_removed: int = 0
    tfvars_removed: int = 0
    modes_tightened: int = 0


def _tighten(path: Path, st: os.stat_result, report: SweepReport) -> None:
    mode = stat.S_IMODE(st.st_mode)
    wanted = 0o700 if stat.S_ISDIR(st.st_mode) else (mode & 0o700 or 0o600)
    if mode != wanted:
        with contextlib.suppress(OSError):
            os.chmod(path, wanted)
            report.modes_tightened += 1


def _walk_tighten(top: Path, report: SweepReport, *, sweep_root: Path | None = None) -> None:
    for directory, dirnames, filenames in os.walk(top):
        base = Path(directory)
        for name in filenames:
            path = base / name
            if sweep_root is not None and base.parent == sweep_root:
                if name == PLAN_FILE:
                    remove_quietly(path)
                    report.plans_removed += 1
                    continue
                if name == TFVARS_FILE and _holds_secret_tfvars(path):
                    remove_quietly(path)
                    report.tfvars_removed += 1
                    continue
            with contextlib.suppress(OSError):
                st = path.lstat()
                if not stat.S_ISLNK(st.st_mode):
                    _tighten(path, st, report)
        for name in dirnames:
            path = base / name
            with contextlib.suppress(OSError):
                st = path.lstat()
                if not stat.S_ISLNK(st.st_mode):
                    _tighten(path, st, report)


def tighten_workdir(workdir: Path) -> SweepReport:
    """Strip group/other bits under one workdir after a run: OpenTofu writes a few files with
    an explicit chmod (e.g. `.terraform.lock.hcl` 0644) that umask 077 cannot catch."""
    report = SweepReport()
    with contextlib.suppress(OSError):
        _tighten(workdir, workdir.stat(), report)
    _walk_tighten(workdir, report)
    return report


def secure_root(root: Path) -> SweepReport:
    """Startup sweep of the workdir root (no OpenTofu may be running yet).

    Creates the root (0700) if missing. Removes every workdir's leftover `tfplan` (it embeds
    variable values) and any tfvars file that still holds a secret (written by an older
    version, or left by a kill -9), then strips group/other bits from everything under the
    root: directories 0700, files 0600 (owner execute bits, e.g. provider binaries, are
    kept). Symlinks are not followed. Never raises.
    """
    report = SweepReport()
    with contextlib.suppress(OSError):
        if root.is_dir():
            _tighten(root, root.stat(), report)
        else:
            ensure_private_dir(root)
    if root.is_dir():
        _walk_tighten(root, report, sweep_root=root)
    return report
