"""The PDM pool backend: reserve error mapping, commit/release steps and their events."""

from __future__ import annotations

import httpx
import pytest

from catalyst_api.deployments import DnsError, Reservation
from catalyst_api.dns import Backoff, PdmClient, PdmPoolDomains
from catalyst_api.errors import Conflict, ServiceUnavailable
from catalyst_api.events import Event
from catalyst_sandbox.fake_pdm import FakePdm

FAST = Backoff(attempts=3, base=0.001, cap=0.01)


def backend(http: httpx.AsyncClient, pdm: FakePdm) -> PdmPoolDomains:
    return PdmPoolDomains(PdmClient(http, pdm.url), backoff=FAST)


async def test_reserve_returns_pdms_token_and_names_the_deployment(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    held = await backend(http, pdm_here).reserve(
        deployment_id="0123456789abcdef", pool_domain="omani.works", subdomain="acme"
    )
    alloc = pdm_here.allocation("omani.works", "acme")
    assert alloc is not None
    assert held == Reservation("omani.works", "acme", alloc.reservation_token)
    assert alloc.created_by == "catalyst-api/deployment-0123456789abcdef"


async def test_reserve_conflict_is_409_subdomain_conflict(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pool = backend(http, pdm_here)
    await pool.reserve(deployment_id="a", pool_domain="omani.works", subdomain="acme")
    with pytest.raises(Conflict) as caught:
        await pool.reserve(deployment_id="b", pool_domain="omani.works", subdomain="acme")
    assert caught.value.status == 409
    assert caught.value.body() == {
        "error": "subdomain-conflict",
        "detail": "this subdomain has been reserved or activated for the chosen pool — pick a "
        "different name",
    }


async def test_reserve_failure_is_503_pdm_unavailable(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm_here.fail_next("reserve", status=500, body=b"db down")
    with pytest.raises(ServiceUnavailable) as caught:
        await backend(http, pdm_here).reserve(
            deployment_id="a", pool_domain="omani.works", subdomain="acme"
        )
    assert caught.value.body() == {
        "error": "pdm-unavailable",
        "detail": "pool-domain-manager is temporarily unreachable: pdm reserve status 500: db down",
    }


async def test_commit_activates_with_the_lb_ip_and_emits_dns_events(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pool = backend(http, pdm_here)
    held = await pool.reserve(deployment_id="a", pool_domain="omani.works", subdomain="acme")
    events: list[Event] = []
    await pool.commit(
        held, sovereign_fqdn="acme.omani.works", load_balancer_ip="203.0.113.20", emit=events.append
    )
    alloc = pdm_here.allocation("omani.works", "acme")
    assert alloc is not None and alloc.state == "active"
    assert alloc.load_balancer_ip == "203.0.113.20"
    assert [e.phase for e in events] == ["dns", "dns"]
    assert events[-1].level == "info" and "activated acme.omani.works" in events[-1].message


async def test_commit_202_is_success_with_a_warning(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm_here.commit_status = 202
    pool = backend(http, pdm_here)
    held = await pool.reserve(deployment_id="a", pool_domain="omani.works", subdomain="acme")
    events: list[Event] = []
    await pool.commit(
        held, sovereign_fqdn="acme.omani.works", load_balancer_ip="203.0.113.20", emit=events.append
    )
    assert events[-1].level == "warn" and "pending" in events[-1].message


async def test_commit_transient_failure_is_retried(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pool = backend(http, pdm_here)
    held = await pool.reserve(deployment_id="a", pool_domain="omani.works", subdomain="acme")
    pdm_here.fail_next("commit", status=502, times=2)
    events: list[Event] = []
    await pool.commit(
        held, sovereign_fqdn="acme.omani.works", load_balancer_ip="203.0.113.20", emit=events.append
    )
    assert len(pdm_here.calls("commit")) == 3
    assert [e.level for e in events].count("warn") == 2


@pytest.mark.parametrize(
    ("token", "expired", "status"),
    [("wrong", False, "403"), (None, True, "410")],
    ids=["token-mismatch", "reservation-expired"],
)
async def test_commit_refused_by_pdm_fails_the_step(
    http: httpx.AsyncClient, pdm_here: FakePdm, token: str | None, expired: bool, status: str
) -> None:
    pool = backend(http, pdm_here)
    if expired:
        pdm_here.reservation_ttl = 0.0
    held = await pool.reserve(deployment_id="a", pool_domain="omani.works", subdomain="acme")
    if token is not None:
        held = Reservation(held.pool_domain, held.subdomain, token)
    with pytest.raises(
        DnsError, match=f"commit of acme.omani.works failed: pdm commit status {status}"
    ):
        await pool.commit(
            held,
            sovereign_fqdn="acme.omani.works",
            load_balancer_ip="1.1.1.1",
            emit=lambda _e: None,
        )


async def test_commit_without_lb_ip_is_refused_before_calling_pdm(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    with pytest.raises(DnsError, match="no load balancer IP"):
        await backend(http, pdm_here).commit(
            Reservation("omani.works", "acme", "t"),
            sovereign_fqdn="acme.omani.works",
            load_balancer_ip="",
            emit=lambda _e: None,
        )
    assert pdm_here.calls() == []


async def test_release_frees_the_name_and_ignores_not_found(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pool = backend(http, pdm_here)
    held = await pool.reserve(deployment_id="a", pool_domain="omani.works", subdomain="acme")
    events: list[Event] = []
    await pool.release(held, committed=False, emit=events.append)
    assert pdm_here.allocation("omani.works", "acme") is None
    await pool.release(held, committed=False, emit=events.append)  # 404: fine
    assert [e.phase for e in events] == ["dns", "dns"]
    assert "nothing to release" in events[-1].message


async def test_release_failure_is_a_dns_error(http: httpx.AsyncClient, pdm_here: FakePdm) -> None:
    pdm_here.fail_next("release", status=500, times=3)
    with pytest.raises(DnsError, match=r"release of acme\.omani\.works failed"):
        await backend(http, pdm_here).release(
            Reservation("omani.works", "acme", "t"), committed=True, emit=lambda _e: None
        )
    assert len(pdm_here.calls("release")) == 3
