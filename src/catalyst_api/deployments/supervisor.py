"""Owner of background deployment work: named tasks, one run per deployment, clean shutdown.

A run's own `finally` block records its outcome; the supervisor only keeps the tasks alive,
logs a crash with the deployment id (so one run's bug never takes the others down) and, on
shutdown, cancels what is left and names the tasks that would not stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

__all__ = ["RunSupervisor"]

log = structlog.get_logger(__name__)


class RunSupervisor:
    """Holds every background task; at most one *run* per deployment."""

    def __init__(self) -> None:
        self._runs: dict[str, asyncio.Task[None]] = {}

    def is_running(self, deployment_id: str) -> bool:
        task = self._runs.get(deployment_id)
        return task is not None and not task.done()

    def start_run(
        self, deployment_id: str, name: str, coro: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        """Start the deployment's run; the caller has checked `is_running` first."""
        if self.is_running(deployment_id):
            coro.close()
            raise RuntimeError(f"deployment {deployment_id} already has a run")
        task = asyncio.create_task(self._guard(deployment_id, coro), name=name)
        self._runs[deployment_id] = task
        task.add_done_callback(lambda t: self._forget_run(deployment_id, t))
        return task

    def _forget_run(self, deployment_id: str, task: asyncio.Task[None]) -> None:
        if self._runs.get(deployment_id) is task:
            del self._runs[deployment_id]

    @staticmethod
    async def _guard(deployment_id: str, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task crashed", deployment_id=deployment_id)

    async def aclose(self, grace: float = 10.0) -> None:
        """Cancel every task, wait up to `grace` seconds, log the ones that did not stop."""
        tasks = [t for t in self._runs.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            log.error("task did not stop on shutdown", task=task.get_name())
