"""The jobs store on disk (spec §9.2): `<dir>/<depId>/index.json` + `<dir>/<depId>/<execId>.log`.

- `index.json` (`{"deploymentId", "jobs", "executions"}`, 2-space indent) is replaced
  atomically (`.index-<random>.json.tmp`, fsync, 0600, rename); log files are append-only
  NDJSON, 0600, fsynced before a commit returns; directories are 0700.
- All methods are synchronous and thread-safe (one lock per deployment); callers on the event
  loop run them with `asyncio.to_thread` (see `service.py`).
- A transaction applies many mutations and commits once: each touched log file gets one
  append + fsync, then the index is rewritten once. Every line is durable when the commit
  returns, as with an fsync per append, at a fraction of the cost.
- Reads never create directories; a missing index is an empty one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson

from ..store._atomic import atomic_write, ensure_private_dir, fsync_dir
from .index import ExecutionNotFound, JobsError, JobsIndex
from .models import Execution, LogLine
from .ports import check_deployment_id, check_execution_id, log_page, page_window

__all__ = ["JobsStore"]


class JobsStore:
    """Jobs, executions and log lines of every deployment under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._exec_owner: dict[str, str] = {}

    @classmethod
    def open(cls, root: Path) -> JobsStore:
        """Create the directory (0700) and prove it writable; raises `OSError` otherwise."""
        ensure_private_dir(root)
        probe = root / f".probe-{secrets.token_hex(4)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
        return cls(root)

    # --- plumbing ------------------------------------------------------------------------------

    def _lock(self, deployment_id: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(deployment_id)
            if lock is None:
                lock = self._locks[deployment_id] = threading.Lock()
            return lock

    def _dir(self, deployment_id: str) -> Path:
        check_deployment_id(deployment_id)
        return self.root / deployment_id

    def _load(self, deployment_id: str) -> JobsIndex:
        path = self._dir(deployment_id) / "index.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return JobsIndex(deployment_id)
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise JobsError(f"corrupt jobs index for deployment {deployment_id}") from None
        if not isinstance(raw, dict):
            raise JobsError(f"corrupt jobs index for deployment {deployment_id}")
        return JobsIndex.from_dict(deployment_id, raw)

    def _commit(self, index: JobsIndex) -> None:
        directory = self._dir(index.deployment_id)
        ensure_private_dir(directory)
        for execution_id, lines in index.pending_lines.items():
            if lines:
                _append_lines(directory / f"{execution_id}.log", lines)
        index.pending_lines.clear()
        if index.dirty:
            data = orjson.dumps(index.to_dict(), option=orjson.OPT_INDENT_2)
            atomic_write(
                directory / "index.json",
                data,
                temp_name=f".index-{secrets.token_hex(6)}.json.tmp",
            )
            index.dirty = False
        for execution in index.executions:
            self._exec_owner.setdefault(execution.id, index.deployment_id)

    @contextlib.contextmanager
    def transaction(self, deployment_id: str) -> Iterator[JobsIndex]:
        """Load, let the caller mutate, commit once (nothing is written if the body raises)."""
        with self._lock(deployment_id):
            index = self._load(deployment_id)
            yield index
            if index.dirty or index.pending_lines:
                self._commit(index)

    def read(self, deployment_id: str) -> JobsIndex:
        """A consistent snapshot of one deployment (empty when it has no jobs)."""
        with self._lock(deployment_id):
            return self._load(deployment_id)

    # --- executions across deployments ---------------------------------------------------------

    def find_execution(self, execution_id: str) -> tuple[str, Execution]:
        """The owning deployment id and the execution; scans indexes it has not seen yet."""
        check_execution_id(execution_id)
        owner = self._exec_owner.get(execution_id)
        if owner is not None:
            with contextlib.suppress(JobsError, OSError):
                return owner, self.read(owner).execution(execution_id)
        try:
            entries = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        except FileNotFoundError:
            entries = []
        for deployment_id in entries:
            try:
                index = self.read(deployment_id)
            except (JobsError, OSError):
                continue  # a corrupt sibling never hides the others
            for execution in index.executions:
                self._exec_owner.setdefault(execution.id, deployment_id)
            with contextlib.suppress(ExecutionNotFound):
                return deployment_id, index.execution(execution_id)
        raise ExecutionNotFound(execution_id)

    def page_logs(self, execution_id: str, from_line: int, limit: int) -> dict[str, object]:
        """`{"lines", "total", "executionFinished"}`: lines numbered ≥ `from_line`, at most
        `limit` (≤0 → 500, capped at 5000); unparsable lines are skipped but keep their place."""
        deployment_id, execution = self.find_execution(execution_id)
        start, size = page_window(from_line, limit)
        path = self._dir(deployment_id) / f"{execution_id}.log"
        try:
            with path.open("rb") as fh:
                return log_page(execution, itertools.islice(fh, start - 1, None), size)
        except FileNotFoundError:
            return log_page(execution, (), size)


def _append_lines(path: Path, lines: list[LogLine]) -> None:
    data = b"".join(orjson.dumps(line.to_dict()) + b"\n" for line in lines)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)
