"""infra/hetzner, run offline through TofuProvisioner against the fake hcloud provider."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from catalyst_api.config import Settings
from catalyst_api.provisioner import Phase0Outputs, ProvisionError, TofuProvisioner
from fakes.hcloud.harness import (
    CANARIES,
    HETZNER_MODULE,
    TERRAFORM,
    EventRecorder,
    provision_job,
    tofu_base_env,
)

pytestmark = pytest.mark.timeout(90)  # real OpenTofu plans and applies; the default is 15 s

T = TypeVar("T")
MakeProvisioner = Callable[..., TofuProvisioner]

FQDN = "acme.omani.works"
PREFIX = "catalyst-acme-omani-works"
LABELS = {"catalyst.openova.io/sovereign": FQDN, "catalyst-deployment-id": "0123456789abcdef"}
OPEN_TO_ALL = ["0.0.0.0/0", "::/0"]


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on its own loop in a worker thread (for module-scoped fixtures)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _state(workdir: Path) -> dict[str, dict[str, Any]]:
    """`address → attributes` of every resource instance in the workdir's state."""
    state = json.loads((workdir / "terraform.tfstate").read_text())
    out: dict[str, dict[str, Any]] = {}
    for resource in state["resources"]:
        base = f"{resource['type']}.{resource['name']}"
        for instance in resource["instances"]:
            key = instance.get("index_key")
            suffix = "" if key is None else f"[{json.dumps(key)}]"
            out[base + suffix] = instance["attributes"]
    return out


@dataclass
class Applied:
    prov: TofuProvisioner
    workdir: Path
    events: EventRecorder
    outputs: Phase0Outputs
    state: dict[str, dict[str, Any]]


def _provisioner(root: Path, mirror: Path, module: Path = HETZNER_MODULE) -> TofuProvisioner:
    settings = Settings.from_env(
        {},
        tofu_binary=str(TERRAFORM),
        tofu_module_path=module,
        tofu_workdir=root / "tofu",
        api_public_url="https://catalyst.example.test",
    )
    return TofuProvisioner(
        settings=settings, plugin_mirror_dir=mirror, kill_grace_seconds=1, base_env=tofu_base_env()
    )


def _apply(root: Path, mirror: Path, module: Path = HETZNER_MODULE, **job: Any) -> Applied:
    prov = _provisioner(root, mirror, module)
    recorder = EventRecorder()
    outputs = _run(prov.apply(provision_job(**job), recorder))
    workdir = prov.workdir_for(FQDN)
    return Applied(prov, workdir, recorder, outputs, _state(workdir))


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, hcloud_mirror: Path) -> Applied:
    """One control plane + one worker, applied once for the whole module."""
    return _apply(tmp_path_factory.mktemp("single"), hcloud_mirror)


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory, hcloud_mirror: Path) -> Applied:
    """HA: three control planes, two workers, SSH allowed from one CIDR (module override)."""
    root = tmp_path_factory.mktemp("ha")
    module = root / "hetzner-ssh"
    shutil.copytree(HETZNER_MODULE, module)
    (module / "ssh_override.tf").write_text(
        'variable "ssh_allowed_cidrs" {\n  default = ["198.51.100.0/24"]\n}\n'
    )
    return _apply(root, hcloud_mirror, module=module, ha_enabled=True, worker_count=2)


def test_plan_lists_every_resource_of_a_single_node_sovereign(single: Applied) -> None:
    planned = {
        m.removesuffix(": Plan to create")
        for m in single.events.messages("tofu")
        if m.endswith(": Plan to create")
    }
    assert planned == {
        "hcloud_network.main",
        "hcloud_network_subnet.main",
        "hcloud_firewall.main",
        "hcloud_ssh_key.main",
        "hcloud_load_balancer.main",
        "hcloud_load_balancer_network.main",
        'hcloud_load_balancer_service.main["http"]',
        'hcloud_load_balancer_service.main["https"]',
        'hcloud_load_balancer_service.main["kube-api"]',
        "hcloud_server.control_plane[0]",
        "hcloud_load_balancer_target.control_plane[0]",
        "hcloud_server.worker[0]",
    }
    progress = [e.progress for e in single.events.events if e.progress]
    assert progress[-1] == {"done": 12, "total": 12}


