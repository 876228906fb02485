"""RunSupervisor: a run stopped before it ever ran still records its interruption and ends
its stream (the body is never left un-awaited)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from catalyst_api.deployments.lifecycle import Lifecycle
from catalyst_api.deployments.machine import orphan_message
from catalyst_api.deployments.models import Deployment, DeploymentRequest, FailureStage, Status
from catalyst_api.deployments.supervisor import RunKind, RunSupervisor
from catalyst_api.events import EventHub
from catalyst_api.store import EventLog, RecordStore


async def test_a_run_stopped_before_its_first_step_is_recorded_and_its_stream_ends(
    tmp_path: Path,
) -> None:
    records = RecordStore(tmp_path)
    records.open()
    hub = EventHub(EventLog(tmp_path, enabled=False))
    supervisor = RunSupervisor(hub=hub, lifecycle=Lifecycle(records=records), grace=5)
    dep = Deployment(
        id="0123456789abcdef",
        status=Status.PROVISIONING,
        request=DeploymentRequest(sovereign_fqdn="x.example"),
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    ran: list[bool] = []

    async def body() -> None:
        ran.append(True)

    supervisor.start(dep, RunKind.PHASE0, body())
    await supervisor.stop()  # no await in between: the task never took a step

    assert ran == []
    assert (dep.status, dep.failure_stage) == (Status.FAILED, FailureStage.PHASE0)
    assert dep.error == orphan_message(dep.id)
    assert hub.stream(dep.id).done
    assert not supervisor.is_running(dep.id)
