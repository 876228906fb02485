"""The control-plane (and worker) cloud-init templates, rendered by Terraform's templatefile."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from typing import Any

import pytest
import yaml

from fakes.hcloud.harness import HETZNER_MODULE, TERRAFORM, tofu_base_env

CP_TEMPLATE = HETZNER_MODULE / "cloudinit-control-plane.tftpl"
WORKER_TEMPLATE = HETZNER_MODULE / "cloudinit-worker.tftpl"

FQDN = "acme.omani.works"
LB_IP = "198.51.100.7"
GHCR = "ghcr_pat_0123456789abcdef"
BEARER = "b" * 64
DEPLOYMENT = "0123456789abcdef"
API = "https://console.openova.io/sovereign"
K3S_TOKEN = "k" * 64

BASE = {
    "sovereign_fqdn": FQDN,
    "org_name": 'Acme "Sovereign" GmbH',
    "org_email": "ops@acme.example",
    "region": "fsn1",
    "node_index": 1,
    "node_ip": "10.0.1.2",
    "join_url": "",
    "api_private_ip": "10.0.1.2",
    "lb_ipv4": LB_IP,
    "k3s_version": "v1.31.4+k3s1",
    "k3s_token": K3S_TOKEN,
    "cilium_version": "1.16.5",
    "flux_version": "v2.4.0",
    "gitops_repo_url": "https://github.com/openova-io/openova",
    "gitops_branch": "main",
    "ghcr_pull_token": GHCR,
    "deployment_id": DEPLOYMENT,
    "kubeconfig_bearer_token": BEARER,
    "catalyst_api_url": API,
}
WORKER = {
    "sovereign_fqdn": FQDN,
    "node_index": 1,
    "node_ip": "10.0.1.10",
    "server_url": "https://10.0.1.2:6443",
    "k3s_version": "v1.31.4+k3s1",
    "k3s_token": K3S_TOKEN,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "primary": {},
    "no_bearer": {"kubeconfig_bearer_token": ""},
    "no_deployment_id": {"deployment_id": ""},
    "no_api_url": {"catalyst_api_url": ""},
    "no_ghcr": {"ghcr_pull_token": ""},
    "secondary": {"node_index": 2, "node_ip": "10.0.1.3", "join_url": "https://10.0.1.2:6443"},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every variant rendered by `terraform apply` of a module whose outputs call templatefile."""
    module = tmp_path_factory.mktemp("render")
    outputs = [
        f'output "{name}" {{\n  value = templatefile({json.dumps(str(CP_TEMPLATE))}, '
        f"{json.dumps({**BASE, **override})})\n}}\n"
        for name, override in VARIANTS.items()
    ]
    outputs.append(
        f'output "worker" {{\n  value = templatefile({json.dumps(str(WORKER_TEMPLATE))}, '
        f"{json.dumps(WORKER)})\n}}\n"
    )
    (module / "main.tf").write_text("\n".join(outputs))
    (module / "cli.tfrc").write_text("disable_checkpoint = true\n")
    env = {**tofu_base_env(), "TF_CLI_CONFIG_FILE": str(module / "cli.tfrc"), "TF_INPUT": "0"}
    for args in (("init", "-input=false"), ("apply", "-input=false", "-auto-approve")):
        subprocess.run(
            (str(TERRAFORM), *args),
            cwd=module,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
    out = subprocess.run(
        (str(TERRAFORM), "output", "-json"),
        cwd=module,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return {name: entry["value"] for name, entry in json.loads(out.stdout).items()}


def _files(text: str) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(text)
    return {f["path"]: f for f in doc["write_files"]}


def _script(text: str) -> str:
    content: str = _files(text)["/usr/local/sbin/catalyst-bootstrap.sh"]["content"]
    return content


def _operative(lines: str) -> list[str]:
    return [line for line in lines.splitlines() if not line.lstrip().startswith("#")]


# --- the template source (the original's Go test checks) ------------------------------------


def test_template_source_bootstraps_flux_from_the_shared_template_tree() -> None:
    source = CP_TEMPLATE.read_text()
    assert "!/clusters/_template" in source
    assert "path: ./clusters/_template/bootstrap-kit" in source
    assert "path: ./clusters/_template/infrastructure" in source
    assert source.count("SOVEREIGN_FQDN: ${sovereign_fqdn}") >= 2
    assert not [line for line in _operative(source) if "clusters/${sovereign_fqdn}" in line]


def test_templates_never_trace_or_echo_secrets() -> None:
    for template in (CP_TEMPLATE, WORKER_TEMPLATE):
        source = template.read_text()
        assert "set -x" not in source
        assert "xtrace" not in " ".join(_operative(source))
        assert "umask 077" in source
        for line in source.splitlines():
            if re.search(r"\b(echo|log|printf)\b", line):
                assert "token" not in line.lower(), line


# --- rendered output ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [*VARIANTS, "worker"])
def test_every_rendering_is_valid_cloud_config(rendered: dict[str, str], variant: str) -> None:
    text = rendered[variant]
    assert text.splitlines()[0] == "#cloud-config"
    doc = yaml.safe_load(text)
    assert doc["runcmd"] == [["bash", "/usr/local/sbin/catalyst-bootstrap.sh"]]
    files = _files(text)
    assert files["/var/lib/catalyst/k3s-token"]["permissions"] == "0600"
    assert files["/var/lib/catalyst/k3s-token"]["content"] == K3S_TOKEN
    assert files["/usr/local/sbin/catalyst-bootstrap.sh"]["permissions"] == "0700"
    assert "touch /var/lib/catalyst/cloud-init-complete" in _script(text)


def test_primary_installs_k3s_with_the_original_flags(rendered: dict[str, str]) -> None:
    script = _script(rendered["primary"])
    for flag in (
        "--cluster-init",
        "--flannel-backend=none",
        "--disable-network-policy",
        "--disable=traefik",
        "--disable=servicelb",
        f"--tls-san={FQDN}",
        f"--tls-san={LB_IP}",
        "--token-file /var/lib/catalyst/k3s-token",
    ):
        assert flag in script, flag
    assert "INSTALL_K3S_VERSION='v1.31.4+k3s1'" in script
    assert "kubectl get --raw=/healthz" in script
    sovereign = json.loads(
        _files(rendered["primary"])["/var/lib/catalyst/sovereign.json"]["content"]
    )
    assert sovereign["sovereignFQDN"] == FQDN
    assert sovereign["orgName"] == 'Acme "Sovereign" GmbH'


def test_primary_puts_the_lb_kubeconfig_back_with_the_bearer_then_deletes_it(
    rendered: dict[str, str],
) -> None:
    script = _script(rendered["primary"])
    rewrite = (
        f"sed 's#https://127.0.0.1:6443#https://{LB_IP}:6443#' /etc/rancher/k3s/k3s.yaml "
        "> /etc/rancher/k3s/k3s.yaml.public"
    )
    put = (
        "curl -fsSL --retry 60 --retry-delay 10 --retry-all-errors -X PUT "
        f'-H "Authorization: Bearer {BEARER}" -H "Content-Type: application/x-yaml" '
        "--data-binary @/etc/rancher/k3s/k3s.yaml.public "
        f'"{API}/api/v1/deployments/{DEPLOYMENT}/kubeconfig"'
    )
    assert "install -m 0600 /dev/null /etc/rancher/k3s/k3s.yaml.public" in script
    assert rewrite in script
    assert put in script
    order = [
        script.index("kubectl get --raw=/healthz"),
        script.index(rewrite),
        script.index(put),
        script.index("rm -f /etc/rancher/k3s/k3s.yaml.public"),
        script.index("install.yaml"),
    ]
    assert order == sorted(order), "postback must follow healthz and precede Flux"
    assert [line for line in script.splitlines() if BEARER in line] == [
        line for line in script.splitlines() if line.strip().startswith("if ! curl")
    ]


@pytest.mark.parametrize("variant", ["no_bearer", "no_deployment_id", "no_api_url"])
def test_postback_is_rendered_only_with_id_bearer_and_api_url(
    rendered: dict[str, str], variant: str
) -> None:
    script = _script(rendered[variant])
    assert "-X PUT" not in script
    assert "k3s.yaml.public" not in script
    assert BEARER not in rendered[variant]
    assert "kubectl apply -f /var/lib/catalyst/flux-bootstrap.yaml" in script


def test_ghcr_pull_secret_is_private_and_applied_before_the_flux_bootstrap(
    rendered: dict[str, str],
) -> None:
    files = _files(rendered["primary"])
    entry = files["/var/lib/catalyst/ghcr-pull-secret.yaml"]
    assert entry["permissions"] == "0600"
    secret = yaml.safe_load(entry["content"])
    assert secret["metadata"] == {"name": "ghcr-pull", "namespace": "flux-system"}
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    auth = config["auths"]["ghcr.io"]
    assert auth["username"] == "openova-bot"
    assert auth["password"] == GHCR
    assert base64.b64decode(auth["auth"]).decode() == f"openova-bot:{GHCR}"
    script = _script(rendered["primary"])
    apply_secret = script.index("kubectl apply -f /var/lib/catalyst/ghcr-pull-secret.yaml")
    apply_bootstrap = script.index("kubectl apply -f /var/lib/catalyst/flux-bootstrap.yaml")
    assert apply_secret < apply_bootstrap
    assert (
        "kubectl apply -f https://github.com/fluxcd/flux2/releases/download/v2.4.0/install.yaml"
        in script
    )


def test_without_a_ghcr_token_no_pull_secret_is_written(rendered: dict[str, str]) -> None:
    assert "/var/lib/catalyst/ghcr-pull-secret.yaml" not in _files(rendered["no_ghcr"])
    assert "ghcr-pull-secret" not in _script(rendered["no_ghcr"])


def test_flux_bootstrap_reconciles_the_template_tree_with_the_sovereign_fqdn(
    rendered: dict[str, str],
) -> None:
    content = _files(rendered["primary"])["/var/lib/catalyst/flux-bootstrap.yaml"]["content"]
    repo, kit, infra = list(yaml.safe_load_all(content))
    assert (repo["kind"], repo["metadata"]["name"], repo["spec"]["interval"]) == (
        "GitRepository",
        "openova",
        "1m",
    )
    assert repo["spec"]["url"] == "https://github.com/openova-io/openova"
    assert repo["spec"]["ref"] == {"branch": "main"}
    assert repo["spec"]["ignore"].split() == [
        "/*",
        "!/clusters/_template",
        "!/platform",
        "!/products",
    ]
    assert kit["metadata"]["name"] == "bootstrap-kit"
    assert kit["spec"]["path"] == "./clusters/_template/bootstrap-kit"
    assert infra["metadata"]["name"] == "infrastructure-config"
    assert infra["spec"]["path"] == "./clusters/_template/infrastructure"
    assert infra["spec"]["dependsOn"] == [{"name": "bootstrap-kit"}]
    for kustomization in (kit, infra):
        spec = kustomization["spec"]
        assert (spec["interval"], spec["prune"], spec["wait"], spec["timeout"]) == (
            "5m",
            True,
            True,
            "30m",
        )
        assert spec["sourceRef"] == {"kind": "GitRepository", "name": "openova"}
        assert spec["postBuild"]["substitute"] == {"SOVEREIGN_FQDN": FQDN}


def test_additional_control_planes_join_the_first_and_skip_the_bootstrap(
    rendered: dict[str, str],
) -> None:
    text = rendered["secondary"]
    script = _script(text)
    assert "--server https://10.0.1.2:6443" in script
    assert "--cluster-init" not in script
    assert "--flannel-backend=none" in script
    assert BEARER not in text
    assert GHCR not in text
    assert "flux" not in script.lower()
    assert "/var/lib/rancher/k3s/server/manifests/cilium.yaml" not in _files(text)


def test_workers_join_as_k3s_agents(rendered: dict[str, str]) -> None:
    script = _script(rendered["worker"])
    assert "k3s-install.sh agent" in script
    assert "--server https://10.0.1.2:6443" in script
    assert "--node-ip=10.0.1.10" in script
