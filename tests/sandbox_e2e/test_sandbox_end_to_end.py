"""`catalyst-api serve --sandbox` provisions simulated Sovereigns through the real pipeline:
real TofuProvisioner on infra/sandbox, kubeconfig postback over HTTP, embedded DNS through the
fake Dynadot, the real Phase 1 watcher against the Sovereign's fake kube-apiserver."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox_e2e.harness import (
    VALID_TOKEN,
    VENV_BIN,
    SandboxFactory,
    SandboxProcess,
    byo_body,
    example_body,
)

pytestmark = pytest.mark.timeout(180)  # real sandbox servers running OpenTofu; the default is 15 s

COMPONENTS = {
    "cilium",
    "cert-manager",
    "flux",
    "crossplane",
    "sealed-secrets",
    "spire",
    "nats-jetstream",
    "openbao",
    "keycloak",
    "gitea",
    "catalyst-platform",
}


def failed_error(component: str, namespace: str, blocked: str = "") -> str:
    """The deployment error when `component` failed for good (issue 14)."""
    error = (
        f"{component} failed: Helm install failed for release {namespace}/bp-{component} with "
        f"chart bp-{component}@1.0.0: sandbox: failure injected for component '{component}'"
    )
    return f"{error}; {blocked}" if blocked else error


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def download_kubeconfig(server: SandboxProcess, dep: str, target: Path) -> Path:
    response = httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig", timeout=10)
    assert response.status_code == 200, response.text
    target.write_bytes(response.content)
    return target


def dns_zone(server: SandboxProcess, domain: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/sandbox/dynadot/api3.json",
        params={
            "key": "sandbox-dynadot-key",
            "secret": "sandbox-dynadot-secret",
            "command": "get_dns",
            "domain": domain,
        },
        timeout=10,
    )
    settings = response.json()["GetDnsResponse"]["GetDns"]["NameServerSettings"]
    records: list[dict[str, Any]] = settings["SubDomains"]
    return records


def component_states(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    states: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.get("phase") == "component" and event.get("component") and event.get("state"):
            states[event["component"]].append(event["state"])
    return states


def test_example_pool_deployment_goes_ready_and_kubectl_reaches_its_sovereign(
    shared_sandbox: SandboxProcess, tmp_path: Path
) -> None:
    server = shared_sandbox
    dep = server.create(example_body())

    frames = server.follow(dep)

    assert frames[-1]["status"] == "ready"
    state = server.state(dep)
    assert state["status"] == "ready"
    assert state["componentStates"] == {c: "installed" for c in COMPONENTS}
    phases = [f.get("phase") for f in frames]
    for phase in ("tofu-init", "tofu-plan", "tofu-apply", "tofu-output", "dns", "component"):
        assert phase in phases
    progress = [f["progress"] for f in frames if f.get("progress")]
    assert progress[-1]["done"] == progress[-1]["total"] >= 13
    lb_ip = state["result"]["loadBalancerIP"]
    assert lb_ip.startswith("198.1")
    hosts = {r["Subhost"]: r["Value"] for r in dns_zone(server, "omani.works")}
    assert hosts["*.acme"] == hosts["console.acme"] == lb_ip

    kubeconfig = download_kubeconfig(server, dep, tmp_path / "acme.yaml")
    listed = kubectl(kubeconfig, "get", "helmreleases", "-A", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    releases = json.loads(listed.stdout)["items"]
    assert {r["metadata"]["name"] for r in releases} == {f"bp-{c}" for c in COMPONENTS}
    for release in releases:
        ready = next(c for c in release["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("True", "InstallSucceeded")
    secret = kubectl(kubeconfig, "get", "secret", "ghcr-pull", "-n", "flux-system", "-o", "json")
    assert json.loads(secret.stdout)["type"] == "kubernetes.io/dockerconfigjson"
    nodes = kubectl(kubeconfig, "get", "nodes", "-o", "name")
    assert nodes.stdout.split() == [
        "node/catalyst-acme-omani-works-cp1",
        "node/catalyst-acme-omani-works-w1",
        "node/catalyst-acme-omani-works-w2",
    ]

    token = example_body()["hetznerToken"]
    for path in server.data_dir.rglob("*"):
        if path.is_file():  # tfvars included: secrets reach OpenTofu only as TF_VAR_*
            assert token.encode() not in path.read_bytes(), f"Hetzner token found in {path}"
    assert token not in server.log_text()


def test_org_name_injected_failure_ends_failed_with_the_original_error(
    shared_sandbox: SandboxProcess,
) -> None:
    server = shared_sandbox
    dep = server.create(byo_body("failing", orgName="Acme fail:catalyst-platform"))

    frames = server.follow(dep)

    assert frames[-1]["status"] == "failed"
    state = server.state(dep)
    assert state["error"] == failed_error("catalyst-platform", "catalyst-system")
    expected = {c: "installed" for c in COMPONENTS} | {"catalyst-platform": "failed"}
    assert state["componentStates"] == expected
    failure = next(f for f in frames if f.get("state") == "failed")
    assert failure["level"] == "error"
    assert failure["message"].startswith("Helm install failed for release")


def test_sandbox_fail_flag_ends_the_run_once_only_blocked_dependents_remain(
    sandbox: SandboxFactory,
) -> None:
    server = sandbox("--sandbox-fail", "keycloak")
    dep = server.create(byo_body("blocked"))

    frames = server.follow(dep)

    state = server.state(dep)
    assert state["status"] == "failed"
    assert state["error"] == failed_error(
        "keycloak", "keycloak", "2 components blocked by it: gitea, catalyst-platform"
    )
    assert state["componentStates"]["keycloak"] == "failed"
    assert state["componentStates"]["gitea"] == "pending"
    assert state["componentStates"]["catalyst-platform"] == "pending"
    assert state["componentStates"]["openbao"] == "installed"
    assert not any("Phase-1 watch terminated by context" in f.get("message", "") for f in frames)


def test_rejected_hetzner_token_fails_phase0_and_a_retry_with_a_good_token_ends_ready(
    shared_sandbox: SandboxProcess,
) -> None:
    server = shared_sandbox
    bad = "invalid-" + "x" * 60
    dep = server.create(byo_body("retried", hetznerToken=bad))

    frames = server.follow(dep)

    assert frames[-1]["status"] == "failed"
    state = server.state(dep)
    assert state["error"].startswith("tofu apply: ")
    assert any("unauthorized" in f.get("message", "") for f in frames)
    assert bad not in json.dumps(frames)

    retry = httpx.post(
        f"{server.url}/api/v1/deployments/{dep}/phases/tofu-apply/retry",
        json={"hetznerToken": VALID_TOKEN},
        timeout=10,
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "provisioning"
    server.follow(dep)
    state = server.state(dep)
    assert state["status"] == "ready", state.get("error")
    assert state["componentStates"] == {c: "installed" for c in COMPONENTS}


def test_destroy_shuts_the_sovereign_down_and_removes_its_dns(
    shared_sandbox: SandboxProcess, tmp_path: Path
) -> None:
    server = shared_sandbox
    dep = server.create(example_body(sovereignFQDN="gone.omani.works", sovereignSubdomain="gone"))
    server.follow(dep)
    assert server.state(dep)["status"] == "ready"
    kubeconfig = download_kubeconfig(server, dep, tmp_path / "gone.yaml")
    assert any(r["Subhost"] == "console.gone" for r in dns_zone(server, "omani.works"))

    response = httpx.delete(f"{server.url}/api/v1/deployments/{dep}", timeout=10)
    assert response.status_code == 202, response.text
    frames = server.follow(dep)

    assert frames[-1]["status"] == "destroyed"
    assert server.state(dep)["status"] == "destroyed"
    inventory = httpx.get(f"{server.url}/sandbox/", timeout=10).json()
    assert dep not in {s["deploymentId"] for s in inventory["sovereigns"]}
    assert dep not in {r["deploymentId"] for r in inventory["resources"]}
    assert not any(r["Subhost"].endswith(".gone") for r in dns_zone(server, "omani.works"))
    unreachable = kubectl(kubeconfig, "get", "helmreleases", "-A", "--request-timeout=5s")
    assert unreachable.returncode != 0
    gone = httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig", timeout=10)
    assert (gone.status_code, gone.json()["error"]) == (410, "deployment-destroyed")
    assert not (server.data_dir / "kubeconfigs" / f"{dep}.yaml").exists()


def test_wizard_token_check_is_answered_by_the_sandbox_cloud(
    shared_sandbox: SandboxProcess,
) -> None:
    url = f"{shared_sandbox.url}/api/v1/credentials/validate"
    good = httpx.post(url, json={"token": VALID_TOKEN}, timeout=10)
    bad = httpx.post(url, json={"token": "invalid-" + "y" * 60}, timeout=10)

    assert (good.status_code, good.json()["valid"]) == (200, True)
    assert (bad.status_code, bad.json()["valid"]) == (200, False)
