"""The database restarts mid-run: `/readyz` says so while it is down, the service reconnects,
and no event is lost or duplicated (issue 16)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from catalyst_api.wiring import Overrides
from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.postgres import PostgresServer, running_cluster
from support.replicas import ENCRYPTION_KEY
from support.waiting import read_sse, wait_for, wait_status

pytestmark = pytest.mark.timeout(120)  # a cluster of its own, stopped and started mid-run

Body = Callable[..., dict[str, Any]]
LINES = 300


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster for this test alone (it is restarted)."""
    with running_cluster() as server:
        yield server


def _ready(base: str) -> int:
    return httpx.get(f"{base}/readyz", timeout=5).status_code


def test_a_database_restart_mid_run_loses_and_duplicates_nothing(
    own_postgres: PostgresServer, make_settings: Any, start_server: Any, body: Body
) -> None:
    url = own_postgres.create_database()
    settings = make_settings(CATALYST_DATABASE_URL=url, CATALYST_ENCRYPTION_KEY=ENCRYPTION_KEY)
    server = start_server(
        settings,
        Overrides(
            provisioner=ScriptedProvisioner(lines=LINES, delay=0.01, postback_base="auto"),
            phase1=ScriptedPhase1(),
        ),
    )
    assert _ready(server.url) == 200
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    streaming = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        frames_future = pool.submit(
            read_sse, server.url, dep, on_frame=lambda f: streaming.set(), timeout=90
        )
        assert streaming.wait(20)
        wait_for(lambda: len(_events(server.url, dep)) > 20, timeout=20)
        own_postgres.stop("fast")
        wait_for(lambda: _ready(server.url) == 503, timeout=20)
        during = len(_events(server.url, dep))
        wait_for(lambda: len(_events(server.url, dep)) > during + 20, timeout=20)  # runs on
        own_postgres.start()
        wait_for(lambda: _ready(server.url) == 200, timeout=30)
        state = wait_status(server.url, dep, {"ready", "failed"}, timeout=60)
        frames = frames_future.result(timeout=60)
    assert state["status"] == "ready", state
    seqs = [int(i) for event, i, _ in frames if event in ("", "message") and i]
    assert seqs == list(range(1, len(seqs) + 1))
    lines = [data for event, _, data in frames if '"line ' in data]
    assert len(lines) == LINES
    server.stop()  # everything queued is flushed at shutdown
    with psycopg.connect(url) as conn:
        stored = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM events WHERE deployment_id = %s ORDER BY seq", (dep,)
            )
        ]
        status = conn.execute(
            "SELECT record->>'status' FROM deployments WHERE id = %s", (dep,)
        ).fetchone()
    assert stored == seqs  # every event durable, once
    assert status is not None and status[0] == "ready"


def _events(base: str, dep: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{base}/api/v1/deployments/{dep}/events", timeout=10).json()["events"])
