"""Planted secrets never reach a log line, an API response or a file other than the
kubeconfig (DESIGN "Quality bar")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.provisioner import TofuProvisioner
from catalyst_api.wiring import Overrides
from fakes.hcloud.harness import TERRAFORM, tofu_base_env, write_tfvars_module
from support.fakes import ScriptedPhase1
from support.waiting import wait_status

pytestmark = pytest.mark.timeout(90)  # real OpenTofu runs; the default is 15 s

Body = Callable[..., dict[str, Any]]

HETZNER = "hetzner-canary-" + "7" * 49
GHCR = "ghcr-canary-8f8f8f8f8f"
DYNADOT_KEY = "dynadot-key-canary-3c3c"
DYNADOT_SECRET = "dynadot-secret-canary-4d4d"
KUBE_TOKEN = "kube-token-canary-5e5e"


def test_canary_secrets_appear_nowhere(
    make_settings, start_server, scripted_overrides, body: Body, data_root: Path, log_text
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        CATALYST_GHCR_PULL_TOKEN=GHCR,
        DYNADOT_API_KEY=DYNADOT_KEY,
        DYNADOT_API_SECRET=DYNADOT_SECRET,
    )
    overrides = scripted_overrides()
    overrides.provisioner.kubeconfig = f"users:\n- user:\n    token: {KUBE_TOKEN}\n".encode()
    server = start_server(settings, overrides)
    byo = httpx.post(f"{server.url}/api/v1/deployments", json=body(hetznerToken=HETZNER))
    assert byo.status_code == 201
    pool = httpx.post(
        f"{server.url}/api/v1/deployments",
        json=body(
            hetznerToken=HETZNER,
            sovereignFQDN="canary.omani.works",
            sovereignDomainMode="pool",
            sovereignPoolDomain="omani.works",
            sovereignSubdomain="canary",
        ),
    )
    assert pool.status_code == 201
    responses = [byo.text, pool.text]
    for dep in (byo.json()["id"], pool.json()["id"]):
        wait_status(server.url, dep, {"ready", "failed"})
        bearer = server.call(
            lambda d=dep: server.services.deployments.get(d).bearer_token.get_secret_value()
        )
        for path in ("", "/events"):
            responses.append(httpx.get(f"{server.url}/api/v1/deployments/{dep}{path}").text)
        responses.append(httpx.get(f"{server.url}/api/v1/deployments").text)
        responses.append(httpx.get(f"{server.url}/metrics").text)
        secrets = (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, bearer)
        for text in responses:
            for secret in secrets:
                assert secret not in text
    server.run(server.services.eventlog.flush())
    server.stop()

    logs = log_text()
    for secret in (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, KUBE_TOKEN):
        assert secret not in logs
    kubeconfig_dir = data_root / "kubeconfigs"
    for file in data_root.rglob("*"):
        if not file.is_file() or file.parent == kubeconfig_dir:
            continue
        content = file.read_bytes()
        for secret in (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, KUBE_TOKEN):
            assert secret.encode() not in content, f"{secret[:12]}… found in {file}"


# Every secret variable is used, so OpenTofu really receives it (and could leak it).
USES_SECRETS = """
resource "terraform_data" "server" {
  input = sha256(join("/", [var.hcloud_token, var.ghcr_pull_token, var.dynadot_key,
    var.dynadot_secret, var.kubeconfig_bearer_token]))
}

output "load_balancer_ip" {
  value = "198.51.100.20"
}
"""


def test_no_file_under_the_data_dir_holds_a_canary_after_real_opentofu_runs(
    make_settings, start_server, body: Body, data_root: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    module = write_tfvars_module(tmp_path / "module", USES_SECRETS)
    settings = make_settings(
        CATALYST_GHCR_PULL_TOKEN=GHCR,
        DYNADOT_API_KEY=DYNADOT_KEY,
        DYNADOT_API_SECRET=DYNADOT_SECRET,
        CATALYST_TOFU_MODULE_PATH=str(module),
        CATALYST_TOFU_BINARY=str(TERRAFORM),
    )
    prov = TofuProvisioner(settings=settings, kill_grace_seconds=1, base_env=tofu_base_env())
    server = start_server(settings, Overrides(provisioner=prov, phase1=ScriptedPhase1()))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body(hetznerToken=HETZNER))
    assert dep.status_code == 201, dep.text
    dep_id = dep.json()["id"]
    wait_status(server.url, dep_id, {"phase1-watching"}, timeout=60)
    bearer = server.call(
        lambda: server.services.deployments.get(dep_id).bearer_token.get_secret_value()
    )
    put = httpx.put(
        f"{server.url}/api/v1/deployments/{dep_id}/kubeconfig",
        content=f"users:\n- user:\n    token: {KUBE_TOKEN}\n".encode(),
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert put.status_code == 204
    wait_status(server.url, dep_id, {"ready"})
    retry = httpx.post(
        f"{server.url}/api/v1/deployments/{dep_id}/phases/tofu-apply/retry",
        json={"hetznerToken": HETZNER},
    )
    assert retry.status_code == 200, retry.text
    wait_status(server.url, dep_id, {"phase1-watching", "ready"}, timeout=60)
    workdir = data_root / "tofu" / f"k8s.acme.example.{dep_id}"
    assert (workdir / "terraform.tfstate").exists()
    assert (workdir / "tofu.auto.tfvars.json").exists()  # the non-secret inputs stay
    server.run(server.services.eventlog.flush())
    server.stop()

    secrets = (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, KUBE_TOKEN, bearer)
    for path in data_root.rglob("*"):
        if not path.is_file() or path.parent == data_root / "kubeconfigs":
            continue
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{secret[:12]}… found in {path}"
