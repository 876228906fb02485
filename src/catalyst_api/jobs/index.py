"""`JobsIndex`: one deployment's jobs and executions in memory, with the mutation rules of
spec §9.2 (upsert merge, start / finish execution, line numbering).

The store loads an index, applies any number of mutations under the deployment's lock and
commits once (log lines first, then `index.json`), which is how the bridge batches events.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from .models import EXECUTION_TERMINAL, UNBATCHED, BatchCounts, Execution, Job, LogLine

__all__ = ["ExecutionNotFound", "InvalidJobsRequest", "JobNotFound", "JobsError", "JobsIndex"]


class JobsError(Exception):
    """Base of the jobs store's errors."""


class JobNotFound(JobsError):
    """No job with that id or name."""


class ExecutionNotFound(JobsError):
    """No execution with that id."""


class InvalidJobsRequest(JobsError):
    """A malformed deployment id, or a non-terminal status for finish."""


def _now() -> datetime:
    return datetime.now(UTC)


_LEVELS = {"DEBUG", "INFO", "WARN", "ERROR"}


class JobsIndex:
    """Jobs (insertion order) and executions of one deployment, plus unflushed log lines."""

    def __init__(self, deployment_id: str) -> None:
        self.deployment_id = deployment_id
        self.jobs: dict[str, Job] = {}
        self.executions: list[Execution] = []
        self._by_exec: dict[str, Execution] = {}
        self.pending_lines: dict[str, list[LogLine]] = {}
        self.dirty = False

    # --- (de)serialisation -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, deployment_id: str, raw: dict[str, Any]) -> JobsIndex:
        index = cls(deployment_id)
        for item in raw.get("jobs") or []:
            if isinstance(item, dict):
                job = Job.from_dict(item)
                index.jobs[job.id] = job
        for item in raw.get("executions") or []:
            if isinstance(item, dict):
                execution = Execution.from_dict(item)
                index.executions.append(execution)
                index._by_exec[execution.id] = execution
        return index

    def to_dict(self) -> dict[str, Any]:
        return {
            "deploymentId": self.deployment_id,
            "jobs": [job.to_dict() for job in self.jobs.values()],
            "executions": [execution.to_dict() for execution in self.executions],
        }

    # --- lookups -------------------------------------------------------------------------------

    def job_id(self, job_name: str) -> str:
        return f"{self.deployment_id}:{job_name}"

    def job_named(self, job_name: str) -> Job | None:
        return self.jobs.get(self.job_id(job_name))

    def find_job(self, key: str) -> Job:
        """By full id (`<depId>:<name>`) or bare job name."""
        job = self.jobs.get(key) or self.jobs.get(self.job_id(key))
        if job is None:
            raise JobNotFound(key)
        return job

    def execution(self, execution_id: str) -> Execution:
        found = self._by_exec.get(execution_id)
        if found is None:
            raise ExecutionNotFound(execution_id)
        return found

    def executions_of(self, job_id: str) -> list[Execution]:
        """A job's executions, newest `startedAt` first."""
        mine = [e for e in self.executions if e.job_id == job_id]
        return sorted(mine, key=lambda e: e.started_at, reverse=True)

    def sorted_jobs(self) -> list[Job]:
        """`startedAt` DESC; jobs without it last; ties and both-missing by `jobName` ASC."""
        started = [j for j in self.jobs.values() if j.started_at is not None]
        unstarted = [j for j in self.jobs.values() if j.started_at is None]
        started.sort(key=lambda j: j.job_name)
        started.sort(key=lambda j: j.started_at or _now(), reverse=True)
        unstarted.sort(key=lambda j: j.job_name)
        return started + unstarted

    def batches(self) -> list[BatchCounts]:
        """Per `batchId` in first-appearance order; `""` status counts as pending."""
        counts: dict[str, BatchCounts] = {}
        for job in self.jobs.values():
            batch = job.batch_id or UNBATCHED
            entry = counts.setdefault(batch, BatchCounts(batch))
            entry.total += 1
            status = job.status or "pending"
            if status == "succeeded":
                entry.succeeded += 1
            elif status == "failed":
                entry.failed += 1
            elif status == "running":
                entry.running += 1
            elif status == "pending":
                entry.pending += 1
        return list(counts.values())

    # --- mutations -----------------------------------------------------------------------------

    def upsert_job(self, job: Job) -> Job:
        """Insert or merge: new values win, except a missing `startedAt` / `finishedAt` /
        `latestExecutionId` / `dependsOn` / `blockedBy` (None) keeps the stored one."""
        job.id = self.job_id(job.job_name)
        job.deployment_id = self.deployment_id
        prev = self.jobs.get(job.id)
        if prev is not None:
            if job.started_at is None:
                job.started_at = prev.started_at
            if job.finished_at is None:
                job.finished_at = prev.finished_at
            if not job.latest_execution_id:
                job.latest_execution_id = prev.latest_execution_id
            if job.depends_on is None:
                job.depends_on = prev.depends_on
            if job.blocked_by is None:
                job.blocked_by = prev.blocked_by
        if job.depends_on is None:
            job.depends_on = []
        if job.blocked_by is None:
            job.blocked_by = []
        job.recompute_duration()
        self.jobs[job.id] = job
        self.dirty = True
        return job

    def start_execution(self, job_id: str, started_at: datetime | None = None) -> Execution:
        """A new running execution; the job becomes `running` and points at it."""
        when = started_at or _now()
        execution = Execution(
            id=secrets.token_hex(16),
            job_id=job_id,
            deployment_id=self.deployment_id,
            status="running",
            started_at=when,
        )
        self.executions.append(execution)
        self._by_exec[execution.id] = execution
        job = self.jobs.get(job_id)
        if job is not None:
            if job.started_at is None:
                job.started_at = when
            job.status = "running"
            job.latest_execution_id = execution.id
        self.dirty = True
        return execution

    def finish_execution(
        self, execution_id: str, status: str, finished_at: datetime | None = None
    ) -> Execution:
        """Mark `succeeded` / `failed`; the job takes the status, `finishedAt`, `durationMs`."""
        if status not in EXECUTION_TERMINAL:
            raise InvalidJobsRequest(f"finish status must be succeeded or failed, got {status!r}")
        execution = self.execution(execution_id)
        when = finished_at or _now()
        execution.status = status
        execution.finished_at = when
        job = self.jobs.get(execution.job_id)
        if job is not None:
            job.status = status
            job.finished_at = when
            job.recompute_duration()
        self.dirty = True
        return execution

    def append_lines(self, execution_id: str, lines: list[LogLine]) -> int:
        """Number the lines after `lineCount` (default timestamp now, level INFO); returns the
        new `lineCount`. The lines reach disk on commit."""
        execution = self.execution(execution_id)
        pending = self.pending_lines.setdefault(execution_id, [])
        for line in lines:
            execution.line_count += 1
            line.line_number = execution.line_count
            if line.timestamp is None:
                line.timestamp = _now()
            if line.level not in _LEVELS:
                line.level = "INFO"
            pending.append(line)
        self.dirty = True
        return execution.line_count
