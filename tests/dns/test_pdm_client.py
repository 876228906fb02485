"""The PDM client against the fake pool-domain-manager over real HTTP (spec §7.2)."""

from __future__ import annotations

import httpx
import pytest

from catalyst_api.dns import CheckVerdict, PdmClient, PdmConflict, PdmError, PdmNotFound
from catalyst_sandbox.fake_pdm import FakePdm


def client(http: httpx.AsyncClient, pdm: FakePdm) -> PdmClient:
    return PdmClient(http, pdm.url + "/")


async def test_reserve_posts_subdomain_and_created_by_and_returns_the_reservation(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    held = await client(http, pdm_here).reserve("omani.works", "acme", "catalyst-api/deployment-1")
    (call,) = pdm_here.calls("reserve")
    assert (call.method, call.path) == ("POST", "/api/v1/pool/omani.works/reserve")
    assert call.json() == {"subdomain": "acme", "createdBy": "catalyst-api/deployment-1"}
    assert (held.pool_domain, held.subdomain, held.state) == ("omani.works", "acme", "reserved")
    assert held.reservation_token and held.expires_at.endswith("Z")
    assert held.created_by == "catalyst-api/deployment-1"


async def test_second_reserve_of_the_same_name_is_a_conflict(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm = client(http, pdm_here)
    await pdm.reserve("omani.works", "acme", "a")
    with pytest.raises(PdmConflict):
        await pdm.reserve("omani.works", "acme", "b")


async def test_reserve_error_status_carries_the_truncated_body(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm_here.fail_next("reserve", status=500, body=b"x" * 300)
    with pytest.raises(PdmError) as caught:
        await client(http, pdm_here).reserve("omani.works", "acme", "a")
    assert str(caught.value) == "pdm reserve status 500: " + "x" * 256 + "..."


async def test_check_passes_the_verdict_and_escapes_path_and_query(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm = client(http, pdm_here)
    await pdm.reserve("omani.works", "acme", "a")
    verdict = await pdm.check("omani.works", "acme")
    assert verdict == CheckVerdict(
        False, "reserved-state", "acme.omani.works is reserved", "acme.omani.works"
    )
    await pdm.check("we ird", "a&b=c#d")
    last = pdm_here.calls("check")[-1]
    assert last.path == "/api/v1/pool/we ird/check"
    assert last.query == {"sub": "a&b=c#d"}


async def test_check_4xx_body_is_still_a_verdict_but_5xx_is_an_error(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm = client(http, pdm_here)
    pdm_here.fail_next("check", status=404, body={"available": False, "reason": "nope"})
    assert await pdm.check("omani.works", "a") == CheckVerdict(False, "nope")
    pdm_here.fail_next("check", status=503, body=b"down")
    with pytest.raises(PdmError, match=r"pdm /check status 503: down"):
        await pdm.check("omani.works", "a")
    pdm_here.fail_next("check", status=200, body=b"not json")
    with pytest.raises(PdmError, match="not JSON"):
        await pdm.check("omani.works", "a")


async def test_commit_and_release_status_mapping(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm = client(http, pdm_here)
    held = await pdm.reserve("omani.works", "acme", "a")
    status = await pdm.commit(
        "omani.works",
        subdomain="acme",
        reservation_token=held.reservation_token,
        sovereign_fqdn="acme.omani.works",
        load_balancer_ip="203.0.113.20",
    )
    assert status == 200
    assert pdm_here.calls("commit")[0].json() == {
        "subdomain": "acme",
        "reservationToken": held.reservation_token,
        "sovereignFQDN": "acme.omani.works",
        "loadBalancerIP": "203.0.113.20",
    }
    assert await pdm.release("omani.works", "acme") == 200
    (release,) = pdm_here.calls("release")
    assert (release.method, release.json()) == ("DELETE", {"subdomain": "acme"})
    with pytest.raises(PdmNotFound):
        await pdm.release("omani.works", "acme")
    with pytest.raises(PdmNotFound):
        await pdm.commit(
            "omani.works",
            subdomain="acme",
            reservation_token="t",
            sovereign_fqdn="f",
            load_balancer_ip="1.1.1.1",
        )


async def test_commit_with_a_wrong_token_is_an_error(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    pdm = client(http, pdm_here)
    await pdm.reserve("omani.works", "acme", "a")
    with pytest.raises(PdmError) as caught:
        await pdm.commit(
            "omani.works",
            subdomain="acme",
            reservation_token="not-the-token",
            sovereign_fqdn="acme.omani.works",
            load_balancer_ip="1.1.1.1",
        )
    assert caught.value.status == 403


async def test_unreachable_pdm_is_a_transient_error_without_the_url(
    http: httpx.AsyncClient,
) -> None:
    pdm = PdmClient(http, "http://user:hunter2@127.0.0.1:9")
    with pytest.raises(PdmError) as caught:
        await pdm.reserve("omani.works", "acme", "a")
    assert caught.value.transient
    assert "hunter2" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


async def test_registrar_forward_relays_status_and_raw_body(
    http: httpx.AsyncClient, pdm_here: FakePdm
) -> None:
    raw = b'{"domain": "acme.io", "token": "tok", "extra": [1, 2]}'
    status, body = await client(http, pdm_here).forward_registrar(
        "cloudflare", "validate", raw, timeout=5
    )
    assert status == 200
    assert body == b'{"valid":true,"registrar":"cloudflare","domain":"acme.io"}'
    (call,) = pdm_here.calls("validate")
    assert call.body == raw
