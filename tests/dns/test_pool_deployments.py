"""Pool deployments over both DNS backends, against fakes over HTTP: embedded mode (no PDM:
catalyst-api writes the Sovereign's A records through the fake Dynadot and removes them on
destroy) and PDM mode (`POOL_DOMAIN_MANAGER_URL` set: reserve at create, commit after Phase 0,
release on destroy or failure). The lifecycle every backend must give is one test parametrized
over `backend`; what only one backend does follows in its own section."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_sandbox.fake_dynadot import FakeDynadot, FakeRecord
from catalyst_sandbox.fake_pdm import FakePdm
from support.fakes import ScriptedProvisioner
from support.server import LiveServer
from support.waiting import wait_for, wait_status

pytestmark = pytest.mark.timeout(60)  # full pool runs and destroys per test; the default is 15 s

Body = Callable[..., dict[str, Any]]
HOSTS = ["*", "console", "gitea", "harbor", "admin", "api"]
LB = "203.0.113.20"
UNRELATED = FakeRecord("www", "cname", "omani.works")


def ours(sub: str = "acme") -> list[FakeRecord]:
    return [FakeRecord(f"{h}.{sub}", "a", LB, "300") for h in HOSTS]


def create(server: LiveServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/deployments", json=body, timeout=20)


def events_of(server: LiveServer, dep_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = httpx.get(
        f"{server.url}/api/v1/deployments/{dep_id}/events"
    ).json()["events"]
    return events


def destroy(server: LiveServer, dep_id: str) -> None:
    resp = httpx.request(
        "DELETE", f"{server.url}/api/v1/deployments/{dep_id}", json={"hetznerToken": "t" * 64}
    )
    assert resp.status_code == 202, resp.text
    wait_status(server.url, dep_id, {"destroyed"})


# --- one lifecycle, both backends ------------------------------------------------------------


@dataclass
class Backend:
    """One DNS backend behind its fake: the settings that select it and what it holds."""

    name: str
    fake: FakeDynadot | FakePdm
    env: dict[str, str]

    def holds(self, sub: str) -> bool:
        """The backend has `<sub>.omani.works` active, pointing at the load balancer."""
        if isinstance(self.fake, FakePdm):
            alloc = self.fake.allocation("omani.works", sub)
            return (
                alloc is not None
                and alloc.state == "active"
                and alloc.load_balancer_ip == LB
                and alloc.sovereign_fqdn == f"{sub}.omani.works"
            )
        zone = self.fake.zone("omani.works")
        return all(record in zone for record in ours(sub))

    def released(self, sub: str) -> bool:
        """Nothing of `<sub>` is left (and nothing else was touched)."""
        if isinstance(self.fake, FakePdm):
            return self.fake.allocation("omani.works", sub) is None
        return self.fake.zone("omani.works") == [UNRELATED]

    def requests(self) -> list[Any]:
        return list(self.fake.requests)

    def slow_down_reservations(self) -> None:
        """Make two creates of one name overlap at the backend where it decides."""
        if isinstance(self.fake, FakePdm):
            self.fake.fail_next("reserve", status=0, delay=0.3, times=2)

    def refuse_activation(self) -> str:
        """The next write that activates a name is refused; returns the error's prefix."""
        if isinstance(self.fake, FakePdm):
            self.fake.fail_next("commit", status=403, body=b'{"error":"token-mismatch"}')
            return "dns: pool-domain-manager commit of acme.omani.works failed"
        self.fake.fail_next("envelope", command="set_dns2", message="this domain is locked")
        return "dns: writing A *.acme.omani.works"


@pytest.fixture(params=["embedded", "pdm"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "pdm":
        pdm: FakePdm = request.getfixturevalue("fake_pdm")
        yield Backend("pdm", pdm, {"POOL_DOMAIN_MANAGER_URL": pdm.url})
    else:
        dynadot: FakeDynadot = request.getfixturevalue("fake_dynadot")
        dynadot.seed("omani.works", UNRELATED)
        yield Backend("embedded", dynadot, {"DYNADOT_API_URL": dynadot.api_url})


@pytest.fixture
def start_pool_server(
    backend: Backend,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    fast_dns: Any,
) -> Callable[..., LiveServer]:
    """`start_pool_server(provisioner=None)`: a server wired to `backend` (fast DNS back-off)."""

    def start(provisioner: ScriptedProvisioner | None = None) -> LiveServer:
        overrides = scripted_overrides(provisioner=provisioner, extra_setup=[fast_dns])
        return start_server(pool_settings(**backend.env), overrides)

    return start


@pytest.mark.both_backends
def test_a_pool_name_is_activated_after_phase0_and_released_by_destroy(
    backend: Backend, start_pool_server: Callable[..., LiveServer], pool_body: Body
) -> None:
    server = start_pool_server()
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 201
    dep_id = resp.json()["id"]
    wait_status(server.url, dep_id, {"ready"})
    assert backend.holds("acme")
    assert [e for e in events_of(server, dep_id) if e["phase"] == "dns"]

    destroy(server, dep_id)
    assert backend.released("acme")
    assert create(server, pool_body("acme")).status_code == 201  # the name is free again


@pytest.mark.both_backends
def test_two_concurrent_creates_for_one_subdomain_one_wins(
    backend: Backend, start_pool_server: Callable[..., LiveServer], pool_body: Body
) -> None:
    server = start_pool_server(ScriptedProvisioner(delay=0.05))
    backend.slow_down_reservations()
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: create(server, pool_body("acme")), range(2)))
    assert sorted(r.status_code for r in responses) == [201, 409]
    (loser,) = [r for r in responses if r.status_code == 409]
    assert loser.json()["error"] == "subdomain-conflict"


