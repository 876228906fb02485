"""Owner of the deployment runs: it begins, guards and ends every one (DESIGN item 13).

`RunSupervisor.start(deployment, kind, body)` is the only way a run starts: it marks the
deployment's stream active (SSE clients stay attached), runs `body` in a task named
`deploy:<id>:<kind>`, and whatever happens ends the stream (`event: done`). Outcomes the body did
not record itself are recorded here, through the lifecycle's shielded save:

- the body raises an unexpected exception → the crash is logged with the deployment id and the
  deployment is `failed` with the exception's message at the stage it was in (so retry and
  destroy are accepted again; one run's bug never takes the others down);
- the run is cancelled (shutdown) → `Lifecycle.interrupted`: Phase 0 in flight is orphaned,
  a destroy must be run again, a Phase 1 watch resumes at the next start.

With several replicas (PostgreSQL backend) a run first takes the deployment's lease
(`RunLeases`): exactly one replica runs a deployment's work at a time. A run whose lease is held
by another replica does not start; the lease is released when the run ends (after its events
are committed), and a run whose lease was lost (`lost()`: the heartbeat found another holder)
is cancelled without recording anything, since its new holder owns the record now.

Shutdown is staged (docs/RUNBOOK.md §Shutdown): `stop()` refuses new runs, cancels the running
ones (the tofu runner interrupts OpenTofu: SIGINT, then SIGTERM and SIGKILL after
`CATALYST_TOFU_INTERRUPT_GRACE` each) and waits up to `CATALYST_SHUTDOWN_RUNS_GRACE`, then names
the tasks that would not stop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any, Protocol

import structlog

from ..errors import ServiceUnavailable
from ..events import EventHub
from .lifecycle import Lifecycle
from .models import Deployment

__all__ = ["RunKind", "RunLeases", "RunSupervisor"]

RUN_EPILOGUE_GRACE = 5.0
"""Seconds an action waits for a finished run's epilogue (event commit, lease release)."""

log = structlog.get_logger(__name__)


class RunKind(StrEnum):
    """What a run does; the last part of its task name."""

    PHASE0 = "phase0"  # create or Phase 0 retry: Phase 0 → DNS → kubeconfig → Phase 1
    PHASE1 = "phase1"  # a late kubeconfig postback: Phase 1 only
    RESUME = "resume"  # after a restart: the kubeconfig wait and Phase 1
    DESTROY = "destroy"


class RunLeases(Protocol):
    """Per-deployment leases shared by the replicas."""

    async def take(self, deployment_id: str) -> bool:
        """Take (or renew) the lease; False when another replica holds a live one."""
        ...

    async def release(self, deployment_id: str) -> None: ...


_LEASE_RETRY = (0.1, 2.0)


