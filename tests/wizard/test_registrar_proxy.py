"""`POST /api/v1/registrar/{registrar}/validate|set-ns` (spec §7.4): the BYO registrar proxy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from catalyst_sandbox.fake_pdm import FakePdm
from support.server import LiveServer

UNSUPPORTED = {"error": "unsupported-registrar", "detail": "registrar adapter not available"}


def post(server: LiveServer, path: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/registrar/{path}", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("registrar", ["cloudflare", "namecheap", "godaddy", "ovh", "dynadot"])
def test_validate_relays_pdms_answer_verbatim(
    pdm_server: LiveServer, fake_pdm: FakePdm, registrar: str
) -> None:
    raw = b'{"domain":"acme.io","token":"tok-123","extra":{"zone":"z1"}}'
    resp = post(pdm_server, f"{registrar}/validate", content=raw)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.content == f'{{"valid":true,"registrar":"{registrar}","domain":"acme.io"}}'.encode()
    (call,) = fake_pdm.calls("validate")
    assert call.path == f"/api/v1/registrar/{registrar}/validate"
    assert call.body == raw


def test_registrar_name_is_trimmed_and_lower_cased(
    pdm_server: LiveServer, fake_pdm: FakePdm
) -> None:
    resp = post(pdm_server, "%20CloudFlare%20/validate", json={"domain": "a.io", "token": "t"})
    assert resp.status_code == 200
    assert fake_pdm.calls("validate")[0].path == "/api/v1/registrar/cloudflare/validate"


def test_pdm_error_status_and_body_are_relayed(pdm_server: LiveServer, fake_pdm: FakePdm) -> None:
    fake_pdm.fail_next("validate", status=401, body=b'{"valid":false,"reason":"bad-credentials"}')
    resp = post(pdm_server, "ovh/validate", json={"domain": "a.io", "token": "t"})
    assert resp.status_code == 401
    assert resp.content == b'{"valid":false,"reason":"bad-credentials"}'


@pytest.mark.parametrize(
    "registrar",
    ["route53", "..%2F..%2Fetc", "..%2Fvalidate", "cloudflare%2F..", "a/b", "%2e%2e", "ÿ"],
)
@pytest.mark.parametrize("action", ["validate", "set-ns"])
def test_unsupported_registrar_is_404_before_the_body_is_read(
    pdm_server: LiveServer, fake_pdm: FakePdm, registrar: str, action: str
) -> None:
    resp = post(pdm_server, f"{registrar}/{action}", content=b"x" * (1 << 20))
    assert resp.status_code == 404
    assert resp.json() == UNSUPPORTED
    assert fake_pdm.requests == []


@pytest.mark.parametrize(
    ("action", "detail"),
    [
        ("validate", "validation request body must be under 16KB"),
        ("set-ns", "set-ns request body must be under 16KB"),
    ],
)
def test_body_over_16kib_is_400(
    pdm_server: LiveServer, fake_pdm: FakePdm, action: str, detail: str
) -> None:
    resp = post(pdm_server, f"dynadot/{action}", content=b"{" + b" " * 16384 + b"}")
    assert (resp.status_code, resp.json()) == (
        400,
        {"error": "request-too-large", "detail": detail},
    )
    assert fake_pdm.requests == []


def test_body_of_exactly_16kib_is_accepted(pdm_server: LiveServer) -> None:
    core = b'{"domain":"a.io","token":"t"}'
    body = core[:-1] + b" " * (16384 - len(core)) + b"}"
    assert len(body) == 16384
    assert post(pdm_server, "dynadot/validate", content=body).status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"nope",
        b"[]",
        b'"x"',
        b'{"domain": 1, "token": "t"}',
        b'{"domain": "a.io", "token": 5}',
        b"\xff",
    ],
    ids=["empty", "garbage", "array", "string", "number-domain", "number-token", "bad-utf8"],
)
def test_validate_body_that_is_not_the_json_shape_is_400(
    pdm_server: LiveServer, fake_pdm: FakePdm, content: bytes
) -> None:
    resp = post(pdm_server, "cloudflare/validate", content=content)
    assert (resp.status_code, resp.json()) == (
        400,
        {"error": "invalid-body", "detail": "request body must be JSON {domain, token}"},
    )
    assert fake_pdm.requests == []


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"token": "t"}, {"error": "missing-domain", "detail": "domain is required"}),
        (
            {"domain": "   ", "token": "t"},
            {"error": "missing-domain", "detail": "domain is required"},
        ),
        (
            {"domain": "a.io"},
            {"error": "missing-token", "detail": "registrar API credentials are required"},
        ),
        (
            {"domain": "a.io", "token": ""},
            {"error": "missing-token", "detail": "registrar API credentials are required"},
        ),
    ],
    ids=["no-domain", "blank-domain", "no-token", "empty-token"],
)
def test_validate_missing_fields_are_422(
    pdm_server: LiveServer, fake_pdm: FakePdm, payload: dict[str, str], error: dict[str, str]
) -> None:
    resp = post(pdm_server, "cloudflare/validate", json=payload)
    assert (resp.status_code, resp.json()) == (422, error)
    assert fake_pdm.requests == []


def test_set_ns_forwards_without_shape_checks(pdm_server: LiveServer, fake_pdm: FakePdm) -> None:
    resp = post(pdm_server, "godaddy/set-ns", content=b"not json at all")
    assert resp.status_code == 400  # PDM's own answer, relayed
    assert fake_pdm.calls("set-ns")[0].body == b"not json at all"
    ok = post(
        pdm_server,
        "godaddy/set-ns",
        json={"domain": "a.io", "token": "t", "nameservers": ["ns1.x.io", "ns2.x.io"]},
    )
    assert ok.status_code == 200 and ok.json()["success"] is True


def test_unreachable_pdm_is_502(
    make_settings: Callable[..., Any], start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(make_settings(POOL_DOMAIN_MANAGER_URL="http://127.0.0.1:9"))
    resp = post(server, "cloudflare/validate", json={"domain": "a.io", "token": "t"})
    assert (resp.status_code, resp.json()) == (
        502,
        {"error": "pdm-unreachable", "detail": "pool-domain-manager is temporarily unreachable"},
    )


def test_embedded_mode_answers_503_pdm_not_configured(embedded_server: LiveServer) -> None:
    resp = post(embedded_server, "cloudflare/validate", json={"domain": "a.io", "token": "t"})
    assert resp.status_code == 503
    assert resp.json()["error"] == "pdm-not-configured"
    assert "POOL_DOMAIN_MANAGER_URL" in resp.json()["detail"]
    bad = post(embedded_server, "cloudflare/validate", json={"domain": "a.io"})
    assert bad.status_code == 422
    assert post(embedded_server, "nope/set-ns", content=b"{}").status_code == 404


def test_registrar_token_is_never_logged(
    pdm_server: LiveServer, log_text: Callable[[], str]
) -> None:
    token = "registrar-token-canary-93c1"
    post(pdm_server, "cloudflare/validate", json={"domain": "a.io", "token": token})
    post(
        pdm_server,
        "cloudflare/set-ns",
        json={"domain": "a.io", "token": token, "nameservers": ["n"]},
    )
    assert token not in log_text()
    assert "registrar proxy" in log_text()
