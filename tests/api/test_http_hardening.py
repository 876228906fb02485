"""HTTP-layer hardening (issue 10): non-ASCII bearers, 500s carry the request id, no redirect
built from the Host header, complete 405 `Allow` headers."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from catalyst_api.api import routers
from support.fakes import ScriptedProvisioner

Body = Callable[..., dict[str, Any]]
ORIGIN = "https://catalyst.openova.io"


@pytest.fixture
def server(make_settings, start_server, scripted_overrides):  # type: ignore[no-untyped-def]
    return start_server(make_settings(CORS_ORIGIN=ORIGIN), scripted_overrides())


def _raw(server, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:  # type: ignore[no-untyped-def]
    """A request with headers sent byte for byte (latin-1), as a hostile client would."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value.encode("latin-1"))
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


# --- 1. non-ASCII bearer, request id on every 500 ------------------------------------------


def test_non_ascii_bearer_is_403_invalid_bearer(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    try:
        dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest("PUT", f"/api/v1/deployments/{dep}/kubeconfig")
        conn.putheader("Authorization", b"Bearer \xe9")
        conn.putheader("Content-Length", "4")
        conn.endheaders(b"x: y")
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        conn.close()
    finally:
        gate.set()
    assert resp.status == 403
    assert payload == {
        "error": "invalid-bearer",
        "detail": "bearer token does not match the deployment's expected hash",
    }
    assert resp.getheader("x-request-id")


@pytest.fixture
def crashing_route() -> Iterator[None]:
    """A route that raises an unexpected exception (mounted only for this test)."""
    router = APIRouter()

    @router.get("/__test__/boom")
    async def boom() -> None:
        raise RuntimeError("SECRET_CANARY_IN_EXCEPTION")

    routers.ROUTERS.append(router)
    try:
        yield
    finally:
        routers.ROUTERS.remove(router)


def test_unexpected_exception_is_a_500_carrying_the_request_id(
    crashing_route, make_settings, start_server, scripted_overrides, log_text
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(CORS_ORIGIN=ORIGIN), scripted_overrides())
    resp = httpx.get(
        f"{server.url}/__test__/boom", headers={"X-Request-Id": "crash-1", "Origin": ORIGIN}
    )
    assert resp.status_code == 500
    assert resp.headers["x-request-id"] == "crash-1"
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {
        "error": "internal-error",
        "detail": "internal server error",
        "requestId": "crash-1",
    }
    assert "SECRET_CANARY" not in resp.text and "Traceback" not in resp.text
    assert resp.headers["access-control-allow-origin"] == ORIGIN
    lines = [json.loads(line) for line in log_text().splitlines() if '"crash-1"' in line]
    crash = [line for line in lines if line["event"] == "unhandled error"]
    assert len(crash) == 1 and "RuntimeError" in crash[0]["exception"]
    access = [line for line in lines if line["event"] == "request"]
    assert len(access) == 1 and access[0]["status"] == 500
    assert resp.headers["x-request-id"] in {line["request_id"] for line in lines}


# --- 2. no redirect built from the Host header --------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/deployments/", "/healthz/", "/api/v1/sshkey/generate/", "/openapi.json/"]
)
def test_trailing_slash_is_a_plain_404_never_a_redirect(server, path: str) -> None:  # type: ignore[no-untyped-def]
    resp = _raw(server, "GET", path, {"Host": "evil.example"})
    assert resp.status == 404
    assert resp.getheader("location") is None
    assert resp.getheader("content-type") == "text/plain; charset=utf-8"


# --- 3. 405 carries every method of the path ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/api/v1/deployments", {"GET", "POST"}),
        ("PATCH", "/api/v1/deployments", {"GET", "POST"}),
        ("POST", "/api/v1/deployments/abc", {"DELETE", "GET"}),
        # A concrete path is its own route's (OpenAPI): not also `/{deployment_id}`'s methods.
        ("OPTIONS", "/api/v1/deployments/plan", {"POST"}),
        ("PUT", "/api/v1/deployments/plan", {"POST"}),
        ("POST", "/api/v1/deployments/abc/kubeconfig", {"GET", "PUT"}),
        ("DELETE", "/api/v1/sshkey/generate", {"POST"}),
        ("PUT", "/healthz", {"GET"}),
        ("GET", "/api/v1/deployments/abc/refresh-watch", {"POST"}),
    ],
)
def test_405_lists_every_method_of_the_path(
    server, method: str, path: str, allowed: set[str]
) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.request(method, f"{server.url}{path}")
    assert resp.status_code == 405
    assert {m.strip() for m in resp.headers["allow"].split(",")} == allowed
    assert resp.headers["x-request-id"]


def test_cors_preflight_still_answered_by_the_middleware(server) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.options(
        f"{server.url}/api/v1/deployments/abc",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"},
    )
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["access-control-allow-methods"] == "DELETE"
    assert "allow" not in resp.headers
