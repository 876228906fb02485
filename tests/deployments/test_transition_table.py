"""Every (status, transition) pair of the deployment lifecycle: what it leads to, or that it is
refused without touching the record (DESIGN item 13, spec §4.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.deployments.lifecycle import (
    ALLOWED_FROM,
    Lifecycle,
    Transition,
    TransitionRefused,
)
from catalyst_api.deployments.models import (
    Deployment,
    DeploymentRequest,
    FailureStage,
    Result,
    Status,
)
from catalyst_api.deployments.ports import Phase1Outcome
from catalyst_api.provisioner import Phase0Outputs
from catalyst_api.store import RecordStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 2, tzinfo=UTC)

PHASE0 = {Status.PENDING, Status.PROVISIONING, Status.TOFU_APPLYING, Status.FLUX_BOOTSTRAPPING}
RUNNING = PHASE0 | {Status.PHASE1_WATCHING, Status.DESTROYING}
SETTLED = {Status.PHASE1_WATCHING, Status.READY, Status.FAILED}

# transition → (statuses it is accepted from, the status it leads to; None = unchanged)
TABLE: dict[Transition, tuple[set[Status], Status | None]] = {
    Transition.PHASE0_SUCCEEDED: (PHASE0, Status.PHASE1_WATCHING),
    Transition.DNS_COMMITTED: ({Status.PHASE1_WATCHING}, None),
    Transition.FAIL: (RUNNING, Status.FAILED),
    Transition.BEGIN_RETRY: (SETTLED, Status.PROVISIONING),
    Transition.BEGIN_DESTROY: (SETTLED, Status.DESTROYING),
    Transition.DESTROYED: ({Status.DESTROYING}, Status.DESTROYED),
    Transition.KUBECONFIG_CAPTURED: (set(Status), None),
    Transition.WATCH_PHASE1: (SETTLED, Status.PHASE1_WATCHING),
    Transition.PHASE1_FINISHED: ({Status.PHASE1_WATCHING}, Status.READY),
}

OUTPUTS = Phase0Outputs(
    control_plane_ip="10.0.0.1",
    load_balancer_ip="10.0.0.2",
    sovereign_fqdn="x.example",
    console_url="https://console.x.example",
    gitops_repo_url="https://gitea.x.example",
)


def _apply(lifecycle: Lifecycle, dep: Deployment, transition: Transition) -> Awaitable[None]:
    calls: dict[Transition, Callable[[], Awaitable[None]]] = {
        Transition.PHASE0_SUCCEEDED: lambda: lifecycle.phase0_succeeded(dep, OUTPUTS),
        Transition.DNS_COMMITTED: lambda: lifecycle.dns_committed(dep),
        Transition.FAIL: lambda: lifecycle.fail(dep, FailureStage.PHASE0, "boom"),
        Transition.BEGIN_RETRY: lambda: lifecycle.begin_retry(dep),
        Transition.BEGIN_DESTROY: lambda: lifecycle.begin_destroy(dep),
        Transition.DESTROYED: lambda: lifecycle.destroyed(dep),
        Transition.KUBECONFIG_CAPTURED: lambda: lifecycle.kubeconfig_captured(dep, "/k/x.yaml"),
        Transition.WATCH_PHASE1: lambda: lifecycle.watch_phase1(dep),
        Transition.PHASE1_FINISHED: lambda: lifecycle.phase1_finished(
            dep, Phase1Outcome(states={"cilium": "installed"}, outcome="ready")
        ),
    }
    return calls[transition]()


class CountingStore(RecordStore):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.saved: list[dict[str, Any]] = []

    async def save(self, deployment_id: str, record: dict[str, Any]) -> bool:
        self.saved.append(record)
        return await super().save(deployment_id, record)


def _dep(status: Status) -> Deployment:
    return Deployment(
        id="0123456789abcdef",
        status=status,
        request=DeploymentRequest(sovereign_fqdn="x.example"),
        started_at=T0,
        result=Result(sovereign_fqdn="x.example"),
        error="earlier" if status is Status.FAILED else "",
    )


PAIRS = [(status, transition) for transition in Transition for status in Status]


def test_the_table_covers_every_transition() -> None:
    assert set(TABLE) == set(Transition)
    assert {t: set(s) for t, s in ALLOWED_FROM.items()} == {t: s for t, (s, _) in TABLE.items()}


@pytest.mark.parametrize(
    ("status", "transition"),
    PAIRS,
    ids=[
        f"{t.value}-from-{s.value}-{'allowed' if s in TABLE[t][0] else 'refused'}" for s, t in PAIRS
    ],
)
async def test_transition_from_status(
    status: Status, transition: Transition, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path)
    store.open()
    lifecycle = Lifecycle(records=store, clock=lambda: NOW)
    dep = _dep(status)
    allowed, leads_to = TABLE[transition]
    if status not in allowed:
        before = dep.to_record()
        with pytest.raises(TransitionRefused):
            await _apply(lifecycle, dep, transition)
        assert dep.to_record() == before
        assert store.saved == []
        return
    await _apply(lifecycle, dep, transition)
    assert dep.status is (leads_to or status)
    unchanged = transition is Transition.WATCH_PHASE1 and status is Status.PHASE1_WATCHING
    assert len(store.saved) == (0 if unchanged else 1)  # persisted once
    if store.saved:
        assert store.saved[-1] == dep.to_record()
    if leads_to in (Status.FAILED, Status.DESTROYED, Status.READY):
        assert dep.finished_at == NOW
    if leads_to in (Status.PROVISIONING, Status.DESTROYING):
        assert dep.finished_at is None
        assert dep.error == ""
        assert dep.failure_stage is None


async def test_a_crash_is_recorded_only_while_a_run_is_in_progress(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    store.open()
    lifecycle = Lifecycle(records=store, clock=lambda: NOW)
    waiting = _dep(Status.PHASE1_WATCHING)
    assert await lifecycle.crashed(waiting, "RuntimeError: bug")
    assert (waiting.status, waiting.failure_stage) == (Status.FAILED, FailureStage.KUBECONFIG_WAIT)
    assert waiting.error == "RuntimeError: bug"
    uncommitted = _dep(Status.PHASE1_WATCHING)
    uncommitted.pdm_pool_domain = "omani.works"
    assert await lifecycle.crashed(uncommitted, "RuntimeError: bug")
    assert uncommitted.failure_stage is FailureStage.DNS
    ready = _dep(Status.READY)
    assert not await lifecycle.crashed(ready, "RuntimeError: bug")
    assert ready.status is Status.READY
    assert len(store.saved) == 2