class RunSupervisor:
    """Holds every deployment run; at most one per deployment (per cluster of replicas when
    `leases` is given)."""

    def __init__(
        self,
        *,
        hub: EventHub,
        lifecycle: Lifecycle,
        grace: float = 10.0,
        leases: RunLeases | None = None,
    ) -> None:
        self._hub = hub
        self._lifecycle = lifecycle
        self._grace = grace
        self._leases = leases
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._unstarted: list[Deployment] = []  # cancelled before their first step
        self._lost: set[str] = set()
        self._owned: set[str] = set()  # leases held here (from `acquire` to the release)
        # Several replicas: called with a deployment's id once its run ended and its lease
        # was released (`ReplicaSync.adopt_kubeconfig`: a kubeconfig PUT on another replica
        # in the run's last moments must not be left unacted on).
        self.after_run: Callable[[str], Awaitable[None]] | None = None
        self._released: set[str] = set()
        self._after: set[asyncio.Task[None]] = set()

    def owns(self, deployment_id: str) -> bool:
        """Whether this replica holds the deployment's lease (from just before its record
        says a run is due until the run ended), or runs it."""
        return deployment_id in self._owned or self.is_running(deployment_id)

    def disown(self, deployment_id: str) -> None:
        """The lease was given back without a run (restart rules started nothing)."""
        self._owned.discard(deployment_id)

    def running(self) -> list[str]:
        """Ids of the deployments with a run here (their leases need renewing)."""
        return [d for d, t in self._runs.items() if not t.done()]

    async def acquire(self, deployment_id: str) -> bool:
        """Take the deployment's lease now (before its record says a run is due); True
        without leases. Retries while the database is unreachable."""
        if self._leases is None:
            return True
        delay = _LEASE_RETRY[0]
        while True:
            try:
                taken = await self._leases.take(deployment_id)
                if taken:
                    self._owned.add(deployment_id)
                return taken
            except Exception as exc:  # the database's errors: retry until it answers
                log.warning(
                    "lease take failed; retrying",
                    deployment_id=deployment_id,
                    error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
                await asyncio.sleep(delay)
                delay = min(_LEASE_RETRY[1], delay * 2)

    def lost(self, deployment_ids: set[str]) -> None:
        """Another replica holds these deployments' leases now: cancel their runs here
        without recording anything."""
        for deployment_id in deployment_ids:
            task = self._runs.get(deployment_id)
            if task is not None and not task.done():
                log.error("run lease lost; cancelling the run here", deployment_id=deployment_id)
                self._lost.add(deployment_id)
                self._owned.discard(deployment_id)
                task.cancel()

    def is_running(self, deployment_id: str) -> bool:
        task = self._runs.get(deployment_id)
        return task is not None and not task.done()

    async def settle(self, deployment_id: str, timeout: float = RUN_EPILOGUE_GRACE) -> None:
        """Wait (at most `timeout` s) for a run whose record already shows its outcome: it is
        only committing its events and releasing its lease, so an action a client sends right
        after seeing `ready` or `failed` is not refused as if a phase were still running."""
        task = self._runs.get(deployment_id)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)

    def check_accepting(self) -> None:
        """503 `shutting-down` once `stop()` was called: actions ask before they change
        anything, so a refused one leaves no record behind."""
        if self._stopping:
            raise ServiceUnavailable(
                "shutting-down", "catalyst-api is shutting down; try again on the next instance"
            )

    def start(
        self, dep: Deployment, kind: RunKind, body: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        """Begin the deployment's run; the caller has checked `is_running` first.
        Refused with 503 `shutting-down` once `stop()` was called."""
        if self._stopping:
            body.close()
            self.check_accepting()
        if self.is_running(dep.id):
            body.close()
            raise RuntimeError(f"deployment {dep.id} already has a run")
        self._hub.stream(dep.id).begin_run()
        task = asyncio.create_task(
            self._supervise(dep, kind, body), name=f"deploy:{dep.id}:{kind.value}"
        )
        self._runs[dep.id] = task
        task.add_done_callback(lambda t: self._finished(dep, body, t))
        return task

    def _finished(
        self, dep: Deployment, body: Coroutine[Any, Any, None], task: asyncio.Task[None]
    ) -> None:
        if self._runs.get(dep.id) is task:
            del self._runs[dep.id]
        if dep.id in self._released:
            self._released.discard(dep.id)
            self._spawn_after_run(dep.id)
        if inspect.getcoroutinestate(body) == inspect.CORO_CREATED:
            # Cancelled before its first step: `_supervise` never ran, so `stop()` records
            # the interruption and ends the stream in its place.
            body.close()
            self._unstarted.append(dep)

    async def _supervise(
        self, dep: Deployment, kind: RunKind, body: Coroutine[Any, Any, None]
    ) -> None:
        if not await self.acquire(dep.id):
            body.close()
            log.warning(
                "another replica runs this deployment; run not started here",
                deployment_id=dep.id,
                kind=kind.value,
            )
            return
        lost = False
        try:
            await body
        except asyncio.CancelledError:
            lost = dep.id in self._lost
            self._lost.discard(dep.id)
            if not lost:
                try:
                    await self._lifecycle.interrupted(dep)
                except Exception:
                    log.exception("could not record an interrupted run", deployment_id=dep.id)
            raise
        except Exception as exc:
            log.exception("deployment run crashed", deployment_id=dep.id, kind=kind.value)
            message = f"catalyst-api {kind.value} run failed unexpectedly: {_describe(exc)}"
            try:
                await self._lifecycle.crashed(dep, message)
            except Exception:
                log.exception("could not record a crashed run", deployment_id=dep.id)
        finally:
            if not lost:
                self._hub.stream(dep.id).end_run()
                await self._release(dep.id)

    def _spawn_after_run(self, deployment_id: str) -> None:
        if self.after_run is None or self._stopping or self.is_running(deployment_id):
            return
        check = asyncio.get_running_loop().create_task(
            self._after_run(deployment_id), name=f"deploy:{deployment_id}:after-run"
        )
        self._after.add(check)
        check.add_done_callback(self._after.discard)

    async def _after_run(self, deployment_id: str) -> None:
        assert self.after_run is not None
        try:
            await self.after_run(deployment_id)
        except Exception as exc:  # the database is down: the lease keeper's rules remain
            log.warning("after-run check failed", deployment_id=deployment_id, error=str(exc))

    async def _release(self, deployment_id: str) -> None:
        """Commit the run's events, then release its lease (other replicas then see the run
        end after its last event)."""
        if self._leases is None:
            return
        self._owned.discard(deployment_id)
        try:
            async with asyncio.timeout(5):
                await self._hub.eventlog.flush()
                await self._leases.release(deployment_id)
            self._released.add(deployment_id)
        except Exception as exc:  # it expires on its own
            log.warning("lease release failed", deployment_id=deployment_id, error=str(exc))

    async def stop(self) -> None:
        """Refuse new runs, cancel the running ones and wait up to the grace; a second call
        returns at once (the staged shutdown calls it before the lifespan unwinds)."""
        if self._stopping:
            return
        self._stopping = True
        for check in list(self._after):
            check.cancel()
        tasks = [t for t in self._runs.values() if not t.done()] + list(self._after)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        log.info("stopping deployment runs", count=len(tasks), grace=self._grace)
        _, pending = await asyncio.wait(tasks, timeout=self._grace)
        for task in pending:
            log.error("run did not stop within the shutdown grace", task=task.get_name())
        while self._unstarted:
            dep = self._unstarted.pop()
            try:
                await self._lifecycle.interrupted(dep)
            except Exception:
                log.exception("could not record an interrupted run", deployment_id=dep.id)
            self._hub.stream(dep.id).end_run()

    async def aclose(self) -> None:
        await self.stop()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
