"""Append-only event logs: `<dir>/<id>.events.jsonl`, one JSON event per line, group-committed.

`append()` never blocks the caller: lines are queued and one flusher task writes every queued
line and fsyncs each touched file at most `flush_interval` after the first line of a batch (the
durability window, 20 ms by default). A crash can lose at most the last window and never leaves
a torn line behind: a partial last line is ignored on read and cut off before the next append.

Index (`LogInfo`): every log's line count, last `seq` and a sparse line → byte-offset map (one
mark per `MARK_EVERY` lines) are kept in memory, maintained at append time, so counting events
and seeking to an event never parse a file. At `start()` one worker thread indexes every log on
disk from its sidecar `<id>.events.idx` (written at `aclose()`; a hint, checked against the log
and completed by counting the lines after it, so a stale or lost sidecar costs a read, never a
wrong count).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog

from ._atomic import atomic_write
from .ids import is_safe_id

__all__ = ["MARK_EVERY", "EventLog", "LogInfo"]

log = structlog.get_logger(__name__)

_SUFFIX = ".events.jsonl"
_INDEX_SUFFIX = ".events.idx"
_MAX_OPEN_FILES = 128
# One line → offset mark per this many lines: a seek reads at most this many lines too many.
MARK_EVERY = 256
_READ_CHUNK = 64 << 10


@dataclass(slots=True)
class LogInfo:
    """What the log of one deployment holds, known without reading it."""

    lines: int = 0  # complete lines, including those queued for the next group commit
    last_seq: int = 0  # seq of the newest line (queued included); 0 when empty
    disk_lines: int = 0  # complete lines in the file
    disk_size: int = 0  # bytes of those lines
    # (lines before, byte offset) every MARK_EVERY lines, ascending; (0, 0) is implicit.
    marks: list[tuple[int, int]] = field(default_factory=list)
    saved_size: int = -1  # disk_size the sidecar on disk describes

    def seek(self, after_line: int) -> tuple[int, int]:
        """The nearest mark at or before line `after_line`: (lines before it, byte offset)."""
        i = bisect.bisect_right(self.marks, (after_line, 1 << 62))
        return self.marks[i - 1] if i else (0, 0)


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
        self._info: dict[str, LogInfo] = {}
        self._indexer: asyncio.Task[None] | None = None
        self.on_durable: Callable[[int], None] | None = None  # observability / benchmarks
        self.bytes_read = 0  # bytes read back from logs (observability / tests)

    def path_for(self, deployment_id: str) -> Path:
        if not is_safe_id(deployment_id):
            raise ValueError(f"unsafe deployment id {deployment_id!r}")
        return self.directory / f"{deployment_id}{_SUFFIX}"

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the flusher task and the indexing of the logs on disk (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="eventlog:flusher")
        self._start_indexer()

    async def aclose(self) -> None:
        """Flush everything queued, stop the flusher, save the sidecars and close every file."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._indexer is not None:
            if not self._indexer.done():
                self._indexer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._indexer
        self._close_all()
        if self.enabled:
            stale = [
                (deployment_id, info.disk_lines, info.disk_size, list(info.marks))
                for deployment_id, info in self._info.items()
                if info.disk_size and info.saved_size != info.disk_size
            ]
            await asyncio.to_thread(self._save_sidecars, stale)
            for deployment_id, _, size, _ in stale:
                self._info[deployment_id].saved_size = size

    # --- index -----------------------------------------------------------------------------------

    def _start_indexer(self) -> None:
        if self._indexer is None and self.enabled:
            self._indexer = asyncio.create_task(self._index_all(), name="eventlog:indexer")

    async def indexed(self) -> None:
        """Wait until every log that existed at start is indexed (starts the indexing)."""
        self._start_indexer()
        if self._indexer is not None:
            await asyncio.shield(self._indexer)

    async def _index_all(self) -> None:
        try:
            found = await asyncio.to_thread(self._scan_directory)
        except Exception:  # pragma: no cover - the logs are then indexed one by one on demand
            log.exception("event log indexing failed")
            return
        for deployment_id, info in found.items():
            # A log touched on the loop meanwhile (append, replace, sync fallback) is known
            # exactly already; the thread's view of it may be older.
            self._info.setdefault(deployment_id, info)

    def _scan_directory(self) -> dict[str, LogInfo]:
        found: dict[str, LogInfo] = {}
        try:
            names = os.listdir(self.directory)
        except OSError:
            return found
        for name in names:
            if not name.endswith(_SUFFIX) or name.startswith("."):
                continue
            deployment_id = name[: -len(_SUFFIX)]
            if not is_safe_id(deployment_id):
                continue
            with contextlib.suppress(OSError):
                found[deployment_id] = self._scan(deployment_id)
        return found

    def info(self, deployment_id: str) -> LogInfo | None:
        """The index of a log when known (appended to, read, or indexed since start)."""
        return self._info.get(deployment_id)

    def info_sync(self, deployment_id: str) -> LogInfo:
        """The index of a log, computed now (a sidecar and a tail read) when not yet known."""
        info = self._info.get(deployment_id)
        if info is None:
            info = LogInfo()
            if self.enabled:
                with contextlib.suppress(OSError, ValueError):
                    info = self._scan(deployment_id)
            self._info[deployment_id] = info
        return info

    async def index(self, deployment_id: str) -> LogInfo:
        """The index of a log, computed in a worker thread when not yet known."""
        info = self._info.get(deployment_id)
        if info is None:
            scanned = LogInfo()
            if self.enabled:
                with contextlib.suppress(OSError, ValueError):
                    scanned = await asyncio.to_thread(self._scan, deployment_id)
            # Appended to meanwhile (on the loop): that index is exact, the scan maybe older.
            info = self._info.setdefault(deployment_id, scanned)
        return info

    async def index_many(self, deployment_ids: list[str]) -> None:
        """Index these logs (those not yet known) in one worker thread."""
        unknown = [d for d in dict.fromkeys(deployment_ids) if d not in self._info]
        if not unknown or not self.enabled:
            for deployment_id in unknown:
                self._info.setdefault(deployment_id, LogInfo())
            return

        def scan_all() -> dict[str, LogInfo]:
            found: dict[str, LogInfo] = {}
            for deployment_id in unknown:
                with contextlib.suppress(OSError, ValueError):
                    found[deployment_id] = self._scan(deployment_id)
            return found

        found = await asyncio.to_thread(scan_all)
        for deployment_id in unknown:
            self._info.setdefault(deployment_id, found.get(deployment_id, LogInfo()))

    def count(self, deployment_id: str) -> int | None:
        """Complete lines of a log (queued ones included) when known, without any I/O."""
        info = self._info.get(deployment_id)
        return None if info is None else info.lines

    def _scan(self, deployment_id: str) -> LogInfo:
        """Index one log: from its sidecar when it still describes a prefix of the log, then
        count (never parse) the lines after that prefix. Missing log → empty index."""
        path = self.path_for(deployment_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return LogInfo()
        try:
            size = os.fstat(fd).st_size
            info = self._read_sidecar(deployment_id, fd, size) or LogInfo(saved_size=-1)
            self._count_tail(fd, info, size)
            info.lines = info.disk_lines
            info.last_seq = self._last_seq(fd, info)
            return info
        finally:
            os.close(fd)

    def _read_sidecar(self, deployment_id: str, fd: int, size: int) -> LogInfo | None:
        try:
            raw = orjson.loads((self.directory / f"{deployment_id}{_INDEX_SUFFIX}").read_bytes())
            lines, end = int(raw["lines"]), int(raw["size"])
            marks = [(int(a), int(b)) for a, b in raw["marks"] if 0 < int(b) <= end]
        except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return None
        if lines < 0 or end > size or (end and os.pread(fd, 1, end - 1) != b"\n"):
            return None
        return LogInfo(disk_lines=lines, disk_size=end, marks=marks, saved_size=end)

    def _count_tail(self, fd: int, info: LogInfo, size: int) -> None:
        """Count complete lines from `info.disk_size` to `size`, adding marks."""
        pos, chunk = info.disk_size, _READ_CHUNK
        while pos < size:
            data = os.pread(fd, min(chunk, size - pos), pos)
            self.bytes_read += len(data)
            end = data.rfind(b"\n")
            if end < 0:
                if pos + len(data) >= size:
                    break  # a torn last line: not counted
                chunk *= 2  # a line longer than the chunk
                continue
            count = data.count(b"\n", 0, end + 1)
            boundary = (info.disk_lines // MARK_EVERY + 1) * MARK_EVERY
            if info.disk_lines + count >= boundary:
                idx, line = -1, info.disk_lines
                while line < info.disk_lines + count:
                    idx = data.find(b"\n", idx + 1)
                    line += 1
                    if line % MARK_EVERY == 0:
                        info.marks.append((line, pos + idx + 1))
            info.disk_lines += count
            pos += end + 1
            info.disk_size = pos

    def _last_seq(self, fd: int, info: LogInfo) -> int:
        """The `seq` of the last complete line (its line number when it has none)."""
        if not info.disk_lines:
            return 0
        start = max(0, info.disk_size - 8192)
        data = os.pread(fd, info.disk_size - start, start)
        self.bytes_read += len(data)
        last = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, AttributeError):
            seq = orjson.loads(last).get("seq")
            if isinstance(seq, int) and seq > 0:
                return seq
        return info.disk_lines

    def _save_sidecars(self, stale: list[tuple[str, int, int, list[tuple[int, int]]]]) -> None:
        for deployment_id, lines, size, marks in stale:
            path = self.directory / f"{deployment_id}{_INDEX_SUFFIX}"
            temp = path.with_name(f".{path.name}.tmp")
            try:
                temp.write_bytes(orjson.dumps({"lines": lines, "size": size, "marks": marks}))
                os.replace(temp, path)  # a hint: no fsync, a torn one is ignored on read
            except OSError as exc:
                log.warning("event index save failed", deployment_id=deployment_id, error=str(exc))

    # --- writing ---------------------------------------------------------------------------------

    def append(self, deployment_id: str, line: bytes, *, seq: int | None = None) -> None:
        """Queue one JSON line (without newline) for durable append; returns at once."""
        if not self.enabled:
            return
        info = self.info_sync(deployment_id)
        info.lines += 1
        info.last_seq = seq if seq is not None else info.last_seq + 1
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
                data = b"\n".join(lines) + b"\n"
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                self._written(deployment_id, lines, len(data))
            except OSError as exc:
                log.warning("event log append failed", deployment_id=deployment_id, error=str(exc))
                self._forget_fd(deployment_id)
                continue
            touched.append((deployment_id, fd, len(lines)))
        return touched

    def _written(self, deployment_id: str, lines: list[bytes], size: int) -> None:
        """Advance the on-disk part of the index past lines just written (marks included)."""
        self._written_into(self.info_sync(deployment_id), lines, size)

    @staticmethod
    def _written_into(info: LogInfo, lines: list[bytes], size: int) -> None:
        start = info.disk_lines
        boundary = (start // MARK_EVERY + 1) * MARK_EVERY
        if start + len(lines) >= boundary:
            offset = info.disk_size
            for n, line in enumerate(lines, start=start + 1):
                offset += len(line) + 1
                if n % MARK_EVERY == 0:
                    info.marks.append((n, offset))
        info.disk_lines += len(lines)
        info.disk_size += size

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
        info = self.info_sync(deployment_id)
        size = os.fstat(fd).st_size
        if size != info.disk_size:  # changed behind our back: index it again
            queued, last_seq = info.lines - info.disk_lines, info.last_seq
            self._info[deployment_id] = info = self._scan(deployment_id)
            info.lines += queued
            info.last_seq = max(info.last_seq, last_seq)
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

    def has_log(self, deployment_id: str) -> bool:
        """Whether `<id>.events.jsonl` exists (False for an unsafe id)."""
        try:
            return self.path_for(deployment_id).exists()
        except ValueError:
            return False

    def replace_sync(self, deployment_id: str, lines: Iterable[bytes]) -> None:
        """Atomically replace a log (migration of embedded events, compaction)."""
        if not self.enabled:
            return
        self._forget_fd(deployment_id)
        lines = list(lines)
        data = b"".join(line + b"\n" for line in lines)
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{deployment_id}{_INDEX_SUFFIX}").unlink()
        atomic_write(self.path_for(deployment_id), data)
        info = LogInfo()
        self._written_into(info, lines, len(data))
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, AttributeError):
            seq = orjson.loads(lines[-1]).get("seq") if lines else 0
            info.last_seq = seq if isinstance(seq, int) and seq > 0 else len(lines)
        info.lines = len(lines)
        self._info[deployment_id] = info

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

    def iter_from(
        self, deployment_id: str, after_line: int
    ) -> tuple[int, Iterator[dict[str, Any]]]:
        """Events from the mark nearest before line `after_line` on: (lines before the first
        one yielded, iterator). Reads the file in chunks from that offset (run it in a worker
        thread); a caller wanting events after `seq` s passes s (seq never exceeds its line)."""
        if not self.enabled:
            return 0, iter(())
        info = self._info.get(deployment_id)
        skip, offset = info.seek(after_line) if info is not None else (0, 0)
        return skip, self._iter_file(deployment_id, offset)

    def _iter_file(self, deployment_id: str, offset: int) -> Iterator[dict[str, Any]]:
        try:
            fd = os.open(self.path_for(deployment_id), os.O_RDONLY)
        except (FileNotFoundError, ValueError):
            return
        try:
            rest = b""
            chunk = _READ_CHUNK
            while True:
                data = os.pread(fd, chunk, offset)
                if not data:
                    return
                self.bytes_read += len(data)
                offset += len(data)
                data = rest + data if rest else data
                end = data.rfind(b"\n")
                if end < 0:
                    rest, chunk = data, chunk * 2
                    continue
                rest = data[end + 1 :]
                for raw in data[:end].split(b"\n"):
                    try:
                        obj = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        if raw.strip():
                            log.warning(
                                "skipping unreadable event line", deployment_id=deployment_id
                            )
                        continue
                    if isinstance(obj, dict):
                        yield obj
        finally:
            os.close(fd)

    async def read_after(self, deployment_id: str, after_seq: int) -> list[tuple[int, bytes]]:
        """Events with `seq > after_seq` as (seq, JSON line), oldest first (worker thread)."""

        def read() -> list[tuple[int, bytes]]:
            _, raw_events = self.iter_from(deployment_id, after_seq)
            out = []
            for raw in raw_events:
                seq = raw.get("seq")
                if isinstance(seq, int) and seq > after_seq:
                    out.append((seq, orjson.dumps(raw)))
            return out

        return await asyncio.to_thread(read)

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
