"""Pool deployments with `POOL_DOMAIN_MANAGER_URL` set: catalyst-api + fake PDM over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.sandbox.fake_pdm import FakePdm
from support.fakes import ScriptedProvisioner
from support.server import LiveServer
from support.waiting import wait_status

Body = Callable[..., dict[str, Any]]


@pytest.fixture
def server(
    fake_pdm: FakePdm,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    fast_dns: Any,
) -> LiveServer:
    settings = pool_settings(POOL_DOMAIN_MANAGER_URL=fake_pdm.url)
    return start_server(settings, scripted_overrides(extra_setup=[fast_dns]))


def create(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/deployments", json=body, timeout=20)


def test_managed_pool_create_reserves_exactly_once_with_pool_and_subdomain(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 201
    dep_id = resp.json()["id"]
    (call,) = fake_pdm.calls("reserve")
    assert call.path == "/api/v1/pool/omani.works/reserve"
    assert call.json() == {"subdomain": "acme", "createdBy": f"catalyst-api/deployment-{dep_id}"}


def test_pdm_conflict_answers_409_and_stores_nothing(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body, data_root: Path
) -> None:
    httpx.post(f"{fake_pdm.url}/api/v1/pool/omani.works/reserve", json={"subdomain": "acme"})
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 409
    assert resp.json() == {
        "error": "subdomain-conflict",
        "detail": "this subdomain has been reserved or activated for the chosen pool — pick a "
        "different name",
    }
    assert list((data_root / "deployments").glob("*.json")) == []
    assert httpx.get(f"{server.url}/api/v1/deployments").json()["deployments"] == []


def test_pdm_failure_answers_503_pdm_unavailable_and_stores_nothing(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body, data_root: Path
) -> None:
    fake_pdm.fail_next("reserve", status=500, body=b"database is down")
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 503
    assert resp.json()["error"] == "pdm-unavailable"
    assert resp.json()["detail"].startswith("pool-domain-manager is temporarily unreachable: ")
    assert list((data_root / "deployments").glob("*.json")) == []


def test_byo_create_never_calls_pdm(server: LiveServer, fake_pdm: FakePdm, body: Body) -> None:
    resp = create(server, body())
    assert resp.status_code == 201
    wait_status(server.url, resp.json()["id"], {"ready"})
    assert fake_pdm.requests == []


def test_pool_domain_outside_the_allowlist_is_refused_without_pdm(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    resp = create(server, pool_body("acme", pool="evil.example"))
    assert resp.status_code == 400
    assert resp.json()["error"] == "unmanaged-pool-domain"
    assert fake_pdm.requests == []


def test_ten_concurrent_pool_creates_get_ten_reservations(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    subs = [f"tenant{i}" for i in range(10)]
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda s: create(server, pool_body(s)), subs))
    assert [r.status_code for r in responses] == [201] * 10
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 10
    reserved = sorted(c.json()["subdomain"] for c in fake_pdm.calls("reserve"))
    assert reserved == sorted(subs)
    for sub, dep_id in zip(subs, ids, strict=True):
        state = httpx.get(f"{server.url}/api/v1/deployments/{dep_id}").json()
        assert (state["id"], state["sovereignFQDN"]) == (dep_id, f"{sub}.omani.works")
    assert httpx.get(f"{server.url}/api/v1/deployments/ffffffffffffffff").status_code == 404


def test_two_concurrent_creates_for_one_subdomain_one_wins(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    fake_pdm.fail_next("reserve", status=0, delay=0.3, times=2)  # both reserves overlap
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: create(server, pool_body("acme")), range(2)))
    assert sorted(r.status_code for r in responses) == [201, 409]
    (loser,) = [r for r in responses if r.status_code == 409]
    assert loser.json()["error"] == "subdomain-conflict"


def test_phase0_success_commits_the_lb_ip_in_pdm(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    dep_id = create(server, pool_body("acme")).json()["id"]
    wait_status(server.url, dep_id, {"ready"})
    alloc = fake_pdm.allocation("omani.works", "acme")
    assert alloc is not None and alloc.state == "active"
    assert alloc.load_balancer_ip == "203.0.113.20"
    assert alloc.sovereign_fqdn == "acme.omani.works"
    events = httpx.get(f"{server.url}/api/v1/deployments/{dep_id}/events").json()["events"]
    dns = [e for e in events if e["phase"] == "dns"]
    assert dns and "activated acme.omani.works" in dns[-1]["message"]


def test_phase0_failure_releases_the_reservation(
    fake_pdm: FakePdm,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    pool_body: Body,
) -> None:
    server = start_server(
        pool_settings(POOL_DOMAIN_MANAGER_URL=fake_pdm.url),
        scripted_overrides(provisioner=ScriptedProvisioner(fail_with="tofu apply: exit status 1")),
    )
    dep_id = create(server, pool_body("acme")).json()["id"]
    wait_status(server.url, dep_id, {"failed"})
    (release,) = fake_pdm.calls("release")
    assert release.json() == {"subdomain": "acme"}
    assert fake_pdm.allocation("omani.works", "acme") is None
    assert fake_pdm.calls("commit") == []


def test_commit_refused_by_pdm_fails_the_deployment(
    fake_pdm: FakePdm,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    pool_body: Body,
) -> None:
    # No kubeconfig postback: a late PUT would start Phase 1 on the failed deployment.
    server = start_server(
        pool_settings(POOL_DOMAIN_MANAGER_URL=fake_pdm.url),
        scripted_overrides(provisioner=ScriptedProvisioner()),
    )
    fake_pdm.fail_next("commit", status=403, body=b'{"error":"token-mismatch"}')
    dep_id = create(server, pool_body("acme")).json()["id"]
    state = wait_status(server.url, dep_id, {"failed"})
    assert state["error"].startswith("dns: pool-domain-manager commit of acme.omani.works failed")


def test_destroy_releases_the_name_in_pdm(
    server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    dep_id = create(server, pool_body("acme")).json()["id"]
    wait_status(server.url, dep_id, {"ready"})
    resp = httpx.request(
        "DELETE", f"{server.url}/api/v1/deployments/{dep_id}", json={"hetznerToken": "t" * 64}
    )
    assert resp.status_code == 202
    wait_status(server.url, dep_id, {"destroyed"})
    assert fake_pdm.allocation("omani.works", "acme") is None
    assert len(fake_pdm.calls("release")) == 1
