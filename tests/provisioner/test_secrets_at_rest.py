"""No secret rests in a workdir and everything OpenTofu writes is private (issue 10): secrets
reach OpenTofu only as `TF_VAR_*`, files are 0600 and dirs 0700 (umask 077 in the child), and
the startup sweep removes leftovers of older versions or a kill -9 and tightens modes."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import uvloop

from catalyst_api.provisioner import TofuProvisioner
from catalyst_api.provisioner.process import run_command
from catalyst_api.provisioner.workdir import new_workdir_name, secure_root
from fakes.hcloud.harness import CANARIES, CANARY_HCLOUD, EventRecorder, provision_job

MakeProvisioner = Callable[..., TofuProvisioner]
WriteModule = Callable[..., Path]

# The local-exec looks for the canaries (listed in a file outside the workdir) in every workdir
# file while the run is going on; the plan file is the documented exception: it exists only
# between plan and the end of apply. It prints only file names.
GREP_WHILE_RUNNING = """
resource "terraform_data" "probe" {
  count = 2
  input = "probe-${count.index}"
  provisioner "local-exec" {
    command = "grep -rlF -f %s --exclude=tfplan . || echo no-secret-on-disk"
  }
}
"""


def _modes(root: Path) -> dict[str, int]:
    found = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            st = path.lstat()
            if not stat.S_ISLNK(st.st_mode):
                found[str(path.relative_to(root))] = st.st_mode
    return found


def _assert_private(root: Path) -> None:
    modes = _modes(root)
    assert modes, "nothing was written"
    for name, mode in modes.items():
        if stat.S_ISDIR(mode):
            assert stat.S_IMODE(mode) == 0o700, f"{name}: {oct(mode)}"
        else:
            assert stat.S_IMODE(mode) & 0o077 == 0, f"{name}: {oct(mode)}"
            if not stat.S_IMODE(mode) & 0o100:
                assert stat.S_IMODE(mode) == 0o600, f"{name}: {oct(mode)}"


async def test_no_workdir_file_holds_a_secret_during_or_after_apply_and_destroy(
    tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    patterns = tmp_path / "canaries.txt"
    patterns.write_text("\n".join(CANARIES) + "\n")
    prov = make_provisioner(write_module(GREP_WHILE_RUNNING % patterns))
    job = provision_job(workdir=new_workdir_name("acme.omani.works", "0123456789abcdef"))
    events = EventRecorder()

    await prov.apply(job, events)

    probes = [m for m in events.messages("tofu") if "(local-exec): no-" in m or "./" in m]
    assert sorted(probes) == [
        f"terraform_data.probe[{i}]: (local-exec): no-secret-on-disk" for i in (0, 1)
    ], probes
    for path in (tmp_path / "tofu").rglob("*"):
        if path.is_file() and not path.is_symlink():
            for canary in CANARIES:
                assert canary.encode() not in path.read_bytes(), f"{canary[:10]}… in {path}"
    await prov.destroy(job, EventRecorder())
    for path in (tmp_path / "tofu").rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert CANARY_HCLOUD.encode() not in path.read_bytes(), path


async def test_every_file_opentofu_writes_is_0600_and_every_dir_0700(
    tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module('resource "terraform_data" "x" {\n  input = 1\n}\n'))
    job = provision_job(workdir=new_workdir_name("acme.omani.works", "0123456789abcdef"))
    await prov.apply(job, EventRecorder())
    await prov.destroy(job, EventRecorder())  # a second state write leaves the backup
    await prov.apply(job, EventRecorder())
    workdir = prov.workdir_for(job.sovereign_fqdn, job.workdir)
    assert (workdir / "terraform.tfstate.backup").exists()

    _assert_private(tmp_path / "tofu")
    assert stat.S_IMODE((tmp_path / "tofu").stat().st_mode) == 0o700


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_commands_run_with_umask_077_on_either_event_loop(tmp_path: Path, loop: str) -> None:
    async def run() -> int:
        result = await run_command(
            ("/bin/sh", "-c", "echo x > file && mkdir dir && umask"),
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
            on_line=lambda stream, text: None,
            deadline=asyncio.get_running_loop().time() + 30,
            kill_grace=1,
            capture_stdout=True,
        )
        assert result.stdout.strip() == b"0077"
        return result.returncode

    before = os.umask(0o022)
    os.umask(before)
    returncode = uvloop.run(run()) if loop == "uvloop" else asyncio.run(run())

    assert returncode == 0
    assert stat.S_IMODE((tmp_path / "file").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "dir").stat().st_mode) == 0o700
    current = os.umask(before)
    os.umask(current)
    assert current == before, "our own umask must not change"


def _old_version_workdir(root: Path) -> Path:
    """A workdir as an older version (or the original) leaves it after a kill -9."""
    workdir = root / "acme-omani-works"
    (workdir / ".terraform" / "providers").mkdir(parents=True)
    for directory in (root, workdir, workdir / ".terraform", workdir / ".terraform" / "providers"):
        directory.chmod(0o755)
    secret = {"sovereign_fqdn": "acme.omani.works", "hcloud_token": CANARY_HCLOUD}
    (workdir / "tofu.auto.tfvars.json").write_text(json.dumps(secret))
    (workdir / "tfplan").write_bytes(b"PK\x03\x04" + CANARY_HCLOUD.encode())
    (workdir / "terraform.tfstate").write_text('{"version": 4, "resources": []}')
    (workdir / "terraform.tfstate.backup").write_text('{"version": 4, "resources": []}')
    provider = workdir / ".terraform" / "providers" / "terraform-provider-x"
    provider.write_text("#!/bin/sh\n")
    for path in workdir.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    provider.chmod(0o755)
    return workdir


def test_the_startup_sweep_removes_resting_secrets_and_tightens_modes(tmp_path: Path) -> None:
    root = tmp_path / "tofu"
    old = _old_version_workdir(root)
    clean = root / "clean.example.0123456789abcdef"
    clean.mkdir(mode=0o700)
    (clean / "tofu.auto.tfvars.json").write_text(json.dumps({"sovereign_fqdn": "clean.example"}))
    (clean / "tofu.auto.tfvars.json").chmod(0o600)

    report = secure_root(root)

    assert not (old / "tofu.auto.tfvars.json").exists()
    assert not (old / "tfplan").exists()
    assert (old / "terraform.tfstate").exists() and (old / "terraform.tfstate.backup").exists()
    assert (clean / "tofu.auto.tfvars.json").exists(), "a tfvars without secrets is kept"
    assert (report.plans_removed, report.tfvars_removed) == (1, 1)
    assert report.modes_tightened >= 7
    _assert_private(root)
    provider = old / ".terraform" / "providers" / "terraform-provider-x"
    assert stat.S_IMODE(provider.stat().st_mode) == 0o700, "provider binaries stay executable"
    for path in root.rglob("*"):
        if path.is_file():
            assert CANARY_HCLOUD.encode() not in path.read_bytes()


def test_the_sweep_creates_a_missing_root_private_and_never_raises(tmp_path: Path) -> None:
    root = tmp_path / "data" / "tofu"

    secure_root(root)
    secure_root(tmp_path / "file-not-dir" / "x")

    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(root.parent.stat().st_mode) == 0o700
