"""A deployment's Phase 1 outcome is recorded only once the jobs view has taken the run's
events (issue 14): a client that sees the final status (or `event: done`) reads jobs that agree
with it, and nothing writes the deployment's jobs afterwards."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from catalyst_api.jobs import JobsIndex
from catalyst_api.wiring import Overrides
from support.fakes import ScriptedPhase1
from support.waiting import wait_status


@pytest.mark.both_backends
def test_the_outcome_waits_for_the_jobs_view(
    make_settings: Callable[..., Any],
    start_server: Callable[..., Any],
    scripted_overrides: Callable[..., Overrides],
    body: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    phase1 = ScriptedPhase1(components=("cilium", "cert-manager", "spire"))
    server = start_server(make_settings(), scripted_overrides(phase1=phase1))
    store = server.services.jobs.store
    entered, release = threading.Event(), threading.Event()
    transaction = store.transaction

    @contextlib.contextmanager
    def held(deployment_id: str) -> Iterator[JobsIndex]:
        entered.set()
        assert release.wait(30), "the test never released the jobs store"
        with transaction(deployment_id) as index:
            yield index

    # The bridge's worker thread applies the events through this: held until released.
    monkeypatch.setattr(store, "transaction", held)
    created = httpx.post(f"{server.url}/api/v1/deployments", json=body(), timeout=10)
    assert created.status_code == 201, created.text
    dep = str(created.json()["id"])

    assert entered.wait(15), "the Phase 1 events never reached the jobs view"
    # Phase 1 has reported its components (only its events touch the jobs view), but the
    # jobs view has not applied them yet: the outcome is not recorded.
    state = httpx.get(f"{server.url}/api/v1/deployments/{dep}", timeout=10).json()
    assert state["status"] == "phase1-watching", state

    release.set()
    wait_status(server.url, dep, {"ready"})
    jobs = httpx.get(f"{server.url}/api/v1/deployments/{dep}/jobs", timeout=10).json()["jobs"]
    assert sorted((j["jobName"], j["status"]) for j in jobs) == [
        ("install-cert-manager", "succeeded"),
        ("install-cilium", "succeeded"),
        ("install-spire", "succeeded"),
    ]
