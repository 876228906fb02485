"""A run body that raises an unexpected exception ends `failed`, never `provisioning` forever
(issue 11, DESIGN item 13): the stream ends with `event: done` and a retry is accepted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from catalyst_api.events import Emit
from catalyst_api.provisioner import Phase0Outputs, ProvisionJob
from support.fakes import ScriptedProvisioner
from support.stored import StoredRecords
from support.waiting import read_sse, wait_status

# Behaviour suite: runs on the flat files and on PostgreSQL.
pytestmark = pytest.mark.both_backends

Body = Callable[..., dict[str, Any]]


@dataclass
class ExplodingOnce(ScriptedProvisioner):
    """The first apply raises an exception no provisioner is supposed to raise."""

    exploded: int = 0

    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs:
        if not self.exploded:
            self.exploded += 1
            raise RuntimeError("provider plugin exploded")
        return await super().apply(job, emit)


def test_a_run_that_raises_ends_failed_and_done_and_retry_is_accepted(
    make_settings: Any,
    start_server: Any,
    scripted_overrides: Any,
    body: Body,
    log_text: Any,
    stored: StoredRecords,
) -> None:
    settings = make_settings()
    server = start_server(settings, scripted_overrides(ExplodingOnce(postback_base="auto")))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]

    state = wait_status(server.url, dep, {"failed"})
    assert state["error"] == (
        "catalyst-api phase0 run failed unexpectedly: RuntimeError: provider plugin exploded"
    )
    assert state["finishedAt"] is not None
    frames = read_sse(server.url, dep)
    assert frames[-1][0] == "done"
    assert json.loads(frames[-1][2])["status"] == "failed"
    record = stored.get(dep)
    assert (record["status"], record["failureStage"]) == ("failed", "phase0")
    assert "deployment run crashed" in log_text()

    retry = httpx.post(f"{server.url}/api/v1/deployments/{dep}/phases/tofu-apply/retry")
    assert retry.status_code == 200, retry.text
    assert wait_status(server.url, dep, {"ready", "failed"})["status"] == "ready"


def test_once_runs_are_stopping_a_create_is_refused_before_anything_is_recorded(
    make_settings: Any,
    start_server: Any,
    scripted_overrides: Any,
    body: Body,
    stored: StoredRecords,
) -> None:
    settings = make_settings()
    server = start_server(settings, scripted_overrides())
    server.run(server.services.supervisor.stop())

    resp = httpx.post(f"{server.url}/api/v1/deployments", json=body())

    assert resp.status_code == 503
    assert resp.json()["error"] == "shutting-down"
    assert stored.ids() == []


@dataclass
class DestroyExplodingOnce(ScriptedProvisioner):
    """The first destroy raises an exception no provisioner is supposed to raise."""

    exploded: int = 0

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        if not self.exploded:
            self.exploded += 1
            raise RuntimeError("state lock vanished")
        await super().destroy(job, emit)


def test_a_destroy_that_raises_ends_failed_at_the_destroy_stage_and_can_run_again(
    make_settings: Any,
    start_server: Any,
    scripted_overrides: Any,
    body: Body,
    stored: StoredRecords,
) -> None:
    settings = make_settings()
    server = start_server(settings, scripted_overrides(DestroyExplodingOnce(postback_base="auto")))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})

    assert httpx.delete(f"{server.url}/api/v1/deployments/{dep}").status_code == 202
    state = wait_status(server.url, dep, {"failed"})
    assert state["error"] == (
        "catalyst-api destroy run failed unexpectedly: RuntimeError: state lock vanished"
    )
    assert read_sse(server.url, dep)[-1][0] == "done"
    record = stored.get(dep)
    assert record["failureStage"] == "destroy"

    assert httpx.delete(f"{server.url}/api/v1/deployments/{dep}").status_code == 202
    assert wait_status(server.url, dep, {"destroyed", "failed"})["status"] == "destroyed"


def test_a_destroy_sent_as_soon_as_ready_shows_waits_for_the_runs_epilogue(
    make_settings: Any, start_server: Any, scripted_overrides: Any, body: Body
) -> None:
    """The record says `ready` a moment before the run has committed its events and released
    its lease (PostgreSQL); a client that destroys right then gets 202, not 409 phase-running.
    The epilogue is made slow (1 s) so the window is always hit."""
    provisioner = ScriptedProvisioner(postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(provisioner))
    supervisor = server.services.supervisor
    release = supervisor._release

    async def slow_release(deployment_id: str) -> None:
        await asyncio.sleep(1.0)  # the epilogue under test, not synchronisation
        await release(deployment_id)

    supervisor._release = slow_release
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    assert server.call(lambda: supervisor.is_running(dep)), "still in its epilogue"
    answer = httpx.delete(f"{server.url}/api/v1/deployments/{dep}", timeout=10)
    assert answer.status_code == 202, answer.text
    wait_status(server.url, dep, {"destroyed"})
