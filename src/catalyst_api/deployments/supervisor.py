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

Shutdown is staged (docs/RUNBOOK.md §Shutdown): `stop()` refuses new runs, cancels the running
ones (the tofu runner interrupts OpenTofu: SIGINT, then SIGTERM and SIGKILL after
`CATALYST_TOFU_INTERRUPT_GRACE` each) and waits up to `CATALYST_SHUTDOWN_RUNS_GRACE`, then names
the tasks that would not stop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from enum import StrEnum
from typing import Any

import structlog

from ..errors import ServiceUnavailable
from ..events import EventHub
from .lifecycle import Lifecycle
from .models import Deployment

__all__ = ["RunKind", "RunSupervisor"]

log = structlog.get_logger(__name__)


class RunKind(StrEnum):
    """What a run does; the last part of its task name."""

    PHASE0 = "phase0"  # create or Phase 0 retry: Phase 0 → DNS → kubeconfig → Phase 1
    PHASE1 = "phase1"  # a late kubeconfig postback: Phase 1 only
    RESUME = "resume"  # after a restart: the kubeconfig wait and Phase 1
    DESTROY = "destroy"


class RunSupervisor:
    """Holds every deployment run; at most one per deployment."""

    def __init__(self, *, hub: EventHub, lifecycle: Lifecycle, grace: float = 10.0) -> None:
        self._hub = hub
        self._lifecycle = lifecycle
        self._grace = grace
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._unstarted: list[Deployment] = []  # cancelled before their first step

    def is_running(self, deployment_id: str) -> bool:
        task = self._runs.get(deployment_id)
        return task is not None and not task.done()

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
        if inspect.getcoroutinestate(body) == inspect.CORO_CREATED:
            # Cancelled before its first step: `_supervise` never ran, so `stop()` records
            # the interruption and ends the stream in its place.
            body.close()
            self._unstarted.append(dep)

    async def _supervise(
        self, dep: Deployment, kind: RunKind, body: Coroutine[Any, Any, None]
    ) -> None:
        try:
            await body
        except asyncio.CancelledError:
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
            self._hub.stream(dep.id).end_run()

    async def stop(self) -> None:
        """Refuse new runs, cancel the running ones and wait up to the grace; a second call
        returns at once (the staged shutdown calls it before the lifespan unwinds)."""
        if self._stopping:
            return
        self._stopping = True
        tasks = [t for t in self._runs.values() if not t.done()]
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
