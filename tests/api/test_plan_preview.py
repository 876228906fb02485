"""`POST /api/v1/deployments/plan` (issue 18): the create's validation, a real OpenTofu plan of
the sandbox module (the venv's terraform shim) in a throwaway workdir, an estimate priced by a
table the test writes, nothing created; 429 past the concurrency limit, 504 past the timeout,
422 when OpenTofu refuses the plan."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from catalyst_api.config import Settings
from support.fakes import GatedPlanner, ScriptedProvisioner
from support.plans import plan_overrides, plan_settings
from support.server import LiveServer
from support.waiting import wait_for

Body = Callable[..., dict[str, Any]]

PLAN = "/api/v1/deployments/plan"
CREATE = "/api/v1/deployments"
POOL_ENV = {
    "CATALYST_GHCR_PULL_TOKEN": "ghcr-token-for-plan-tests",
    "DYNADOT_API_KEY": "dynadot-key-for-plan-tests",
    "DYNADOT_API_SECRET": "dynadot-secret-for-plan-tests",
    "DYNADOT_MANAGED_DOMAINS": "omani.works",
}


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    """Where the planner's throwaway workdirs go (empty whenever no plan runs)."""
    root = tmp_path / "plans"
    root.mkdir()
    return root


@pytest.fixture
def plan_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., LiveServer],
    tmp_path: Path,
    plans: Path,
) -> Callable[..., LiveServer]:
    """`plan_server(provisioner=None, **env)`: a live server planning the sandbox module."""

    def start(provisioner: ScriptedProvisioner | None = None, **env: str) -> LiveServer:
        settings = plan_settings(make_settings, tmp_path, **env)
        prov = provisioner or ScriptedProvisioner()
        return start_server(settings, plan_overrides(settings, plans, prov))

    return start


def _plan(url: str, body: dict[str, Any] | bytes) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.post(f"{url}{PLAN}", content=body, timeout=60)
    return httpx.post(f"{url}{PLAN}", json=body, timeout=60)


def _files(directory: Path) -> list[Path]:
    """Everything under `directory` (none when it does not exist)."""
    return sorted(directory.rglob("*")) if directory.exists() else []


def _tofu_schemas(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'tofu_%'"
        ).fetchall()
    return [str(r[0]) for r in rows]