def test_resources_are_named_after_the_fqdn_and_labelled_for_orphan_cleanup(
    single: Applied,
) -> None:
    state = single.state
    names = {
        "hcloud_network.main": f"{PREFIX}-net",
        "hcloud_firewall.main": f"{PREFIX}-fw",
        "hcloud_ssh_key.main": f"{PREFIX}-ssh",
        "hcloud_load_balancer.main": f"{PREFIX}-lb",
        "hcloud_server.control_plane[0]": f"{PREFIX}-cp1",
        "hcloud_server.worker[0]": f"{PREFIX}-w1",
    }
    for address, name in names.items():
        assert state[address]["name"] == name
        assert LABELS.items() <= state[address]["labels"].items(), address
    assert state["hcloud_server.control_plane[0]"]["labels"]["catalyst.openova.io/role"] == (
        "control-plane"
    )
    assert state["hcloud_server.worker[0]"]["labels"]["catalyst.openova.io/role"] == "worker"


def test_network_and_servers_use_the_fixed_private_addressing(single: Applied) -> None:
    state = single.state
    network_id = int(state["hcloud_network.main"]["id"])
    assert state["hcloud_network.main"]["ip_range"] == "10.0.0.0/16"
    subnet = state["hcloud_network_subnet.main"]
    assert (subnet["ip_range"], subnet["type"], subnet["network_zone"]) == (
        "10.0.1.0/24",
        "cloud",
        "eu-central",
    )
    assert subnet["network_id"] == network_id
    for address, ip in (("control_plane[0]", "10.0.1.2"), ("worker[0]", "10.0.1.10")):
        server = state[f"hcloud_server.{address}"]
        assert server["network"] == [
            {"network_id": network_id, "ip": ip, "alias_ips": None, "mac_address": None}
        ]
        assert server["image"] == "ubuntu-24.04"
        assert server["location"] == "fsn1"
        assert server["firewall_ids"] == [int(state["hcloud_firewall.main"]["id"])]
        assert server["ssh_keys"] == [state["hcloud_ssh_key.main"]["id"]]
    assert state["hcloud_server.control_plane[0]"]["server_type"] == "cpx31"
    assert state["hcloud_server.worker[0]"]["server_type"] == "cpx41"


def test_firewall_opens_web_api_and_icmp_and_keeps_ssh_closed(single: Applied) -> None:
    rules = single.state["hcloud_firewall.main"]["rule"]
    summary = sorted((r["direction"], r["protocol"], r["port"], r["source_ips"]) for r in rules)
    assert summary == [
        ("in", "icmp", None, OPEN_TO_ALL),
        ("in", "tcp", "443", OPEN_TO_ALL),
        ("in", "tcp", "6443", OPEN_TO_ALL),
        ("in", "tcp", "80", OPEN_TO_ALL),
    ]


def test_load_balancer_forwards_ingress_and_api_to_the_control_plane_privately(
    single: Applied,
) -> None:
    state = single.state
    lb = state["hcloud_load_balancer.main"]
    assert (lb["load_balancer_type"], lb["location"]) == ("lb11", "fsn1")
    services = sorted(
        (s["protocol"], s["listen_port"], s["destination_port"], s["load_balancer_id"])
        for a, s in state.items()
        if a.startswith("hcloud_load_balancer_service.")
    )
    assert services == [
        ("tcp", 80, 31080, lb["id"]),
        ("tcp", 443, 31443, lb["id"]),
        ("tcp", 6443, 6443, lb["id"]),
    ]
    target = state["hcloud_load_balancer_target.control_plane[0]"]
    assert target["type"] == "server"
    assert target["use_private_ip"] is True
    assert target["server_id"] == int(state["hcloud_server.control_plane[0]"]["id"])
    assert target["load_balancer_id"] == int(lb["id"])
    lb_net = state["hcloud_load_balancer_network.main"]
    assert lb_net["network_id"] == int(state["hcloud_network.main"]["id"])


