"""Pool deployments in embedded mode (no PDM): catalyst-api writes the Sovereign's A records
through the fake Dynadot over HTTP, and removes them on destroy."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.sandbox.fake_dynadot import FakeDynadot, FakeRecord
from support.fakes import ScriptedProvisioner
from support.server import LiveServer
from support.waiting import wait_status

Body = Callable[..., dict[str, Any]]
HOSTS = ["*", "console", "gitea", "harbor", "admin", "api"]
LB = "203.0.113.20"
UNRELATED = FakeRecord("www", "cname", "omani.works")


def ours(sub: str = "acme") -> list[FakeRecord]:
    return [FakeRecord(f"{h}.{sub}", "a", LB, "300") for h in HOSTS]


@pytest.fixture
def server(
    fake_dynadot: FakeDynadot,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
) -> LiveServer:
    """The default wiring: embedded backend built from settings, pointed at the fake."""
    fake_dynadot.seed("omani.works", UNRELATED)
    return start_server(pool_settings(DYNADOT_API_URL=fake_dynadot.api_url), scripted_overrides())


def create(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/deployments", json=body, timeout=20)


def events_of(server: LiveServer, dep_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = httpx.get(
        f"{server.url}/api/v1/deployments/{dep_id}/events"
    ).json()["events"]
    return events


def test_create_writes_six_a_records_beside_existing_ones_and_destroy_removes_them(
    server: LiveServer, fake_dynadot: FakeDynadot, pool_body: Body
) -> None:
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 201
    dep_id = resp.json()["id"]
    wait_status(server.url, dep_id, {"ready"})
    assert fake_dynadot.zone("omani.works") == [UNRELATED, *ours()]
    dns = [e for e in events_of(server, dep_id) if e["phase"] == "dns"]
    written = [e["message"] for e in dns if e["message"].endswith("written")]
    assert written == [f"A {h}.acme.omani.works → {LB} (TTL 300) written" for h in HOSTS]

    resp = httpx.request(
        "DELETE", f"{server.url}/api/v1/deployments/{dep_id}", json={"hetznerToken": "t" * 64}
    )
    assert resp.status_code == 202
    wait_status(server.url, dep_id, {"destroyed"})
    assert fake_dynadot.zone("omani.works") == [UNRELATED]
    removed = [e["message"] for e in events_of(server, dep_id) if e["message"].endswith("removed")]
    assert removed == [f"A {h}.acme.omani.works → {LB} removed" for h in HOSTS]
    assert all(
        c.get("add_dns_to_current_setting") == "yes"
        for c in fake_dynadot.calls("set_dns2")
        if c.get("sub_record_type0") == "a" and c.get("sub_record0") == LB
    )


def test_destroyed_name_is_available_again(server: LiveServer, pool_body: Body) -> None:
    check = {"subdomain": "acme", "poolDomain": "omani.works"}
    dep_id = create(server, pool_body("acme")).json()["id"]
    wait_status(server.url, dep_id, {"ready"})
    held = httpx.post(f"{server.url}/api/v1/subdomains/check", json=check).json()
    assert held["available"] is False and held["reason"] == "reserved"
    httpx.request(
        "DELETE", f"{server.url}/api/v1/deployments/{dep_id}", json={"hetznerToken": "t" * 64}
    )
    wait_status(server.url, dep_id, {"destroyed"})
    assert httpx.post(f"{server.url}/api/v1/subdomains/check", json=check).json() == {
        "available": True,
        "fqdn": "acme.omani.works",
    }
    assert create(server, pool_body("acme")).status_code == 201


def test_two_concurrent_creates_for_one_subdomain_one_wins(
    fake_dynadot: FakeDynadot,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    pool_body: Body,
) -> None:
    server = start_server(
        pool_settings(DYNADOT_API_URL=fake_dynadot.api_url),
        scripted_overrides(provisioner=ScriptedProvisioner(delay=0.05)),
    )
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: create(server, pool_body("acme")), range(2)))
    assert sorted(r.status_code for r in responses) == [201, 409]
    (loser,) = [r for r in responses if r.status_code == 409]
    assert loser.json()["error"] == "subdomain-conflict"


def test_registrar_error_envelope_fails_the_deployment_with_its_message(
    fake_dynadot: FakeDynadot,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    pool_body: Body,
) -> None:
    # No kubeconfig postback here: a late PUT would start Phase 1 on the failed deployment.
    server = start_server(
        pool_settings(DYNADOT_API_URL=fake_dynadot.api_url),
        scripted_overrides(provisioner=ScriptedProvisioner()),
    )
    fake_dynadot.seed("omani.works", UNRELATED)
    fake_dynadot.fail_next("envelope", command="set_dns2", message="this domain is locked")
    dep_id = create(server, pool_body("acme")).json()["id"]
    state = wait_status(server.url, dep_id, {"failed"})
    assert "dynadot api error: code=-1 status=error err=this domain is locked" in state["error"]
    assert state["error"].startswith("dns: writing A *.acme.omani.works")
    errors = [e for e in events_of(server, dep_id) if e["level"] == "error"]
    assert errors and errors[-1]["phase"] == "dns"
    assert fake_dynadot.zone("omani.works") == [UNRELATED]


def test_transient_5xx_is_retried_then_the_records_land(
    fake_dynadot: FakeDynadot,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    fast_dns: Any,
    pool_body: Body,
) -> None:
    server = start_server(
        pool_settings(DYNADOT_API_URL=fake_dynadot.api_url),
        scripted_overrides(extra_setup=[fast_dns]),
    )
    fake_dynadot.fail_next("http", command="set_dns2", status=503, times=2)
    dep_id = create(server, pool_body("acme")).json()["id"]
    wait_status(server.url, dep_id, {"ready"})
    assert fake_dynadot.zone("omani.works") == ours()
    warns = [e for e in events_of(server, dep_id) if e["phase"] == "dns" and e["level"] == "warn"]
    assert len(warns) == 2 and "HTTP 503" in warns[0]["message"]


def test_dynadot_credentials_never_reach_logs_events_or_files(
    fake_dynadot: FakeDynadot,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    pool_body: Body,
    canaries: list[str],
    data_root: Path,
    log_text: Callable[[], str],
) -> None:
    # With the postback: a late PUT never starts Phase 1 over the DNS failure below.
    server = start_server(
        pool_settings(DYNADOT_API_URL=fake_dynadot.api_url),
        scripted_overrides(provisioner=ScriptedProvisioner(postback_base="auto")),
    )
    fake_dynadot.seed("omani.works", UNRELATED)
    ok_id = create(server, pool_body("acme")).json()["id"]
    wait_status(server.url, ok_id, {"ready"})
    assert len(fake_dynadot.zone("omani.works")) == 7
    httpx.request(
        "DELETE", f"{server.url}/api/v1/deployments/{ok_id}", json={"hetznerToken": "t" * 64}
    )
    wait_status(server.url, ok_id, {"destroyed"})
    # An upstream that echoes the request URL (credentials in the query) into its error page.
    fake_dynadot.fail_next(
        "http",
        command="set_dns2",
        status=400,
        message=f"bad request: /api3.json?key={canaries[0]}&secret={canaries[1]}",
    )
    bad_id = create(server, pool_body("other")).json()["id"]
    failed = wait_status(server.url, bad_id, {"failed"})
    assert "HTTP 400" in failed["error"] and "<redacted>" in failed["error"]

    record = json.loads((data_root / "deployments" / f"{ok_id}.json").read_text())
    assert record["request"]["dynadotKey"] == "<redacted>"
    assert record["request"]["dynadotSecret"] == "<redacted>"
    assert record["request"]["hetznerToken"] == "<redacted>"

    seen = [log_text()]
    for dep_id in (ok_id, bad_id):
        seen.append(httpx.get(f"{server.url}/api/v1/deployments/{dep_id}/events").text)
        seen.append(httpx.get(f"{server.url}/api/v1/deployments/{dep_id}").text)
    seen.extend(p.read_text(errors="replace") for p in data_root.rglob("*") if p.is_file())
    for text in seen:
        for canary in canaries:
            assert canary not in text
