"""What a real `serve --sandbox` run leaves under `--data-dir` (issue 10): every directory
0700, every file 0600 (0700 for executables), the root too, and no secret in any file but the
kubeconfigs (which a destroy deletes)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from catalyst_sandbox.wiring import (
    SANDBOX_DYNADOT_KEY,
    SANDBOX_DYNADOT_SECRET,
    SANDBOX_GHCR_TOKEN,
)
from sandbox_e2e.harness import SandboxFactory, byo_body

pytestmark = pytest.mark.timeout(180)  # a real sandbox server running OpenTofu; the default is 15 s


def test_a_full_run_and_destroy_leave_only_private_secret_free_files(
    sandbox: SandboxFactory,
) -> None:
    server = sandbox()
    body = byo_body("rest")
    dep = server.create(body)
    done = server.follow(dep)[-1]
    assert done["status"] == "ready", done
    assert (server.data_dir / "kubeconfigs" / f"{dep}.yaml").exists()
    response = httpx.delete(f"{server.url}/api/v1/deployments/{dep}", timeout=10)
    assert response.status_code == 202, response.text
    done = server.follow(dep)[-1]
    assert done["status"] == "destroyed", (done, server.log_text()[-3000:])
    server.stop()

    root = server.data_dir
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert (root / "tofu" / f"rest.sandbox.example.{dep}" / "terraform.tfstate").exists()
    secrets: tuple[str, ...] = (body["hetznerToken"], SANDBOX_GHCR_TOKEN, SANDBOX_DYNADOT_KEY)
    secrets += (SANDBOX_DYNADOT_SECRET,)
    checked = 0
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames:
            mode = (Path(directory) / name).lstat().st_mode
            assert stat.S_ISLNK(mode) or stat.S_IMODE(mode) == 0o700, (directory, name, oct(mode))
        for name in filenames:
            path = Path(directory) / name
            if path.parent == root and name.startswith("server-"):
                continue  # the test harness's own log files
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            assert stat.S_IMODE(mode) in (0o600, 0o700), (path, oct(mode))
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret[:12]}… in {path}"
            checked += 1
    assert checked > 10
    assert not list((root / "kubeconfigs").glob("*.yaml"))
