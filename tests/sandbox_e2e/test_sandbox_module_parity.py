"""infra/sandbox takes exactly the tfvars of infra/hetzner and hands back the same outputs, with
built-in resources only and no secret on a command line or in the state."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HETZNER = REPO / "infra" / "hetzner"
SANDBOX = REPO / "infra" / "sandbox"
SECRET_VARIABLES = ("hcloud_token", "kubeconfig_bearer_token", "ghcr_pull_token")


def blocks(path: Path, kind: str) -> list[str]:
    return re.findall(rf'^{kind} "([a-z0-9_]+)"', path.read_text(), flags=re.MULTILINE)


def test_sandbox_module_declares_the_hetzner_variables_verbatim() -> None:
    assert (SANDBOX / "variables.tf").read_text() == (HETZNER / "variables.tf").read_text()


def test_sandbox_module_has_the_hetzner_outputs() -> None:
    assert blocks(SANDBOX / "outputs.tf", "output") == blocks(HETZNER / "outputs.tf", "output")


def test_sandbox_module_needs_no_provider_and_stages_as_tf_files_only() -> None:
    sources = {p.name for p in SANDBOX.iterdir() if p.suffix in (".tf", ".tftpl")}
    assert sources == {
        "main.tf",
        "outputs.tf",
        "variables.tf",
        "versions.tf",
        "sandbox-cloud.py.tftpl",
    }
    text = "".join((SANDBOX / name).read_text() for name in sources if name.endswith(".tf"))
    assert "required_providers" not in text
    assert set(re.findall(r'^resource "([a-z_]+)"', text, flags=re.MULTILINE)) == {"terraform_data"}


def test_secrets_reach_the_sandbox_cloud_only_through_the_environment() -> None:
    main = (SANDBOX / "main.tf").read_text()
    for name in SECRET_VARIABLES:
        uses = [line.strip() for line in main.splitlines() if f"var.{name}" in line]
        assert uses, name
        for line in uses:
            assert re.match(r"^[A-Z_]+\s*=", line), f"{name} used outside an env var: {line}"
    assert "command     = self.input.client" in main
