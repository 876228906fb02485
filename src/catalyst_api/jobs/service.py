"""The async face of the jobs store: the endpoints' reads and the per-deployment bridge lanes.

Blocking file I/O never runs on the event loop: reads go through `asyncio.to_thread`, and
events reach the store through one lane per deployment — a queue drained by a worker task
that applies everything queued so far in one store transaction in a thread (group commit: one
fsync per touched log file and one index rewrite per batch). Order per deployment is the emit
order; a seed is queued like an event, so it lands after the events emitted before it.
Consequence: a read right after an emit may not show it yet (milliseconds); `flush()` waits
for a deployment's lane, and a Phase 1 run calls it before recording its outcome
(`deployments.runs`), so the jobs view agrees with a final status and `event: done`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from ..errors import InternalError, InvalidRequest, NotFound
from ..events import Event
from .bridge import DeploymentBridge, relevant
from .index import ExecutionNotFound, InvalidJobsRequest, JobNotFound, JobsError, JobsIndex
from .ports import JobsStorage

__all__ = ["JobsBridges", "JobsService", "SeedItems"]

log = structlog.get_logger(__name__)

SeedItems = list[Mapping[str, Any]]
_Item = tuple[Event | None, SeedItems | None, "asyncio.Future[tuple[int, int]] | None"]


@dataclass
class _Lane:
    bridge: DeploymentBridge
    queue: deque[_Item] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class JobsBridges:
    """One lane (bridge cursors + queue + worker) per deployment, created on first use."""

    def __init__(self, store: JobsStorage, *, max_batch: int = 512) -> None:
        self.store = store
        self.max_batch = max_batch
        self._lanes: dict[str, _Lane] = {}
        self._closed = False

    def _lane(self, deployment_id: str) -> _Lane:
        lane = self._lanes.get(deployment_id)
        if lane is None:
            lane = self._lanes[deployment_id] = _Lane(DeploymentBridge(deployment_id))
        return lane

    def forward(self, deployment_id: str, event: Event) -> None:
        """Queue an emitted event (non-blocking; irrelevant events are dropped at once)."""
        if self._closed or not relevant(event):
            return
        self._enqueue(deployment_id, (event, None, None))

    def seed(self, deployment_id: str, items: SeedItems) -> asyncio.Future[tuple[int, int]]:
        """Queue a seed from a watch snapshot; the future gets (jobs written, executions
        created), or (0, 0) when the store failed (logged)."""
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_result((0, 0))
            return future
        self._enqueue(deployment_id, (None, list(items), future))
        return future

    def _enqueue(self, deployment_id: str, item: _Item) -> None:
        lane = self._lane(deployment_id)
        lane.queue.append(item)
        if lane.worker is None or lane.worker.done():
            lane.worker = asyncio.get_running_loop().create_task(
                self._drain(deployment_id, lane), name=f"jobs:{deployment_id}:bridge"
            )

    async def _drain(self, deployment_id: str, lane: _Lane) -> None:
        while lane.queue:
            batch = [lane.queue.popleft() for _ in range(min(len(lane.queue), self.max_batch))]
            try:
                results = await asyncio.to_thread(self._apply, deployment_id, lane.bridge, batch)
            except Exception as exc:  # the store failed: log, never take the feed down
                log.warning("jobs bridge batch failed", deployment_id=deployment_id, error=str(exc))
                results = [(0, 0)] * len(batch)
            for (_, _, future), result in zip(batch, results, strict=True):
                if future is not None and not future.done():
                    future.set_result(result)

    def _apply(
        self, deployment_id: str, bridge: DeploymentBridge, batch: list[_Item]
    ) -> list[tuple[int, int]]:
        results: list[tuple[int, int]] = []
        with self.store.transaction(deployment_id) as index:
            for event, items, _ in batch:
                result = (0, 0)
                try:
                    if event is not None:
                        bridge.apply(index, event)
                    elif items is not None:
                        result = bridge.seed(index, items)
                except JobsError as exc:
                    log.warning(
                        "jobs bridge skipped an event", deployment_id=deployment_id, error=str(exc)
                    )
                results.append(result)
        return results

    async def flush(self, deployment_id: str | None = None) -> None:
        """Wait until every queued item (of one deployment, or all) is applied."""
        lanes = [self._lanes[deployment_id]] if deployment_id in self._lanes else []
        if deployment_id is None:
            lanes = list(self._lanes.values())
        for lane in lanes:
            while lane.worker is not None and not lane.worker.done():
                await asyncio.shield(lane.worker)

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop accepting events, give queued work `grace` seconds, then cancel."""
        self._closed = True
        workers = [
            lane.worker for lane in self._lanes.values() if lane.worker and not lane.worker.done()
        ]
        if not workers:
            return
        _, pending = await asyncio.wait(workers, timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class JobsService:
    """Reads for the jobs endpoints (spec §9.4), mapped to the API's errors."""

    def __init__(self, store: JobsStorage, bridges: JobsBridges) -> None:
        self.store = store
        self.bridges = bridges

    async def list_jobs(self, deployment_id: str) -> list[dict[str, Any]]:
        index = await self._read(deployment_id)
        return [job.to_dict() for job in index.sorted_jobs()]

    async def get_job(self, deployment_id: str, job_key: str) -> dict[str, Any]:
        index = await self._read(deployment_id)
        try:
            job = index.find_job(job_key)
        except JobNotFound:
            raise NotFound("job-not-found") from None
        return {
            "job": job.to_dict(),
            "executions": [e.to_dict() for e in index.executions_of(job.id)],
        }

    async def batches(self, deployment_id: str) -> list[dict[str, Any]]:
        index = await self._read(deployment_id)
        return [batch.to_dict() for batch in index.batches()]

    async def page_logs(self, execution_id: str, from_line: int, limit: int) -> dict[str, object]:
        try:
            return await asyncio.to_thread(self.store.page_logs, execution_id, from_line, limit)
        except ExecutionNotFound:
            raise NotFound("execution-not-found") from None
        except (JobsError, OSError) as exc:
            log.warning("jobs store read failed", error=str(exc))
            raise InternalError("store-read-failed") from None

    async def _read(self, deployment_id: str) -> JobsIndex:
        try:
            return await asyncio.to_thread(self.store.read, deployment_id)
        except InvalidJobsRequest:
            raise InvalidRequest(
                "missing-depId", "deployment id path segment is required"
            ) from None
        except (JobsError, OSError) as exc:
            log.warning("jobs store read failed", deployment_id=deployment_id, error=str(exc))
            raise InternalError("store-read-failed") from None
