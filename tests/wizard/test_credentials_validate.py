"""`POST /api/v1/credentials/validate` (spec §3.3) against a fake Hetzner API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from support.server import LiveServer

TOKEN = "hz" + "Q" * 62
SHORT = "token too short — Hetzner API tokens are at least 64 characters"
REJECTED = {"valid": False, "message": "token rejected — ensure it has Read & Write permissions"}
UNREACHABLE = {
    "valid": False,
    "message": "could not reach Hetzner API — check network connectivity",
}


@pytest.fixture
def url(pdm_server: LiveServer) -> str:
    return f"{pdm_server.url}/api/v1/credentials/validate"


def test_accepted_token_is_valid_and_sent_as_bearer(url: str, hetzner: Any) -> None:
    resp = httpx.post(url, json={"token": f"  {TOKEN}\n", "provider": "hetzner"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.text == '{"valid":true,"message":"read/write access confirmed"}\n'
    assert hetzner.authorizations == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_200_not_valid(url: str, hetzner: Any, status: int) -> None:
    hetzner.status = status
    resp = httpx.post(url, json={"token": TOKEN})
    assert (resp.status_code, resp.json()) == (200, REJECTED)


@pytest.mark.parametrize("status", [500, 429, 404])
def test_other_hetzner_answers_are_503(url: str, hetzner: Any, status: int) -> None:
    hetzner.status = status
    resp = httpx.post(url, json={"token": TOKEN})
    assert (resp.status_code, resp.json()) == (503, UNREACHABLE)


def test_unreachable_hetzner_is_503(embedded_server: LiveServer) -> None:
    # The embedded server's Hetzner URL points at a closed loopback port.
    resp = httpx.post(f"{embedded_server.url}/api/v1/credentials/validate", json={"token": TOKEN})
    assert (resp.status_code, resp.json()) == (503, UNREACHABLE)


@pytest.mark.parametrize(
    "token", ["", "short", " " * 70, "x" * 63 + "   "], ids=["empty", "short", "blank", "63+pad"]
)
def test_short_token_is_400_without_calling_hetzner(url: str, hetzner: Any, token: str) -> None:
    resp = httpx.post(url, json={"token": token})
    assert (resp.status_code, resp.json()) == (400, {"valid": False, "message": SHORT})
    assert hetzner.authorizations == []


def test_missing_token_field_counts_as_empty(url: str) -> None:
    assert httpx.post(url, json={"provider": "hetzner"}).status_code == 400
    assert httpx.post(url, json={"TOKEN": None}).json()["message"] == SHORT


def test_token_key_matches_case_insensitively(url: str, hetzner: Any) -> None:
    assert httpx.post(url, json={"Token": TOKEN}).json()["valid"] is True


@pytest.mark.parametrize(
    "token", ["\u00e9" * 64, "a" * 63 + "\nX-Injected: 1"], ids=["non-ascii", "header-injection"]
)
def test_unsendable_token_is_rejected_without_a_call(url: str, hetzner: Any, token: str) -> None:
    resp = httpx.post(url, json={"token": token})
    assert (resp.status_code, resp.json()) == (200, REJECTED)
    assert hetzner.authorizations == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[]",
        b'"token"',
        b'{"token": 123}',
        b'{"token": ["a"]}',
        b"\xff\xfe{",
        b'{"token": "' + b"a" * (70 << 10) + b'"}',
    ],
    ids=["empty", "garbage", "array", "string", "number-token", "array-token", "bad-utf8", "huge"],
)
def test_undecodable_body_is_400_text(url: str, hetzner: Any, content: bytes) -> None:
    resp = httpx.post(url, content=content, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.text == "invalid request body\n"
    assert hetzner.authorizations == []


def test_token_is_never_logged(url: str, hetzner: Any, log_text: Callable[[], str]) -> None:
    for status in (200, 401, 500):
        hetzner.status = status
        httpx.post(url, json={"token": TOKEN})
    assert TOKEN not in log_text()
    assert "hetzner token check" in log_text()
