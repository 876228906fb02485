"""Scripted backends for the deployment service seams (used where the real one is not the
subject of the test). They obey the same protocols the real provisioner / Phase 1 do."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from catalyst_api.deployments import Phase1Outcome
from catalyst_api.events import Emit, Event
from catalyst_api.provisioner import Phase0Outputs, PlannedChange, ProvisionError, ProvisionJob


async def _wait_threading_event(gate: threading.Event, timeout: float = 30.0) -> None:
    """Wait for a test-thread Event without parking a worker thread (cancellable at once);
    a gate never opened is a test bug: fail loudly instead of carrying on as if it opened."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not gate.is_set():
        if loop.time() > deadline:
            raise TimeoutError(f"test gate not opened within {timeout}s")
        await asyncio.sleep(0.01)


@dataclass
class ScriptedProvisioner:
    """Emits `lines` tofu events (with `delay` between), optionally waits for `gate`, then
    returns outputs or raises `fail_with`."""

    lines: int = 3
    delay: float = 0.0
    fail_with: str | None = None
    gate: threading.Event | None = None
    lb_ip: str = "203.0.113.20"
    jobs: list[ProvisionJob] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    state_fqdns: set[str] = field(default_factory=set)
    on_applied: list[object] = field(default_factory=list)
    postback_base: str | None = None  # like cloud-init: PUT a kubeconfig after Phase 0
    kubeconfig: bytes = b"apiVersion: v1\nkind: Config\nclusters: []\n"

    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs:
        self.jobs.append(job)
        emit(Event(phase="tofu-init", message="Initialising OpenTofu working directory"))
        for i in range(self.lines):
            if self.delay:
                await asyncio.sleep(self.delay)
            emit(Event(phase="tofu", message=f"line {i}"))
        if self.gate is not None:
            await _wait_threading_event(self.gate)
        if self.fail_with is not None:
            raise ProvisionError(self.fail_with)
        self.state_fqdns.add(job.sovereign_fqdn)
        for hook in self.on_applied:
            result = hook(job)  # type: ignore[operator]
            if asyncio.iscoroutine(result):
                await result
        if self.postback_base is not None:
            asyncio.get_running_loop().create_task(self._postback(job))
        fqdn = job.sovereign_fqdn
        return Phase0Outputs(
            control_plane_ip="203.0.113.10",
            load_balancer_ip=self.lb_ip,
            sovereign_fqdn=fqdn,
            console_url=f"https://console.{fqdn}",
            gitops_repo_url=f"https://gitea.{fqdn}",
            raw={},
        )

    async def _postback(self, job: ProvisionJob) -> None:
        token = job.kubeconfig_bearer_token.get_secret_value()
        async with httpx.AsyncClient(timeout=10) as client:
            await client.put(
                f"{self.postback_base}/api/v1/deployments/{job.deployment_id}/kubeconfig",
                content=self.kubeconfig,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-yaml"},
            )

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        emit(Event(phase="tofu-destroy", message="destroying"))
        self.destroyed.append(job.sovereign_fqdn)
        self.state_fqdns.discard(job.sovereign_fqdn)

    def has_state(self, fqdn: str, *, workdir: str = "") -> bool:
        return fqdn in self.state_fqdns

    def workdir_for(self, fqdn: str) -> Path:
        return Path("/nonexistent") / fqdn


@dataclass
class ScriptedPhase1:
    """Emits one installed event per component and reports them."""

    components: tuple[str, ...] = ("cilium", "cert-manager", "flux")
    fail: tuple[str, ...] = ()
    gate: threading.Event | None = None
    kubeconfigs: list[bytes] = field(default_factory=list)
    delay: float = 0.0  # before each component's event (a Phase 1 that takes a while)

    async def run(
        self,
        *,
        deployment_id: str,
        kubeconfig: bytes,
        emit: Emit,
        known_states: Mapping[str, str] | None = None,
    ) -> Phase1Outcome:
        self.kubeconfigs.append(kubeconfig)
        known = dict(known_states or {})
        if self.gate is not None:
            await _wait_threading_event(self.gate)
        states: dict[str, str] = {}
        for name in self.components:
            if self.delay and known.get(name) is None:
                await asyncio.sleep(self.delay)
            state = "failed" if name in self.fail else "installed"
            level = "error" if state == "failed" else "info"
            if known.get(name) != state:
                emit(
                    Event(
                        phase="component", level=level, component=name, state=state, message=state
                    )
                )
            states[name] = state
        return Phase1Outcome(states=states, outcome="failed" if self.fail else "ready")


class GatedPlanner:
    """A plan-preview planner that holds every plan until `gate` opens (deterministic
    concurrency tests), then answers `changes`."""

    def __init__(self, changes: list[PlannedChange] | None = None) -> None:
        self.gate = threading.Event()
        self.started = 0
        self.changes = changes or []

    async def plan(self, job: ProvisionJob) -> list[PlannedChange]:
        self.started += 1
        await _wait_threading_event(self.gate)
        return list(self.changes)