def test_a_refused_dns_activation_fails_the_deployment(
    backend: Backend, start_pool_server: Callable[..., LiveServer], pool_body: Body
) -> None:
    # No kubeconfig postback: a late PUT would start Phase 1 on the failed deployment.
    server = start_pool_server(ScriptedProvisioner())
    prefix = backend.refuse_activation()
    dep_id = create(server, pool_body("acme")).json()["id"]
    state = wait_status(server.url, dep_id, {"failed"})
    assert state["error"].startswith(prefix), state["error"]
    assert not backend.holds("acme")


def test_byo_create_never_calls_the_backend(
    backend: Backend, start_pool_server: Callable[..., LiveServer], body: Body
) -> None:
    server = start_pool_server()
    resp = create(server, body())
    assert resp.status_code == 201
    wait_status(server.url, resp.json()["id"], {"ready"})
    assert backend.requests() == []


def test_pool_domain_outside_the_allowlist_is_refused_without_the_backend(
    backend: Backend, start_pool_server: Callable[..., LiveServer], pool_body: Body
) -> None:
    server = start_pool_server()
    resp = create(server, pool_body("acme", pool="evil.example"))
    assert resp.status_code == 400
    assert resp.json()["error"] == "unmanaged-pool-domain"
    assert backend.requests() == []


# --- embedded mode only ----------------------------------------------------------------------


@pytest.fixture
def embedded_server(
    fake_dynadot: FakeDynadot,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
) -> LiveServer:
    """The default wiring: embedded backend built from settings, pointed at the fake."""
    fake_dynadot.seed("omani.works", UNRELATED)
    return start_server(pool_settings(DYNADOT_API_URL=fake_dynadot.api_url), scripted_overrides())


def test_create_writes_six_a_records_beside_existing_ones_and_destroy_removes_them(
    embedded_server: LiveServer, fake_dynadot: FakeDynadot, pool_body: Body
) -> None:
    server = embedded_server
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


@pytest.mark.both_backends
def test_destroyed_name_is_available_again(embedded_server: LiveServer, pool_body: Body) -> None:
    server = embedded_server
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


# --- PDM mode only -----------------------------------------------------------------------------


@pytest.fixture
def pdm_server(
    fake_pdm: FakePdm,
    pool_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Any],
    fast_dns: Any,
) -> LiveServer:
    settings = pool_settings(POOL_DOMAIN_MANAGER_URL=fake_pdm.url)
    return start_server(settings, scripted_overrides(extra_setup=[fast_dns]))


def test_managed_pool_create_reserves_exactly_once_with_pool_and_subdomain(
    pdm_server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    server = pdm_server
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 201
    dep_id = resp.json()["id"]
    (call,) = fake_pdm.calls("reserve")
    assert call.path == "/api/v1/pool/omani.works/reserve"
    assert call.json() == {"subdomain": "acme", "createdBy": f"catalyst-api/deployment-{dep_id}"}


def test_pdm_conflict_answers_409_and_stores_nothing(
    pdm_server: LiveServer, fake_pdm: FakePdm, pool_body: Body, data_root: Path
) -> None:
    server = pdm_server
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
    pdm_server: LiveServer, fake_pdm: FakePdm, pool_body: Body, data_root: Path
) -> None:
    server = pdm_server
    fake_pdm.fail_next("reserve", status=500, body=b"database is down")
    resp = create(server, pool_body("acme"))
    assert resp.status_code == 503
    assert resp.json()["error"] == "pdm-unavailable"
    assert resp.json()["detail"].startswith("pool-domain-manager is temporarily unreachable: ")
    assert list((data_root / "deployments").glob("*.json")) == []


def test_ten_concurrent_pool_creates_get_ten_reservations(
    pdm_server: LiveServer, fake_pdm: FakePdm, pool_body: Body
) -> None:
    server = pdm_server
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
    # The release follows the `failed` record (a slow PDM must not delay the failure report).
    wait_for(lambda: len(fake_pdm.calls("release")) == 1)
    (release,) = fake_pdm.calls("release")
    assert release.json() == {"subdomain": "acme"}
    assert fake_pdm.allocation("omani.works", "acme") is None
    assert fake_pdm.calls("commit") == []
