"""Wire shapes of spec §9.1: Job, Execution, LogLine, BatchSummary, LogPage; Go time formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..timefmt import format_rfc3339_nano as format_nano
from ..timefmt import parse_time

__all__ = [
    "BATCH_BOOTSTRAP_KIT",
    "BATCH_DAY2",
    "DEFAULT_PAGE",
    "EXECUTION_TERMINAL",
    "INSTALL_PREFIX",
    "MAX_PAGE",
    "MUTATION_PREFIX",
    "UNBATCHED",
    "BatchCounts",
    "Execution",
    "Job",
    "LogLine",
    "format_nano",
    "parse_time",
]

BATCH_BOOTSTRAP_KIT = "bootstrap-kit"
BATCH_DAY2 = "day-2-mutations"
INSTALL_PREFIX = "install-"
MUTATION_PREFIX = "mutation-"
UNBATCHED = "(unbatched)"
DEFAULT_PAGE = 500
MAX_PAGE = 5000
EXECUTION_TERMINAL = frozenset({"succeeded", "failed"})


def _duration_ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


@dataclass(slots=True)
class Job:
    """One unit of work (`install-<component>`, `mutation-…`). `depends_on=None` (and
    `blocked_by=None`) on an upsert means "keep what the job already has". `blocked_by`: the
    failed jobs a pending job waits for for good (issue 14; `blockedBy` only when non-empty)."""

    job_name: str
    app_id: str = ""
    batch_id: str = ""
    depends_on: list[str] | None = None
    status: str = "pending"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int = 0
    latest_execution_id: str = ""
    id: str = ""
    deployment_id: str = ""
    blocked_by: list[str] | None = None

    def recompute_duration(self) -> None:
        ms = _duration_ms(self.started_at, self.finished_at)
        if ms is not None:
            self.duration_ms = ms

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "deploymentId": self.deployment_id,
            "jobName": self.job_name,
            "appId": self.app_id,
            "batchId": self.batch_id,
            "dependsOn": list(self.depends_on or []),
            "status": self.status,
        }
        if self.started_at is not None:
            out["startedAt"] = format_nano(self.started_at)
        if self.finished_at is not None:
            out["finishedAt"] = format_nano(self.finished_at)
        out["durationMs"] = self.duration_ms
        if self.latest_execution_id:
            out["latestExecutionId"] = self.latest_execution_id
        if self.blocked_by:
            out["blockedBy"] = list(self.blocked_by)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Job:
        deps = raw.get("dependsOn")
        blocked = raw.get("blockedBy")
        return cls(
            id=str(raw.get("id") or ""),
            deployment_id=str(raw.get("deploymentId") or ""),
            job_name=str(raw.get("jobName") or ""),
            app_id=str(raw.get("appId") or ""),
            batch_id=str(raw.get("batchId") or ""),
            depends_on=[str(d) for d in deps] if isinstance(deps, list) else [],
            status=str(raw.get("status") or ""),
            started_at=parse_time(raw.get("startedAt")),
            finished_at=parse_time(raw.get("finishedAt")),
            duration_ms=int(raw.get("durationMs") or 0),
            latest_execution_id=str(raw.get("latestExecutionId") or ""),
            blocked_by=[str(b) for b in blocked] if isinstance(blocked, list) else [],
        )


@dataclass(slots=True)
class Execution:
    """One run of a job; its log lines live in `<execId>.log`."""

    id: str
    job_id: str
    deployment_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    line_count: int = 0

    @property
    def finished(self) -> bool:
        return self.status in EXECUTION_TERMINAL

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "jobId": self.job_id,
            "deploymentId": self.deployment_id,
            "status": self.status,
            "startedAt": format_nano(self.started_at),
        }
        if self.finished_at is not None:
            out["finishedAt"] = format_nano(self.finished_at)
        out["lineCount"] = self.line_count
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Execution:
        return cls(
            id=str(raw.get("id") or ""),
            job_id=str(raw.get("jobId") or ""),
            deployment_id=str(raw.get("deploymentId") or ""),
            status=str(raw.get("status") or ""),
            started_at=parse_time(raw.get("startedAt")) or datetime.fromtimestamp(0, UTC),
            finished_at=parse_time(raw.get("finishedAt")),
            line_count=int(raw.get("lineCount") or 0),
        )


@dataclass(slots=True)
class LogLine:
    """One execution log line; `line_number` is assigned by the store on append."""

    message: str
    level: str = "INFO"
    timestamp: datetime | None = None
    line_number: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "lineNumber": self.line_number,
            "timestamp": format_nano(self.timestamp) if self.timestamp else "",
            "level": self.level,
            "message": self.message,
        }


@dataclass(slots=True)
class BatchCounts:
    """Counts behind one BatchSummary."""

    batch_id: str
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    running: int = 0
    pending: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "batchId": self.batch_id,
            "total": self.total,
            "finished": self.succeeded + self.failed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "running": self.running,
            "pending": self.pending,
        }
