"""Append-only event logs: `<dir>/<id>.events.jsonl`, one JSON event per line, group-committed.

`append()` never blocks the caller: lines are queued and one flusher task writes every queued
line and fsyncs each touched file at most `flush_interval` after the first line of a batch (the
durability window, 50 ms by default). A crash can lose at most the last window and never leaves
a torn line behind: a partial last line is ignored on read and cut off before the next append.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import structlog

from ._atomic import atomic_write
from .ids import is_safe_id

__all__ = ["EventLog"]

log = structlog.get_logger(__name__)

_SUFFIX = ".events.jsonl"
_MAX_OPEN_FILES = 128


class EventLog:
    """Durable per-deployment event lines with group commit."""

    def __init__(self, directory: Path, *, enabled: bool = True, flush_interval: float = 0.02):
        self.directory = directory
        self.enabled = enabled
        self.flush_interval = flush_interval
        self._pending: dict[str, list[bytes]] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._first_pending_at: float | None = None
        self.on_durable: Callable[[int], None] | None = None  # observability / benchmarks

    def path_for(self, deployment_id: str) -> Path:
        if not is_safe_id(deployment_id):
            raise ValueError(f"unsafe deployment id {deployment_id!r}")
        return self.directory / f"{deployment_id}{_SUFFIX}"

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the flusher task (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="eventlog:flusher")

    async def aclose(self) -> None:
        """Flush everything queued, stop the flusher and close every file."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._close_all()

    # --- writing ---------------------------------------------------------------------------------

    def append(self, deployment_id: str, line: bytes) -> None:
        """Queue one JSON line (without newline) for durable append; returns at once."""
        if not self.enabled:
            return
        if self._first_pending_at is None:
            self._first_pending_at = time.monotonic()
        self._pending.setdefault(deployment_id, []).append(line)
        self._idle.clear()
        self._wakeup.set()

    def has_pending(self, deployment_id: str) -> bool:
        """True while lines of this deployment wait for the next group commit."""
        return deployment_id in self._pending or not self._idle.is_set()

    async def flush(self) -> None:
        """Wait until every line queued before this call is on disk (fsynced)."""
        if not self.enabled or self._task is None:
            if self._pending:
                batch, self._pending = self._pending, {}
                await asyncio.to_thread(self._write_batch, batch)
                self._idle.set()
            return
        while self._pending or not self._idle.is_set():
            self._wakeup.set()
            await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            # Group commit: a batch collects for at most one interval after its first line
            # (lines that queued up during the previous write are already old enough).
            waited = time.monotonic() - (self._first_pending_at or time.monotonic())
            if waited < self.flush_interval:
                await asyncio.sleep(self.flush_interval - waited)
            self._wakeup.clear()
            batch, self._pending = self._pending, {}
            self._first_pending_at = None
            if batch:
                try:
                    # write() lands in the page cache at once, here; only fsync (slow, and it
                    # releases the GIL for its whole duration) runs in a worker thread, so a busy
                    # event loop delays a batch by one GIL hand-off, not one per syscall.
                    touched = self._append_lines(batch)
                    await asyncio.to_thread(self._sync, touched)
                except Exception:  # pragma: no cover - logged, the next batch retries files
                    log.exception("event log write failed")
            if not self._pending:
                self._idle.set()

    def _write_batch(self, batch: dict[str, list[bytes]]) -> None:
        self._sync(self._append_lines(batch))

    def _append_lines(self, batch: dict[str, list[bytes]]) -> list[tuple[str, int, int]]:
        """write() every queued line; returns (deployment, fd, line count) to fsync."""
        touched: list[tuple[str, int, int]] = []
        for deployment_id, lines in batch.items():
            try:
                fd = self._fd_for(deployment_id)
                view = memoryview(b"\n".join(lines) + b"\n")
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as exc:
                log.warning("event log append failed", deployment_id=deployment_id, error=str(exc))
                self._forget_fd(deployment_id)
                continue
            touched.append((deployment_id, fd, len(lines)))
        return touched

    def _sync(self, touched: list[tuple[str, int, int]]) -> None:
        """fsync what `_append_lines` wrote; then the lines are durable."""
        durable = 0
        for deployment_id, fd, count in touched:
            try:
                os.fsync(fd)
            except OSError as exc:
                log.warning("event log fsync failed", deployment_id=deployment_id, error=str(exc))
                continue
            durable += count
        if self.on_durable is not None and durable:
            self.on_durable(durable)

    def _fd_for(self, deployment_id: str) -> int:
        fd = self._fds.get(deployment_id)
        if fd is not None:
            self._fds.move_to_end(deployment_id)
            return fd
        path = self.path_for(deployment_id)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        _cut_torn_tail(fd)
        self._fds[deployment_id] = fd
        while len(self._fds) > _MAX_OPEN_FILES:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def _forget_fd(self, deployment_id: str) -> None:
        fd = self._fds.pop(deployment_id, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _close_all(self) -> None:
        for deployment_id in list(self._fds):
            self._forget_fd(deployment_id)

    def replace_sync(self, deployment_id: str, lines: Iterable[bytes]) -> None:
        """Atomically replace a log (migration of embedded events, compaction)."""
        if not self.enabled:
            return
        self._forget_fd(deployment_id)
        data = b"".join(line + b"\n" for line in lines)
        atomic_write(self.path_for(deployment_id), data)

    # --- reading ---------------------------------------------------------------------------------

    def read_sync(self, deployment_id: str) -> list[dict[str, Any]]:
        """Every complete event line on disk, in order; a torn last line is ignored."""
        return list(self.iter_sync(deployment_id))

    def iter_sync(self, deployment_id: str) -> Iterator[dict[str, Any]]:
        """Like `read_sync`, one event at a time (holds the file's bytes, not every event)."""
        if not self.enabled:
            return
        try:
            data = self.path_for(deployment_id).read_bytes()
        except (FileNotFoundError, ValueError):
            return
        end = data.rfind(b"\n")
        start = 0
        view = memoryview(data)
        while start < end:
            stop = data.find(b"\n", start, end + 1)
            raw = view[start:stop]
            start = stop + 1
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                if bytes(raw).strip():
                    log.warning("skipping unreadable event line", deployment_id=deployment_id)
                continue
            if isinstance(obj, dict):
                yield obj

    async def read(self, deployment_id: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.read_sync, deployment_id)


def _cut_torn_tail(fd: int) -> None:
    """Truncate a file that does not end in a newline back to its last complete line."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    if os.pread(fd, 1, size - 1) == b"\n":
        return
    pos = size
    chunk = 65536
    while pos > 0:
        start = max(0, pos - chunk)
        block = os.pread(fd, pos - start, start)
        idx = block.rfind(b"\n")
        if idx >= 0:
            os.ftruncate(fd, start + idx + 1)
            return
        pos = start
    os.ftruncate(fd, 0)
