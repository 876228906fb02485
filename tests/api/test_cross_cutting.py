"""Health, readiness, metrics, OpenAPI, CORS and request ids (spec §3.0, DESIGN item 4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from support.waiting import wait_status

Body = Callable[..., dict[str, Any]]


@pytest.fixture
def server(make_settings, start_server, scripted_overrides):  # type: ignore[no-untyped-def]
    return start_server(
        make_settings(CORS_ORIGIN="https://catalyst.openova.io"), scripted_overrides()
    )


def test_healthz_is_plain_ok(server) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.get(f"{server.url}/healthz")
    assert resp.status_code == 200
    assert resp.text == "ok"
    assert resp.headers["content-type"].startswith("text/plain")


def test_readyz_reports_checks(server) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.get(f"{server.url}/readyz")
    assert resp.status_code == 200
    payload = resp.json()
    assert payload["ready"] is True
    assert payload["checks"]["store"]["ok"] is True
    assert "k8scache" in payload["checks"]


def test_metrics_expose_the_documented_series(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    text = httpx.get(f"{server.url}/metrics").text
    assert (
        'catalyst_http_requests_total{method="POST",route="/api/v1/deployments",status="201"} 1.0'
        in text
    )
    assert "catalyst_http_request_duration_seconds_bucket" in text
    assert 'catalyst_deployments{status="ready"} 1.0' in text
    assert "catalyst_sse_subscribers 0.0" in text
    assert "catalyst_events_written_total" in text


def test_openapi_document_lists_the_routes(server) -> None:  # type: ignore[no-untyped-def]
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v1/deployments" in spec["paths"]
    assert "/api/v1/deployments/{deployment_id}/kubeconfig" in spec["paths"]


def test_cors_preflight_is_answered_with_the_configured_origin(server) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.options(
        f"{server.url}/api/v1/deployments",
        headers={
            "Origin": "https://catalyst.openova.io",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert 200 <= resp.status_code < 300
    assert resp.content == b""
    assert resp.headers["access-control-allow-origin"] == "https://catalyst.openova.io"
    assert resp.headers["access-control-allow-methods"] == "POST"
    assert resp.headers["access-control-allow-headers"] == "content-type"
    assert resp.headers["access-control-max-age"] == "300"
    assert "access-control-allow-credentials" not in resp.headers


def test_cors_refuses_other_origins(server) -> None:  # type: ignore[no-untyped-def]
    preflight = httpx.options(
        f"{server.url}/api/v1/deployments",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    actual = httpx.get(f"{server.url}/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in actual.headers
    allowed = httpx.get(f"{server.url}/healthz", headers={"Origin": "https://catalyst.openova.io"})
    assert allowed.headers["access-control-allow-origin"] == "https://catalyst.openova.io"


def test_every_response_carries_a_request_id_and_one_access_log_line(server, log_text) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": "req-abc-123"})
    assert resp.headers["x-request-id"] == "req-abc-123"
    generated = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert len(generated) == 32
    lines = [json.loads(line) for line in log_text().splitlines() if "req-abc-123" in line]
    assert len(lines) == 1
    assert lines[0]["event"] == "request" and lines[0]["status"] == 200
    assert lines[0]["path"] == "/healthz"
