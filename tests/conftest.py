"""Fixtures shared by the whole suite: settings under tmp_path, live servers, log capture."""

from __future__ import annotations

import asyncio
import inspect
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO, cast

import pytest

from catalyst_api.config import Settings
from catalyst_api.logs import configure_logging
from catalyst_api.wiring import Overrides
from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.keys import SSH_PUBLIC_KEY
from support.postgres import PostgresServer, running_cluster
from support.server import LiveServer, live_server
from support.stored import StoredRecords


class _PerTestLogStream(io.TextIOBase):
    """The one stream logging writes to; each test swaps in a fresh buffer (see `log_text`).

    Live servers run in threads and may outlive the test that started them (module-scoped
    fixtures): their lines land in the buffer of the test running at that moment, so an
    assertion only ever sees what was logged while its own test ran."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.buffer_ = io.StringIO()

    def write(self, text: str) -> int:
        with self._lock:
            return self.buffer_.write(text)

    def writable(self) -> bool:
        return True

    def fresh(self) -> io.StringIO:
        with self._lock:
            self.buffer_ = io.StringIO()
            return self.buffer_


_LOG_STREAM = _PerTestLogStream()


@pytest.fixture(autouse=True)
def _capture_logs() -> io.StringIO:
    """Every log line goes to a buffer owned by the running test (`log_text`)."""
    configure_logging("info", stream=cast(TextIO, _LOG_STREAM))
    return _LOG_STREAM.fresh()


@pytest.fixture
def log_text(_capture_logs: io.StringIO) -> Callable[[], str]:
    """Returns everything logged so far during this test (not the whole session)."""
    return _capture_logs.getvalue


@pytest.fixture(autouse=True)
def _no_task_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """An async test fails when it leaves a task running on its loop once its fixtures are torn
    down (pytest-asyncio would cancel it silently when closing the loop). Only function-scoped
    loops are checked: a wider loop legitimately outlives the test."""
    marker = request.node.get_closest_marker("asyncio")
    loop_scope = (marker.kwargs.get("loop_scope") if marker else None) or "function"
    if not inspect.iscoroutinefunction(request.node.obj) or loop_scope != "function":
        yield
        return
    # Requested first, so torn down last: the check below runs after the test's own async
    # fixtures have stopped what they started, while the loop is still open.
    runner = request.getfixturevalue("_function_scoped_runner")
    yield
    loop = runner.get_loop()
    if loop.is_closed():
        return
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if left:  # a task that is finishing (e.g. cancelled just now) gets a moment to end
        loop.run_until_complete(asyncio.wait(left, timeout=1.0))
        left = [t for t in left if not t.done()]
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.wait(left, timeout=1.0))
        pytest.fail(
            "the test left asyncio tasks running: "
            + ", ".join(f"{t.get_name()} {t.get_coro()!r}" for t in left),
            pytrace=False,
        )


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` run once per store backend (`store_backend` param)."""
    if metafunc.definition.get_closest_marker("both_backends") is None:
        return
    if "store_backend" not in metafunc.fixturenames:
        metafunc.fixturenames.append("store_backend")
    metafunc.parametrize("store_backend", ["files", "postgres"], indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session, with a migrated template database."""
    with running_cluster() as server:
        yield server


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """`files` (the default) or `postgres` (a `both_backends` test's second run)."""
    return str(getattr(request, "param", "files"))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, store_backend: str) -> Iterator[str]:
    """A fresh migrated database of the session cluster for this test ('' for `files`)."""
    if store_backend != "postgres":
        yield ""
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def stored(data_root: Path, database_url: str) -> StoredRecords:
    """The records the service stored, read from the test's backend."""
    return StoredRecords(data_root / "deployments", database_url)


@pytest.fixture
def make_settings(data_root: Path, database_url: str) -> Callable[..., Settings]:
    """Settings with every data dir under tmp_path (and `CATALYST_DATABASE_URL` when the test
    runs on the PostgreSQL backend); keyword args are env vars."""

    def build(**env: str) -> Settings:
        base = {
            "CATALYST_DATABASE_URL": database_url,
            "CATALYST_DEPLOYMENTS_DIR": str(data_root / "deployments"),
            "CATALYST_KUBECONFIGS_DIR": str(data_root / "kubeconfigs"),
            "CATALYST_EXECUTIONS_DIR": str(data_root / "executions"),
            "CATALYST_TOFU_WORKDIR": str(data_root / "tofu"),
            "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(data_root / "cache"),
            "CATALYST_K8SCACHE_KUBECONFIGS_DIR": str(data_root / "kubeconfigs"),
        }
        base.update(env)
        return Settings.from_env(base)

    return build


@pytest.fixture
def start_server() -> Iterator[Callable[..., LiveServer]]:
    """Start live servers (stopped at teardown): `start_server(settings, overrides)`."""
    stack: list[Any] = []

    def start(settings: Settings, overrides: Overrides | None = None) -> LiveServer:
        ctx = live_server(settings, overrides)
        server = ctx.__enter__()
        stack.append(ctx)
        provisioner = overrides.provisioner if overrides is not None else None
        if isinstance(provisioner, ScriptedProvisioner) and provisioner.postback_base == "auto":
            provisioner.postback_base = server.url
        return server

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@pytest.fixture
def scripted_overrides() -> Callable[..., Overrides]:
    def build(
        provisioner: ScriptedProvisioner | None = None,
        phase1: ScriptedPhase1 | None = None,
        **kwargs: Any,
    ) -> Overrides:
        return Overrides(
            provisioner=provisioner or ScriptedProvisioner(postback_base="auto"),
            phase1=phase1 or ScriptedPhase1(),
            sse_ping_interval=kwargs.pop("sse_ping_interval", 15.0),
            **kwargs,
        )

    return build


def byo_body(**overrides: Any) -> dict[str, Any]:
    """A valid BYO create body."""
    body: dict[str, Any] = {
        "orgName": "Acme",
        "orgEmail": "ops@acme.example",
        "sovereignFQDN": "k8s.acme.example",
        "sovereignDomainMode": "byo",
        "hetznerToken": "h" * 64,
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
def body() -> Callable[..., dict[str, Any]]:
    return byo_body
