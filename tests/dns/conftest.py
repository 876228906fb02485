"""Fixtures for the DNS / pool-domain tests: the fake Dynadot and fake PDM (in a thread for
live-server tests, on the test's loop for async client tests), canary credentials, bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from catalyst_api.dns import Backoff, build_pool_domains
from catalyst_api.wiring import Services
from catalyst_sandbox.fake_dynadot import FakeDynadot
from catalyst_sandbox.fake_pdm import FakePdm
from support.keys import SSH_PUBLIC_KEY

DYNADOT_KEY = "canary-dynadot-key-4f1e9a"
DYNADOT_SECRET = "canary-dynadot-secret-7c2d55"
GHCR_TOKEN = "canary-ghcr-token-0b9e31"
HETZNER_TOKEN = "canary-hetzner-" + "z" * 60
FAST = Backoff(attempts=5, base=0.001, cap=0.01)


def _pool_body(sub: str, pool: str = "omani.works", **overrides: Any) -> dict[str, Any]:
    """A valid pool-mode create body for `<sub>.<pool>`."""
    body: dict[str, Any] = {
        "orgName": "Acme",
        "orgEmail": "ops@acme.example",
        "sovereignFQDN": f"{sub}.{pool}",
        "sovereignDomainMode": "pool",
        "sovereignPoolDomain": pool,
        "sovereignSubdomain": sub,
        "hetznerToken": HETZNER_TOKEN,
        "hetznerProjectID": "991",
        "region": "fsn1",
        "controlPlaneSize": "cpx31",
        "workerSize": "cpx41",
        "workerCount": 1,
        "sshPublicKey": SSH_PUBLIC_KEY,
    }
    body.update(overrides)
    return body


@pytest.fixture
def fake_dynadot() -> Iterator[FakeDynadot]:
    """Fake Dynadot in a background thread (for live-server tests)."""
    with FakeDynadot(key=DYNADOT_KEY, secret=DYNADOT_SECRET) as fake:
        yield fake


@pytest.fixture
def fake_pdm() -> Iterator[FakePdm]:
    """Fake PDM in a background thread (for live-server tests)."""
    with FakePdm() as fake:
        yield fake


@pytest.fixture
async def dynadot_here() -> AsyncIterator[FakeDynadot]:
    """Fake Dynadot on the test's own event loop (for async client tests)."""
    async with FakeDynadot(key=DYNADOT_KEY, secret=DYNADOT_SECRET) as fake:
        yield fake


@pytest.fixture
async def pdm_here() -> AsyncIterator[FakePdm]:
    """Fake PDM on the test's own event loop."""
    async with FakePdm() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), trust_env=False) as client:
        yield client


@pytest.fixture
def pool_body() -> Callable[..., dict[str, Any]]:
    """`pool_body(sub, pool="omani.works", **overrides)`: a valid pool-mode create body."""
    return _pool_body


@pytest.fixture
def canaries() -> list[str]:
    """Secret values planted in settings and requests: [dynadot key, secret, GHCR, Hetzner]."""
    return [DYNADOT_KEY, DYNADOT_SECRET, GHCR_TOKEN, HETZNER_TOKEN]


@pytest.fixture
def pool_settings(make_settings: Callable[..., Any]) -> Callable[..., Any]:
    """Settings for pool deployments: GHCR token and canary Dynadot credentials set."""

    def build(**env: str) -> Any:
        base = {
            "CATALYST_GHCR_PULL_TOKEN": GHCR_TOKEN,
            "DYNADOT_API_KEY": DYNADOT_KEY,
            "DYNADOT_API_SECRET": DYNADOT_SECRET,
        }
        base.update(env)
        return make_settings(**base)

    return build


@pytest.fixture
def fast_dns() -> Callable[[Services, Any], Any]:
    """An `Overrides.extra_setup` hook: the wired pool backend, with millisecond back-off."""
    return _fast_pool_domains()


def _fast_pool_domains() -> Callable[[Services, Any], Any]:
    async def setup(services: Services, stack: Any) -> None:
        client = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))
        services.deployments.deps.pool_domains = build_pool_domains(
            services.settings, services.managed_domains, client, backoff=FAST
        )

    return setup