@pytest.mark.both_backends
@pytest.mark.timeout(60)
def test_plan_lists_the_sandbox_resources_prices_them_and_creates_nothing(
    plan_server, body: Body, data_root: Path, plans: Path, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    server = plan_server()
    request = body(
        sovereignFQDN="plan.acme.example",
        controlPlaneSize="cx33",
        workerSize="cax21",
        workerCount=2,
    )
    resp = _plan(server.url, request)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert set(answer) == {"resources", "counts", "estimate", "warnings"}

    addresses = [r["address"] for r in answer["resources"]]
    for expected in (
        "terraform_data.control_plane[0]",
        "terraform_data.worker[0]",
        "terraform_data.worker[1]",
        "terraform_data.load_balancer",
        "terraform_data.network",
        'terraform_data.load_balancer_service["https"]',
    ):
        assert expected in addresses
    assert {(r["type"], r["action"]) for r in answer["resources"]} == {("terraform_data", "create")}
    assert answer["counts"] == {"add": len(addresses), "change": 0, "destroy": 0}

    estimate = answer["estimate"]
    assert estimate["currency"] == "EUR"
    assert sorted(
        (line["item"], line["sku"], line["count"], line["unitMonthly"])
        for line in estimate["lines"]
    ) == [
        ("load balancer", "lb11", 1, 5.39),
        ("network", "network", 1, 0.0),
        ("server", "cx33", 1, 6.49),
    ]
    assert estimate["monthly"] == 11.88  # 6.49 + 5.39 + 0
    assert estimate["hourly"] == 0.019  # 0.0104 + 0.0086
    warnings = answer["warnings"]
    assert len(warnings) == 2
    assert any("'cax21'" in w and "2 left out" in w for w in warnings)  # both workers
    assert any("'primary-ipv4'" in w and "3 left out" in w for w in warnings)

    # Nothing was created: no record, no event log, no workdir or state, no kubeconfig, no
    # reservation, no state schema, and the throwaway workdir is gone.
    assert httpx.get(f"{server.url}{CREATE}").json() == {"deployments": []}
    assert len(server.services.deployments.registry) == 0
    for sub in ("deployments", "tofu", "kubeconfigs"):
        assert _files(data_root / sub) == [], sub
    assert list(plans.iterdir()) == []
    assert "h" * 64 not in resp.text
    if database_url:
        assert _tofu_schemas(database_url) == []


@pytest.mark.timeout(60)
def test_a_pool_plan_reserves_nothing(plan_server, body: Body, plans: Path) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = plan_server(ScriptedProvisioner(gate=gate), **POOL_ENV)
    pool = body(
        sovereignFQDN="acme.omani.works",
        sovereignDomainMode="pool",
        sovereignPoolDomain="omani.works",
        sovereignSubdomain="acme",
    )
    resp = _plan(server.url, pool)
    assert resp.status_code == 200, resp.text
    assert not server.services.deployments.registry.pool_subdomain_held("omani.works", "acme")
    assert list(plans.iterdir()) == []
    assert "ghcr-token-for-plan-tests" not in resp.text
    # The subdomain is still free for a create.
    try:
        created = httpx.post(f"{server.url}{CREATE}", json=pool)
        assert created.status_code == 201, created.text
    finally:
        gate.set()


def _pool(body: Body, fqdn: str, domain: str = "omani.works", sub: str = "") -> dict[str, Any]:
    return body(
        sovereignFQDN=fqdn,
        sovereignDomainMode="pool",
        sovereignPoolDomain=domain,
        sovereignSubdomain=sub or fqdn.split(".")[0],
    )


@pytest.mark.timeout(60)
def test_plan_refuses_every_bad_body_exactly_as_create_does(
    plan_server, body: Body, plans: Path
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = plan_server(ScriptedProvisioner(gate=gate), **POOL_ENV)
    try:
        held = httpx.post(f"{server.url}{CREATE}", json=body(sovereignFQDN="held.acme.example"))
        assert held.status_code == 201, held.text
        taken = httpx.post(f"{server.url}{CREATE}", json=_pool(body, "taken.omani.works"))
        assert taken.status_code == 201, taken.text
        bad: list[tuple[str, dict[str, Any] | bytes]] = [
            ("not-json", b"{not json"),
            ("empty", b""),
            ("mistyped", json.dumps(body(workerCount="2")).encode()),
            ("no-token", body(hetznerToken="")),
            ("no-region", body(region="")),
            ("region-entry", body(regions=[{"provider": "hetzner", "cloudRegion": "fsn1"}])),
            ("fqdn", body(sovereignFQDN="../../tmp/x")),
            ("email", body(orgEmail="not-an-email")),
            ("ssh-key", body(sshPublicKey="ssh-rsa not-a-key")),
            ("unmanaged-pool", _pool(body, "acme.example.org", domain="example.org")),
            ("bad-subdomain", _pool(body, "x.acme.example", sub="no_underscores")),
            ("fqdn-in-use", body(sovereignFQDN="held.acme.example")),
            ("subdomain-conflict", _pool(body, "taken.omani.works")),
            ("too-large", json.dumps(body(orgName="x" * (1 << 20))).encode()),
        ]
        for name, request in bad:
            planned = _plan(server.url, request)
            if isinstance(request, bytes):
                created = httpx.post(f"{server.url}{CREATE}", content=request)
            else:
                created = httpx.post(f"{server.url}{CREATE}", json=request)
            assert 400 <= planned.status_code < 500, (name, planned.status_code, planned.text)
            assert (planned.status_code, planned.headers["content-type"], planned.content) == (
                created.status_code,
                created.headers["content-type"],
                created.content,
            ), name
        assert len(server.services.deployments.registry) == 2  # the two holders only
        assert list(plans.iterdir()) == []
    finally:
        gate.set()


def _metric(server: LiveServer, outcome: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(f'catalyst_plans_total{{outcome="{outcome}"}}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.timeout(60)
def test_past_the_concurrency_limit_a_plan_is_refused_at_once_with_retry_after(
    make_settings, start_server, scripted_overrides, tmp_path: Path, body: Body
) -> None:  # type: ignore[no-untyped-def]
    planner = GatedPlanner()
    settings = plan_settings(make_settings, tmp_path, CATALYST_PLAN_CONCURRENCY="2")
    server = start_server(settings, scripted_overrides(planner=planner))
    request = body(sovereignFQDN="busy.acme.example")
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(_plan, server.url, request) for _ in range(2)]
        try:
            wait_for(lambda: planner.started == 2)
            refused = _plan(server.url, request)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "5"
            assert refused.json()["error"] == "too-many-plans"
            assert planner.started == 2  # the refused plan never started
        finally:
            planner.gate.set()
        assert [f.result().status_code for f in held] == [200, 200]
    assert _plan(server.url, request).status_code == 200  # slots are given back
    assert _metric(server, "refused") == 1
    assert _metric(server, "ok") == 3


SLOW_TOFU = """#!/bin/sh
echo "$$ $(pwd) $(stat -c %a .)" >> {marker}
cp tofu.auto.tfvars.json {marker}.tfvars
[ -n "$TF_VAR_hcloud_token" ] && echo "token in the environment" > {marker}.env
exec sleep 60
"""


@pytest.mark.timeout(60)
def test_a_plan_past_the_timeout_is_504_and_leaves_no_process_nor_directory(
    plan_server, body: Body, tmp_path: Path, plans: Path
) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "tofu-ran"
    binary = tmp_path / "slow-tofu"
    binary.write_text(SLOW_TOFU.format(marker=marker))
    binary.chmod(0o755)
    server = plan_server(CATALYST_TOFU_BINARY=str(binary), CATALYST_PLAN_TIMEOUT="1s")
    resp = _plan(server.url, body(sovereignFQDN="slow.acme.example"))
    assert resp.status_code == 504, resp.text
    assert resp.json() == {"error": "plan-timeout", "detail": "tofu init: timed out after 1s"}
    pid, cwd, mode = marker.read_text().split()
    assert Path(cwd).parent == plans and mode == "700"
    # The inputs were staged as for Phase 0: the token only in OpenTofu's environment.
    staged = json.loads(Path(f"{marker}.tfvars").read_text())
    assert staged["sovereign_fqdn"] == "slow.acme.example" and "hcloud_token" not in staged
    assert Path(f"{marker}.env").read_text() == "token in the environment\n"
    assert not Path(cwd).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
    assert len(server.services.deployments.registry) == 0


@pytest.mark.timeout(60)
def test_a_plan_opentofu_refuses_is_422_with_its_diagnostics_and_no_secret(
    plan_server, body: Body, plans: Path
) -> None:  # type: ignore[no-untyped-def]
    server = plan_server()
    # Passes the create's validation (the singular fields carry no worker-size rule) but not
    # the module's precondition.
    resp = _plan(server.url, body(sovereignFQDN="bad.acme.example", workerSize="", workerCount=1))
    assert resp.status_code == 422, resp.text
    answer = resp.json()
    assert answer["error"] == "plan-failed"
    assert answer["detail"].startswith("tofu plan: terraform plan")
    assert any("worker_size must be set" in d for d in answer["diagnostics"])
    assert "h" * 64 not in resp.text
    assert list(plans.iterdir()) == []
