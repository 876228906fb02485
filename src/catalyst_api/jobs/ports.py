"""What the jobs service, the bridges and the Day-2 audit need from a jobs store, whichever
backend holds it, and the rules both backends share (ids, log pages).

Two implementations: files under `CATALYST_EXECUTIONS_DIR` (`store.JobsStore`, the embedded
default) and PostgreSQL (`pgstore.PgJobsStore`), chosen by `CATALYST_DATABASE_URL`. Every
method is synchronous and thread-safe: callers on the event loop use `asyncio.to_thread`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

import orjson

from .index import ExecutionNotFound, InvalidJobsRequest, JobsIndex
from .models import DEFAULT_PAGE, MAX_PAGE, Execution, parse_time

__all__ = [
    "JobsStorage",
    "check_deployment_id",
    "check_execution_id",
    "log_page",
    "page_window",
    "parse_log_line",
]

_EXEC_ID = re.compile(r"^[0-9a-f]{32}$")


class JobsStorage(Protocol):
    """Jobs, executions and log lines of every deployment."""

    def transaction(self, deployment_id: str) -> AbstractContextManager[JobsIndex]:
        """Load, let the caller mutate, commit once (nothing is written if the body raises);
        one transaction per deployment at a time."""
        ...

    def read(self, deployment_id: str) -> JobsIndex:
        """A consistent snapshot of one deployment (empty when it has no jobs)."""
        ...

    def find_execution(self, execution_id: str) -> tuple[str, Execution]:
        """The owning deployment id and the execution; `ExecutionNotFound` otherwise."""
        ...

    def page_logs(self, execution_id: str, from_line: int, limit: int) -> dict[str, object]:
        """`{"lines", "total", "executionFinished"}` (see `log_page`)."""
        ...


def check_deployment_id(deployment_id: str) -> None:
    """`InvalidJobsRequest` for a blank id or one that could escape a directory."""
    if (
        not deployment_id.strip()
        or "/" in deployment_id
        or "\\" in deployment_id
        or deployment_id in (".", "..")
        or "\x00" in deployment_id
    ):
        raise InvalidJobsRequest("invalid deployment id")


def check_execution_id(execution_id: str) -> None:
    """`ExecutionNotFound` for anything but 32 lower-case hex digits (never a lookup)."""
    if not _EXEC_ID.match(execution_id):
        raise ExecutionNotFound(execution_id)


def page_window(from_line: int, limit: int) -> tuple[int, int]:
    """(first line number, page size): from ≥ 1; limit ≤ 0 → 500, capped at 5000."""
    return max(from_line, 1), DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)


def log_page(
    execution: Execution, raw_lines: Iterable[bytes | str], size: int
) -> dict[str, object]:
    """The page body from the stored lines of the window, in order: unparsable lines are
    skipped (they keep their number), at most `size` parsed lines."""
    lines: list[dict[str, object]] = []
    for raw in raw_lines:
        if len(lines) >= size:
            break
        parsed = parse_log_line(raw)
        if parsed is not None:
            lines.append(parsed)
    return {"lines": lines, "total": execution.line_count, "executionFinished": execution.finished}


def parse_log_line(raw: bytes | str) -> dict[str, object] | None:
    """One stored NDJSON line as the wire's LogLine, or None when it is not one."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("lineNumber"), int):
        return None
    stamp = item.get("timestamp")
    if isinstance(stamp, str) and parse_time(stamp) is None and stamp:
        return None
    return {
        "lineNumber": item["lineNumber"],
        "timestamp": item.get("timestamp", ""),
        "level": item.get("level", ""),
        "message": item.get("message", ""),
    }