def test_outputs_report_the_public_addresses(single: Applied) -> None:
    state = single.state
    assert (
        single.outputs.control_plane_ip == state["hcloud_server.control_plane[0]"]["ipv4_address"]
    )
    assert single.outputs.load_balancer_ip == state["hcloud_load_balancer.main"]["ipv4"]
    assert single.outputs.control_plane_ip.startswith("203.0.113.")
    assert single.outputs.load_balancer_ip.startswith("198.51.100.")
    assert single.outputs.raw["console_url"] == f"https://console.{FQDN}"
    assert single.outputs.raw["gitops_repo_url"] == f"https://gitea.{FQDN}"
    assert single.outputs.raw["sovereign_fqdn"] == FQDN


def test_no_workdir_file_holds_a_secret_and_every_file_is_private(single: Applied) -> None:
    tfvars = single.workdir / "tofu.auto.tfvars.json"
    assert stat.S_IMODE(tfvars.stat().st_mode) == 0o600
    holders = set()
    for folder, dirs, files in os.walk(single.workdir):
        for name in dirs:
            mode = (Path(folder) / name).lstat().st_mode
            assert stat.S_ISLNK(mode) or stat.S_IMODE(mode) == 0o700, (folder, name, oct(mode))
        for name in files:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            assert stat.S_ISLNK(mode) or stat.S_IMODE(mode) in (0o600, 0o700), (path, oct(mode))
            data = path.read_bytes()
            if any(canary.encode() in data for canary in CANARIES):
                holders.add(path)
    assert holders == set()  # secrets travel as TF_VAR_* only
    assert not (single.workdir / "tfplan").exists()
    for canary in CANARIES:
        assert canary not in single.events.text()
    # the state keeps the cloud-init only as the provider's hash, like the real provider
    user_data = single.state["hcloud_server.control_plane[0]"]["user_data"]
    assert len(user_data) == 28 and user_data.endswith("=")


def test_ha_runs_three_control_planes_behind_the_load_balancer(ha: Applied) -> None:
    state = ha.state
    cps = [state[f"hcloud_server.control_plane[{i}]"] for i in range(3)]
    assert [cp["name"] for cp in cps] == [f"{PREFIX}-cp1", f"{PREFIX}-cp2", f"{PREFIX}-cp3"]
    assert [cp["network"][0]["ip"] for cp in cps] == ["10.0.1.2", "10.0.1.3", "10.0.1.4"]
    targets = sorted(
        state[f"hcloud_load_balancer_target.control_plane[{i}]"]["server_id"] for i in range(3)
    )
    assert targets == sorted(int(cp["id"]) for cp in cps)
    workers = [state[f"hcloud_server.worker[{i}]"] for i in range(2)]
    assert [w["network"][0]["ip"] for w in workers] == ["10.0.1.10", "10.0.1.11"]
    assert ha.outputs.control_plane_ip == cps[0]["ipv4_address"]


INVALID_INPUTS: dict[str, Any] = {
    "region": "mars1",
    "sovereign_fqdn": "acme-.omani.works",
    "control_plane_size": "big",
    "worker_size": "m5.large",
    "worker_count": 51,
    "org_email": "not-an-email",
    "ssh_public_key": "ssh-dss AAAA",
}
VALIDATION_MESSAGES = (
    "region must be one of fsn1, nbg1, hel1, ash, hil.",
    "sovereign_fqdn must be a lowercase domain name",
    "control_plane_size must be a Hetzner server type",
    "worker_size must be empty or a Hetzner server type",
    "worker_count must be a whole number between 0 and 50.",
    "org_email must be an e-mail address",
    "ssh_public_key must be an OpenSSH public key",
)


