"""`POST /api/v1/subdomains/check` (spec §3.4): managed pools ask PDM (or, embedded, the local
deployments) and never DNS; BYO domains ask DNS and never PDM."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
import pytest

from catalyst_sandbox.fake_dynadot import FakeDynadot, FakeRecord
from catalyst_sandbox.fake_pdm import FakePdm
from support.fakes import ScriptedProvisioner
from support.keys import SSH_PUBLIC_KEY
from support.server import LiveServer
from support.waiting import wait_status

INVALID_LABEL = {
    "available": False,
    "reason": "invalid-format",
    "detail": "subdomain must be a-z, 0-9 and hyphens, start with a letter, max 63 characters",
}
NOT_JSON = {
    "available": False,
    "reason": "invalid-format",
    "detail": "request body could not be parsed as JSON",
}


def check(server: LiveServer, sub: Any, pool: Any = "omani.works") -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/subdomains/check", json={"subdomain": sub, "poolDomain": pool}
    )


# --- managed pools, PDM mode ---------------------------------------------------------------


def test_managed_pool_asks_pdm_exactly_once_and_never_dns(
    pdm_server: LiveServer, fake_pdm: FakePdm, resolver: Any
) -> None:
    resp = check(pdm_server, "acme")
    assert resp.status_code == 200
    assert resp.text == '{"available":true,"fqdn":"acme.omani.works"}\n'
    (call,) = fake_pdm.calls("check")
    assert (call.path, call.query) == ("/api/v1/pool/omani.works/check", {"sub": "acme"})
    assert resolver.asked == []


def test_pdm_verdict_passes_through_verbatim(
    pdm_server: LiveServer, fake_pdm: FakePdm, resolver: Any
) -> None:
    resolver.answers["acme.omani.works"] = ["192.0.2.1"]  # a wildcard parking record
    held = httpx.post(f"{fake_pdm.url}/api/v1/pool/omani.works/reserve", json={"subdomain": "acme"})
    token = held.json()["reservationToken"]
    httpx.post(
        f"{fake_pdm.url}/api/v1/pool/omani.works/commit",
        json={"subdomain": "acme", "reservationToken": token, "loadBalancerIP": "1.1.1.1"},
    )
    assert check(pdm_server, "ACME", " Omani.Works ").json() == {
        "available": False,
        "reason": "active-state",
        "detail": "acme.omani.works is active",
        "fqdn": "acme.omani.works",
    }
    assert resolver.asked == []


def test_pdm_verdict_drops_empty_strings(pdm_server: LiveServer, fake_pdm: FakePdm) -> None:
    fake_pdm.fail_next(
        "check", status=200, body={"available": False, "reason": "", "detail": "", "fqdn": ""}
    )
    assert check(pdm_server, "acme").text == '{"available":false}\n'


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"boom"), (503, b"{}"), (200, b"<html>"), (200, b'{"available": "yes"}')],
    ids=["500", "503", "not-json", "mistyped"],
)
def test_pdm_failure_is_pdm_unavailable_never_available(
    pdm_server: LiveServer, fake_pdm: FakePdm, status: int, body: bytes
) -> None:
    fake_pdm.fail_next("check", status=status, body=body)
    resp = check(pdm_server, "acme")
    assert (resp.status_code, resp.json()) == (
        200,
        {
            "available": False,
            "reason": "pdm-unavailable",
            "detail": "pool-domain-manager is temporarily unreachable — try again",
            "fqdn": "acme.omani.works",
        },
    )


# --- BYO ------------------------------------------------------------------------------------


def test_byo_resolving_name_is_taken_and_pdm_is_never_asked(
    pdm_server: LiveServer, fake_pdm: FakePdm, resolver: Any
) -> None:
    resolver.answers["www.example.com"] = [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]
    assert check(pdm_server, "www", "example.com").json() == {
        "available": False,
        "reason": "exists",
        "detail": "this subdomain already resolves in DNS — pick a different name",
        "fqdn": "www.example.com",
    }
    assert resolver.asked == ["www.example.com"]
    assert fake_pdm.requests == []


def test_byo_nxdomain_is_available(
    pdm_server: LiveServer, resolver: Any, fake_pdm: FakePdm
) -> None:
    assert check(pdm_server, "k7x2q9", "acme.example").json() == {
        "available": True,
        "fqdn": "k7x2q9.acme.example",
    }
    assert fake_pdm.requests == []


def test_byo_name_without_addresses_is_available(pdm_server: LiveServer, resolver: Any) -> None:
    resolver.answers["empty.acme.example"] = []
    assert check(pdm_server, "empty", "acme.example").json()["available"] is True


def test_byo_lookup_failure_is_lookup_error(pdm_server: LiveServer, resolver: Any) -> None:
    resolver.answers["x.acme.example"] = socket.gaierror(socket.EAI_AGAIN, "Temporary failure")
    assert check(pdm_server, "x", "acme.example").json() == {
        "available": False,
        "reason": "lookup-error",
        "detail": "DNS lookup failed: lookup x.acme.example: Temporary failure",
        "fqdn": "x.acme.example",
    }


def test_byo_slow_lookup_times_out_as_lookup_error(pdm_server: LiveServer, resolver: Any) -> None:
    resolver.delay = 2.0  # the test server's lookup timeout is 0.2 s
    body = check(pdm_server, "slow", "acme.example").json()
    assert body["reason"] == "lookup-error"
    assert body["detail"] == "DNS lookup failed: lookup slow.acme.example: i/o timeout"


def test_byo_with_the_real_system_resolver_finds_nothing_under_invalid(
    wizard_real_dns: LiveServer,
) -> None:
    assert check(wizard_real_dns, "nothing-here", "catalyst-test.invalid").json() == {
        "available": True,
        "fqdn": "nothing-here.catalyst-test.invalid",
    }


@pytest.fixture
def wizard_real_dns(pdm_server: LiveServer) -> Any:
    """The PDM-mode server with the production resolver for one test."""
    from catalyst_api.wizard import system_resolver

    wizard = pdm_server.services.wizard
    assert wizard is not None
    saved = wizard.subdomains.resolver, wizard.subdomains.lookup_timeout
    wizard.subdomains.resolver, wizard.subdomains.lookup_timeout = system_resolver, 2.0
    yield pdm_server
    wizard.subdomains.resolver, wizard.subdomains.lookup_timeout = saved


# --- label and body rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "sub",
    ["-bad-", "", "   ", "1abc", "abc-", "a_b", "a.b", "ünïcode", "a" * 64, "a b", "😀"],
    ids=[
        "hyphens",
        "empty",
        "blank",
        "digit-first",
        "hyphen-last",
        "underscore",
        "dot",
        "unicode",
        "64-chars",
        "space",
        "emoji",
    ],
)
@pytest.mark.parametrize("pool", ["omani.works", "acme.example"], ids=["managed", "byo"])
def test_invalid_label_is_invalid_format_without_any_lookup(
    pdm_server: LiveServer, fake_pdm: FakePdm, resolver: Any, sub: str, pool: str
) -> None:
    resp = check(pdm_server, sub, pool)
    assert (resp.status_code, resp.json()) == (200, INVALID_LABEL)
    assert fake_pdm.requests == [] and resolver.asked == []


def test_uppercase_and_padding_are_normalised(pdm_server: LiveServer, resolver: Any) -> None:
    assert check(pdm_server, "  Acme-1 ", " ACME.Example ").json() == {
        "available": True,
        "fqdn": "acme-1.acme.example",
    }
    assert resolver.asked == ["acme-1.acme.example"]


@pytest.mark.parametrize(
    "pool", ["", "localhost", "a..b", "-a.io", "a_b.io", "x" * 64 + ".io", "ünï.io"]
)
def test_pool_domain_that_is_not_a_domain_name_is_invalid_format(
    pdm_server: LiveServer, resolver: Any, pool: str
) -> None:
    body = check(pdm_server, "acme", pool).json()
    assert body["reason"] == "invalid-format" and body["available"] is False
    assert resolver.asked == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"nope",
        b"[]",
        b"null",
        b'{"subdomain": 1}',
        b'{"poolDomain": {}}',
        b"\xc3\x28",
        b'{"subdomain": "' + b"a" * (70 << 10) + b'"}',
    ],
    ids=["empty", "garbage", "array", "null", "number", "object", "bad-utf8", "huge"],
)
def test_undecodable_body_is_400_invalid_format(
    pdm_server: LiveServer, fake_pdm: FakePdm, content: bytes
) -> None:
    resp = httpx.post(f"{pdm_server.url}/api/v1/subdomains/check", content=content)
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == NOT_JSON
    assert fake_pdm.requests == []


def test_missing_fields_are_empty_and_unknown_fields_ignored(pdm_server: LiveServer) -> None:
    resp = httpx.post(f"{pdm_server.url}/api/v1/subdomains/check", json={"other": 1})
    assert (resp.status_code, resp.json()) == (200, INVALID_LABEL)


# --- managed pools, embedded mode -----------------------------------------------------------


def test_embedded_managed_pool_is_available_unless_a_deployment_holds_it(
    embedded_server: LiveServer,
    resolver: Any,
    provisioner: ScriptedProvisioner,
    fake_dynadot: FakeDynadot,
) -> None:
    # A real pool zone always holds other records (apex, other Sovereigns).
    fake_dynadot.seed("omani.works", FakeRecord("www", "a", "198.51.100.7"))
    assert check(embedded_server, "acme").json() == {"available": True, "fqdn": "acme.omani.works"}
    provisioner.gate = threading.Event()  # hold the deployment in Phase 0
    try:
        created = httpx.post(
            f"{embedded_server.url}/api/v1/deployments",
            json={
                "orgName": "Acme",
                "orgEmail": "ops@acme.example",
                "sovereignFQDN": "acme.omani.works",
                "sovereignDomainMode": "pool",
                "sovereignPoolDomain": "omani.works",
                "sovereignSubdomain": "acme",
                "hetznerToken": "h" * 64,
                "hetznerProjectID": "1",
                "region": "fsn1",
                "sshPublicKey": SSH_PUBLIC_KEY,
            },
        )
        assert created.status_code == 201, created.text
        assert check(embedded_server, "ACME").json() == {
            "available": False,
            "reason": "reserved",
            "detail": "this subdomain has been reserved or activated for the chosen pool — pick "
            "a different name",
            "fqdn": "acme.omani.works",
        }
        assert check(embedded_server, "other").json()["available"] is True
    finally:
        provisioner.gate.set()
        provisioner.gate = None
    dep_id = created.json()["id"]
    # Phase 0 done, records written, waiting for the kubeconfig: the name is still held.
    wait_status(embedded_server.url, dep_id, {"phase1-watching"})
    assert check(embedded_server, "acme").json()["reason"] == "reserved"
    bearer = embedded_server.call(
        lambda: embedded_server.services.deployments.get(dep_id).bearer_token.get_secret_value()  # type: ignore[union-attr]
    )
    httpx.put(
        f"{embedded_server.url}/api/v1/deployments/{dep_id}/kubeconfig",
        content=b"apiVersion: v1\nkind: Config\n",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    wait_status(embedded_server.url, dep_id, {"ready"})
    assert check(embedded_server, "acme").json()["reason"] == "reserved"
    httpx.request(
        "DELETE",
        f"{embedded_server.url}/api/v1/deployments/{dep_id}",
        json={"hetznerToken": "h" * 64},
    )
    wait_status(embedded_server.url, dep_id, {"destroyed"})
    assert check(embedded_server, "acme").json() == {"available": True, "fqdn": "acme.omani.works"}
    assert resolver.asked == []
