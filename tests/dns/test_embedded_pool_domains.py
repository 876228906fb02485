"""The embedded pool backend: Sovereign A records through Dynadot, guarded removal."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from catalyst_api.deployments import DnsError, Reservation
from catalyst_api.dns import Backoff, DynadotClient, EmbeddedPoolDomains, ManagedDomains
from catalyst_api.events import Event
from catalyst_sandbox.fake_dynadot import FakeDynadot, FakeRecord

KEY = "canary-dynadot-key-4f1e9a"
SECRET = "canary-dynadot-secret-7c2d55"
LB = "203.0.113.20"
HOSTS = ["*", "console", "gitea", "harbor", "admin", "api"]
UNRELATED = FakeRecord("www", "cname", "omani.works")


def backend(http: httpx.AsyncClient, fake: FakeDynadot, *, key: str = KEY) -> EmbeddedPoolDomains:
    client = DynadotClient(
        http,
        api_url=fake.api_url,
        key=SecretStr(key),
        secret=SecretStr(SECRET if key else ""),
        backoff=Backoff(attempts=5, base=0.001, cap=0.01),
    )
    return EmbeddedPoolDomains(client, managed=ManagedDomains.from_settings_values("", ""))


def ours(sub: str = "acme", ip: str = LB) -> list[FakeRecord]:
    return [FakeRecord(f"{h}.{sub}", "a", ip, "300") for h in HOSTS]


async def test_reserve_mints_a_token_and_calls_nothing(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    pool = backend(http, dynadot_here)
    first = await pool.reserve(deployment_id="d1", pool_domain="Omani.Works", subdomain="Acme")
    second = await pool.reserve(deployment_id="d2", pool_domain="omani.works", subdomain="other")
    assert (first.pool_domain, first.subdomain) == ("omani.works", "acme")
    assert len(first.token) == 36 and first.token != second.token
    assert dynadot_here.calls() == []


async def test_commit_writes_six_records_one_event_each_and_keeps_the_zone(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.seed("omani.works", UNRELATED)
    events: list[Event] = []
    await backend(http, dynadot_here).commit(
        Reservation("omani.works", "acme", "t"),
        sovereign_fqdn="acme.omani.works",
        load_balancer_ip=LB,
        emit=events.append,
    )
    assert dynadot_here.zone("omani.works") == [UNRELATED, *ours()]
    calls = dynadot_here.calls("set_dns2")
    assert [c["subdomain0"] for c in calls] == [f"{h}.acme" for h in HOSTS]
    assert all(c["add_dns_to_current_setting"] == "yes" for c in calls)
    assert all(c["sub_recordx0"] == "300" and c["sub_record0"] == LB for c in calls)
    assert all(e.phase == "dns" and e.level == "info" for e in events)
    written = [e.message for e in events if e.message.endswith("written")]
    assert written == [f"A {h}.acme.omani.works → {LB} (TTL 300) written" for h in HOSTS]
    assert events[-1].message == f"✓ Wrote 6 A records for *.acme.omani.works → {LB} via Dynadot"


async def test_two_domains_get_twelve_records_routed_by_domain(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    pool = backend(http, dynadot_here)
    for domain, ip in (("omani.works", "198.51.100.1"), ("openova.io", "198.51.100.2")):
        await pool.commit(
            Reservation(domain, "acme", "t"),
            sovereign_fqdn=f"acme.{domain}",
            load_balancer_ip=ip,
            emit=lambda _e: None,
        )
    assert len(dynadot_here.calls("set_dns2")) == 12
    assert dynadot_here.zone("omani.works") == ours(ip="198.51.100.1")
    assert dynadot_here.zone("openova.io") == ours(ip="198.51.100.2")


async def test_commit_fails_fast_on_the_first_registrar_error(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    pool = backend(http, dynadot_here)
    await pool.commit(  # warm-up so the fault below hits the third record of the next commit
        Reservation("openova.io", "warm", "t"),
        sovereign_fqdn="warm.openova.io",
        load_balancer_ip=LB,
        emit=lambda _e: None,
    )
    before = len(dynadot_here.calls())
    events: list[Event] = []
    dynadot_here.fail_next("envelope", command="set_dns2", message="zone is locked")
    with pytest.raises(DnsError) as caught:
        await pool.commit(
            Reservation("omani.works", "acme", "t"),
            sovereign_fqdn="acme.omani.works",
            load_balancer_ip=LB,
            emit=events.append,
        )
    assert "zone is locked" in str(caught.value)
    assert "*.acme.omani.works" in str(caught.value)
    assert len(dynadot_here.calls()) == before + 1
    assert dynadot_here.zone("omani.works") == []


@pytest.mark.parametrize(
    ("reservation", "lb", "message"),
    [
        (Reservation("evil.example", "acme", "t"), LB, "not in the managed-domain allowlist"),
        (Reservation("omani.works", "a.b", "t"), LB, "not a valid DNS label"),
        (Reservation("omani.works", "acme", "t"), "", "no usable load balancer IPv4"),
        (Reservation("omani.works", "acme", "t"), "not-an-ip", "no usable load balancer IPv4"),
    ],
    ids=["unmanaged-domain", "bad-label", "no-lb-ip", "garbage-lb-ip"],
)
async def test_unsafe_writes_are_refused_before_any_http_call(
    http: httpx.AsyncClient,
    dynadot_here: FakeDynadot,
    reservation: Reservation,
    lb: str,
    message: str,
) -> None:
    with pytest.raises(DnsError, match=message):
        await backend(http, dynadot_here).commit(
            reservation, sovereign_fqdn="x", load_balancer_ip=lb, emit=lambda _e: None
        )
    assert dynadot_here.calls() == []


async def test_missing_credentials_are_refused_before_any_http_call(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    with pytest.raises(DnsError, match="DYNADOT_API_KEY and DYNADOT_API_SECRET must be set"):
        await backend(http, dynadot_here, key="").commit(
            Reservation("omani.works", "acme", "t"),
            sovereign_fqdn="acme.omani.works",
            load_balancer_ip=LB,
            emit=lambda _e: None,
        )
    assert dynadot_here.calls() == []


async def test_release_of_committed_records_removes_only_ours(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    neighbour = ours("acme2", "198.51.100.9")
    apex = FakeRecord("", "a", "192.0.2.1")
    mx = FakeRecord("", "mx", "mx.omani.works", "10")
    dynadot_here.seed("omani.works", apex, mx, UNRELATED, *ours(), *neighbour)
    events: list[Event] = []
    await backend(http, dynadot_here).release(
        Reservation("omani.works", "acme", "t"), committed=True, emit=events.append
    )
    assert dynadot_here.zone("omani.works") == [apex, mx, UNRELATED, *neighbour]
    removed = [e.message for e in events if e.message.endswith("removed")]
    assert removed == [f"A {h}.acme.omani.works → {LB} removed" for h in HOSTS]
    (rewrite,) = [
        c for c in dynadot_here.calls("set_dns2") if "add_dns_to_current_setting" not in c
    ]
    assert rewrite["ttl"] == "300"


async def test_release_without_commit_makes_no_remote_call(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.seed("omani.works", *ours())
    events: list[Event] = []
    await backend(http, dynadot_here).release(
        Reservation("omani.works", "acme", "t"), committed=False, emit=events.append
    )
    assert dynadot_here.calls() == []
    assert dynadot_here.zone("omani.works") == ours()
    assert [e.phase for e in events] == ["dns"]


async def test_release_with_nothing_in_the_zone_writes_nothing(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.seed("omani.works", UNRELATED)
    await backend(http, dynadot_here).release(
        Reservation("omani.works", "acme", "t"), committed=True, emit=lambda _e: None
    )
    assert dynadot_here.calls("set_dns2") == []
    assert dynadot_here.zone("omani.works") == [UNRELATED]


async def test_release_refuses_a_zone_it_cannot_rewrite_and_leaves_it_alone(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.seed("omani.works", *ours())  # only our records: a rewrite would empty the zone
    with pytest.raises(DnsError, match="left in place"):
        await backend(http, dynadot_here).release(
            Reservation("omani.works", "acme", "t"), committed=True, emit=lambda _e: None
        )
    assert dynadot_here.calls("set_dns2") == []
    assert dynadot_here.zone("omani.works") == ours()


async def test_release_restores_unrelated_records_if_the_rewrite_failed_midway(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    apex = FakeRecord("", "a", "192.0.2.1")
    dynadot_here.seed("omani.works", apex, UNRELATED, *ours())
    # Dynadot takes the rewrite with none of its records, then answers HTTP 400: zone wiped.
    dynadot_here.fail_next("http", command="set_dns2", status=400, message="bad request", apply=0)
    events: list[Event] = []
    with pytest.raises(DnsError, match="HTTP 400"):
        await backend(http, dynadot_here).release(
            Reservation("omani.works", "acme", "t"), committed=True, emit=events.append
        )
    assert sorted(dynadot_here.zone("omani.works"), key=str) == sorted([apex, UNRELATED], key=str)
    assert any(e.level == "warn" and "Re-added 2 unrelated record(s)" in e.message for e in events)


async def test_release_rewrite_that_drops_a_record_is_repaired(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    apex = FakeRecord("", "a", "192.0.2.1")
    dynadot_here.seed("omani.works", apex, UNRELATED, *ours())
    # The rewrite keeps only its first record yet reports success.
    dynadot_here.fail_next("success", command="set_dns2", apply=1)
    events: list[Event] = []
    await backend(http, dynadot_here).release(
        Reservation("omani.works", "acme", "t"), committed=True, emit=events.append
    )
    assert sorted(dynadot_here.zone("omani.works"), key=str) == sorted([apex, UNRELATED], key=str)
    assert any(e.level == "warn" and "Re-added 1 unrelated record(s)" in e.message for e in events)
