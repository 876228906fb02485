"""Deployments record their OpenTofu workdir (`tofuWorkdir`) and the real provisioner uses it
(issue 10): `coll.example.test` and `coll-example.test` keep separate states and destroying one
leaves the other's intact; records of earlier versions and of the original keep the legacy
`<fqdn-dashed>` workdir for retry and destroy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.config import Settings
from catalyst_api.provisioner import TofuProvisioner
from catalyst_api.wiring import Overrides
from fakes.hcloud.harness import TERRAFORM, tofu_base_env, write_tfvars_module
from support.fakes import ScriptedPhase1
from support.waiting import wait_status

pytestmark = pytest.mark.timeout(60)  # real OpenTofu runs; the default is 15 s

Body = Callable[..., dict[str, Any]]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "original-store"

MODULE = """
resource "terraform_data" "server" {
  count = 2
  input = "${var.sovereign_fqdn}/${count.index}"
}

output "control_plane_ip" {
  value = "203.0.113.10"
}

output "load_balancer_ip" {
  value = "198.51.100.20"
}
"""


@pytest.fixture
def tofu_settings(make_settings, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    module = write_tfvars_module(tmp_path / "module", MODULE)
    settings: Settings = make_settings(
        CATALYST_TOFU_MODULE_PATH=str(module),
        CATALYST_TOFU_BINARY=str(TERRAFORM),
        CATALYST_TOFU_TIMEOUT="2m",
    )
    return settings


def _overrides(settings: Settings) -> Overrides:
    prov = TofuProvisioner(settings=settings, kill_grace_seconds=1, base_env=tofu_base_env())
    return Overrides(provisioner=prov, phase1=ScriptedPhase1())


def _state_inputs(workdir: Path) -> list[str]:
    state = json.loads((workdir / "terraform.tfstate").read_text())
    return sorted(
        inst["attributes"]["input"]["value"]
        for res in state["resources"]
        for inst in res["instances"]
    )


def _to_ready(server, dep: str) -> None:  # type: ignore[no-untyped-def]
    wait_status(server.url, dep, {"phase1-watching"}, timeout=60)
    bearer = server.call(
        lambda: server.services.deployments.get(dep).bearer_token.get_secret_value()
    )
    put = httpx.put(
        f"{server.url}/api/v1/deployments/{dep}/kubeconfig",
        content=b"apiVersion: v1\nkind: Config\nclusters: []\n",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert put.status_code == 204, put.text
    wait_status(server.url, dep, {"ready"}, timeout=30)


def test_colliding_fqdns_get_their_own_workdirs_and_destroy_touches_only_its_own(
    tofu_settings: Settings, start_server, body: Body, data_root: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(tofu_settings, _overrides(tofu_settings))
    ids = {}
    for fqdn in ("coll.example.test", "coll-example.test"):
        created = httpx.post(f"{server.url}/api/v1/deployments", json=body(sovereignFQDN=fqdn))
        assert created.status_code == 201, created.text
        ids[fqdn] = created.json()["id"]
        _to_ready(server, ids[fqdn])

    workdirs = {}
    for fqdn, dep in ids.items():
        record = json.loads((data_root / "deployments" / f"{dep}.json").read_text())
        assert record["tofuWorkdir"] == f"{fqdn}.{dep}"
        workdirs[fqdn] = data_root / "tofu" / record["tofuWorkdir"]
        assert _state_inputs(workdirs[fqdn]) == [f"{fqdn}/0", f"{fqdn}/1"]
    assert not (data_root / "tofu" / "coll-example-test").exists()

    deleted = httpx.delete(f"{server.url}/api/v1/deployments/{ids['coll.example.test']}")
    assert deleted.status_code == 202
    wait_status(server.url, ids["coll.example.test"], {"destroyed"}, timeout=60)

    assert _state_inputs(workdirs["coll.example.test"]) == []
    assert _state_inputs(workdirs["coll-example.test"]) == [
        "coll-example.test/0",
        "coll-example.test/1",
    ]
    other = httpx.get(f"{server.url}/api/v1/deployments/{ids['coll-example.test']}").json()
    assert other["status"] == "ready"


def test_records_without_a_workdir_retry_and_destroy_in_the_legacy_workdir(
    tofu_settings: Settings, start_server, data_root: Path
) -> None:  # type: ignore[no-untyped-def]
    # The original's ready BYO record, as if its Phase 0 had failed (no result, no events).
    dep = "a07d55e2c19f3b60"
    record = json.loads((FIXTURES / f"{dep}.json").read_text())
    record.update(status="failed", error="tofu apply: exit status 1", events=None)
    record.pop("result")
    assert "tofuWorkdir" not in record
    store = data_root / "deployments"
    store.mkdir(mode=0o700)
    (store / f"{dep}.json").write_text(json.dumps(record))
    server = start_server(tofu_settings, _overrides(tofu_settings))

    retry = httpx.post(
        f"{server.url}/api/v1/deployments/{dep}/phases/tofu-apply/retry",
        json={"hetznerToken": "r" * 64},
    )
    assert retry.status_code == 200, retry.text
    _to_ready(server, dep)

    legacy = data_root / "tofu" / "k8s-acme-example"
    assert _state_inputs(legacy) == ["k8s.acme.example/0", "k8s.acme.example/1"]
    assert [p.name for p in (data_root / "tofu").iterdir()] == ["k8s-acme-example"]

    deleted = httpx.delete(f"{server.url}/api/v1/deployments/{dep}")
    assert deleted.status_code == 202, deleted.text
    wait_status(server.url, dep, {"destroyed"}, timeout=60)

    assert _state_inputs(legacy) == []
    assert "tofuWorkdir" not in json.loads((store / f"{dep}.json").read_text())