async def test_invalid_inputs_fail_at_plan_with_each_variables_message_in_the_events(
    make_provisioner: MakeProvisioner, hcloud_mirror: Path, events: EventRecorder
) -> None:
    prov = make_provisioner(HETZNER_MODULE, mirror=hcloud_mirror)

    with pytest.raises(ProvisionError, match=r"^tofu plan: terraform plan .* exit status 1$"):
        await prov.apply(provision_job(**INVALID_INPUTS), events)

    errors = events.messages("tofu", "error")
    for message in VALIDATION_MESSAGES:
        assert any(message in m for m in errors), (message, errors)
    assert "tofu-apply" not in events.phases()


async def test_workers_without_a_size_fail_at_plan(
    make_provisioner: MakeProvisioner, hcloud_mirror: Path, events: EventRecorder
) -> None:
    prov = make_provisioner(HETZNER_MODULE, mirror=hcloud_mirror)

    with pytest.raises(ProvisionError, match=r"^tofu plan: "):
        await prov.apply(provision_job(worker_count=2, worker_size=""), events)

    assert any(
        "worker_size must be set when worker_count is greater than 0." in m
        for m in events.messages("tofu", "error")
    )


async def test_invalid_regions_provider_fails_at_plan(
    make_provisioner: MakeProvisioner, hcloud_mirror: Path, events: EventRecorder
) -> None:
    from catalyst_api.provisioner import RegionSpec

    prov = make_provisioner(HETZNER_MODULE, mirror=hcloud_mirror)
    region = RegionSpec(provider="gcp", cloud_region="fsn1", control_plane_size="cpx31")

    with pytest.raises(ProvisionError):
        await prov.apply(provision_job(regions=[region]), events)

    assert any(
        "every regions[].provider must be one of hetzner, huawei, oci, aws, azure." in m
        for m in events.messages("tofu", "error")
    )


async def test_a_rejected_hetzner_token_fails_the_plan_with_the_provider_error(
    make_provisioner: MakeProvisioner, hcloud_mirror: Path, events: EventRecorder
) -> None:
    prov = make_provisioner(HETZNER_MODULE, mirror=hcloud_mirror)

    with pytest.raises(ProvisionError, match=r"^tofu plan: "):
        await prov.apply(provision_job(hcloud_token=SecretStr("invalid-token-xyz")), events)

    assert any(
        "unable to authenticate your access token" in m for m in events.messages("tofu", "error")
    )


async def test_retry_with_a_new_bearer_keeps_the_servers_and_destroy_removes_everything(
    make_provisioner: MakeProvisioner, hcloud_mirror: Path
) -> None:
    prov = make_provisioner(HETZNER_MODULE, mirror=hcloud_mirror)
    first = await prov.apply(provision_job(worker_count=0, worker_size=""), EventRecorder())
    server_id = _state(prov.workdir_for(FQDN))["hcloud_server.control_plane[0]"]["id"]

    retry = EventRecorder()
    again = await prov.apply(
        provision_job(worker_count=0, worker_size="", kubeconfig_bearer_token=SecretStr("f" * 64)),
        retry,
    )

    assert "Plan: 0 to add, 0 to change, 0 to destroy." in retry.messages("tofu")
    assert again == first
    assert _state(prov.workdir_for(FQDN))["hcloud_server.control_plane[0]"]["id"] == server_id

    gone = EventRecorder()
    await prov.destroy(provision_job(), gone)

    assert "Destroy complete! Resources: 11 destroyed." in gone.messages("tofu")
    assert [e.progress for e in gone.events if e.progress][-1] == {"done": 11, "total": 11}
    assert not prov.has_state(FQDN)
    assert not (prov.workdir_for(FQDN) / "tofu.auto.tfvars.json").exists()


def test_ssh_opens_only_to_the_allowed_cidrs(ha: Applied) -> None:
    rules = ha.state["hcloud_firewall.main"]["rule"]
    ssh = [r for r in rules if r["port"] == "22"]
    assert ssh == [
        {
            "description": "SSH",
            "direction": "in",
            "protocol": "tcp",
            "port": "22",
            "source_ips": ["198.51.100.0/24"],
            "destination_ips": None,
        }
    ]
    assert len(rules) == 5
