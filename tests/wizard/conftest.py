"""Fixtures for the wizard helper tests: a fake Hetzner API, a local DNS resolver, the fake
PDM, and two live catalyst-api servers per module (PDM mode and embedded mode) wired to them.
Fakes are reset before every test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from catalyst_api.config import Settings
from catalyst_api.wiring import Overrides, Services
from catalyst_api.wizard import NameNotFound
from catalyst_sandbox._loopback import LoopbackServer
from catalyst_sandbox.fake_dynadot import FakeDynadot
from catalyst_sandbox.fake_pdm import FakePdm
from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.server import LiveServer, live_server


class FakeHetzner:
    """`GET /v1/servers` answering `status`; records the Authorization headers it saw."""

    def __init__(self) -> None:
        self.status = 200
        self.authorizations: list[str] = []
        self.app = Starlette(routes=[Route("/v1/servers", self._servers, methods=["GET"])])
        self.server = LoopbackServer(self.app, name="fake-hetzner")

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/v1"

    def reset(self) -> None:
        self.status = 200
        self.authorizations.clear()

    async def _servers(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("authorization", ""))
        if self.status == 200:
            return JSONResponse({"servers": [], "meta": {"pagination": {"total_entries": 0}}})
        return JSONResponse({"error": {"code": "unauthorized"}}, status_code=self.status)


class LocalResolver:
    """A DNS seam for tests: `answers[name]` is a list of addresses, an exception to raise,
    or absent (NXDOMAIN). `delay` stalls every lookup. Records the names asked."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str] | Exception] = {}
        self.asked: list[str] = []
        self.delay = 0.0
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.answers.clear()
        self.asked.clear()
        self.delay = 0.0

    async def __call__(self, name: str) -> list[str]:
        with self._lock:
            self.asked.append(name)
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.answers.get(name)
        if answer is None:
            raise NameNotFound(name)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture(scope="module")
def hetzner() -> Iterator[FakeHetzner]:
    fake = FakeHetzner()
    with fake.server:
        yield fake


@pytest.fixture(scope="module")
def resolver() -> LocalResolver:
    return LocalResolver()


@pytest.fixture(scope="module")
def fake_pdm() -> Iterator[FakePdm]:
    with FakePdm() as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_dynadot() -> Iterator[FakeDynadot]:
    with FakeDynadot(key="wizard-dynadot-key", secret="wizard-dynadot-secret") as fake:
        yield fake


@pytest.fixture(autouse=True)
def _reset_fakes(request: pytest.FixtureRequest) -> None:
    for name in ("hetzner", "resolver", "fake_pdm", "fake_dynadot"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {
        "CATALYST_DEPLOYMENTS_DIR": str(root / "deployments"),
        "CATALYST_KUBECONFIGS_DIR": str(root / "kubeconfigs"),
        "CATALYST_EXECUTIONS_DIR": str(root / "executions"),
        "CATALYST_TOFU_WORKDIR": str(root / "tofu"),
        "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(root / "cache"),
        "CATALYST_K8SCACHE_KUBECONFIGS_DIR": str(root / "kubeconfigs"),
        "CATALYST_GHCR_PULL_TOKEN": "ghcr-token-for-wizard-tests",
    }
    env.update(extra)
    return env


def _use(resolver: LocalResolver, lookup_timeout: float) -> Callable[[Services, Any], None]:
    def setup(services: Services, _stack: Any) -> None:
        assert services.wizard is not None
        services.wizard.subdomains.resolver = resolver
        services.wizard.subdomains.lookup_timeout = lookup_timeout

    return setup


@pytest.fixture(scope="module")
def provisioner() -> ScriptedProvisioner:
    """The embedded server's Phase 0; tests set `gate` to hold a deployment in flight."""
    return ScriptedProvisioner()


@pytest.fixture(scope="module")
def pdm_server(
    tmp_path_factory: pytest.TempPathFactory,
    hetzner: FakeHetzner,
    fake_pdm: FakePdm,
    resolver: LocalResolver,
) -> Iterator[LiveServer]:
    """catalyst-api with POOL_DOMAIN_MANAGER_URL → fake PDM, Hetzner → fake, local DNS."""
    env = _env(
        tmp_path_factory.mktemp("pdm-mode"),
        POOL_DOMAIN_MANAGER_URL=fake_pdm.url,
        CATALYST_HETZNER_API_URL=hetzner.api_url,
    )
    overrides = Overrides(
        provisioner=ScriptedProvisioner(),
        phase1=ScriptedPhase1(),
        extra_setup=[_use(resolver, 0.2)],
    )
    with live_server(Settings.from_env(env), overrides) as server:
        yield server


@pytest.fixture(scope="module")
def embedded_server(
    tmp_path_factory: pytest.TempPathFactory,
    resolver: LocalResolver,
    provisioner: ScriptedProvisioner,
    fake_dynadot: FakeDynadot,
) -> Iterator[LiveServer]:
    """catalyst-api in embedded mode (no PDM) writing DNS to the fake Dynadot; local DNS
    resolver; Hetzner URL on a closed port."""
    env = _env(
        tmp_path_factory.mktemp("embedded-mode"),
        CATALYST_HETZNER_API_URL="http://127.0.0.1:9/v1",
        DYNADOT_API_URL=fake_dynadot.api_url,
        DYNADOT_API_KEY=fake_dynadot.key,
        DYNADOT_API_SECRET=fake_dynadot.secret,
    )
    overrides = Overrides(
        provisioner=provisioner, phase1=ScriptedPhase1(), extra_setup=[_use(resolver, 0.2)]
    )
    with live_server(Settings.from_env(env), overrides) as server:
        yield server
