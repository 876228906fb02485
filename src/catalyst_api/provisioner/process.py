"""Run one OpenTofu command: own process group, umask 077, line streaming, deadline, tree kill.

The command starts in its own session (so it and everything it spawns, providers and
`local-exec` shells, share one process group that we can signal), with umask 077, so every
file OpenTofu writes (state, backup, plan, `.terraform/`) is 0600 and every directory 0700.
The umask is set in the child between fork and exec (`preexec_fn`, which the stdlib loop and
uvloop both support; it only calls `os.umask`); our own process's umask is never touched.
Its stdout and stderr are our own pipes, read concurrently and split into lines (a line longer
than 1 MiB is cut at 1 MiB; the rest of it is dropped). Leader exit and pipe EOF are tracked
separately, so a straggler that keeps a pipe open after OpenTofu exited cannot hang the run:
it gets a short drain window, then the group is SIGKILLed.

On deadline or task cancellation the group gets SIGINT (OpenTofu stops gracefully and writes
its state), then SIGTERM after `kill_grace` seconds, then SIGKILL after another `kill_grace`;
the leader is always reaped and the group is SIGKILLed once more to catch leftovers. This
shutdown cannot itself be cancelled halfway.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "MAX_LINE_BYTES",
    "CommandResult",
    "CommandTimedOut",
    "Stream",
    "describe_exit",
    "run_command",
]

MAX_LINE_BYTES = 1024 * 1024
CHILD_UMASK = 0o077
_CHUNK = 64 * 1024
_DRAIN_SECONDS = 2.0

Stream = Literal["stdout", "stderr"]
LineSink = Callable[[Stream, str], None]


class CommandTimedOut(Exception):
    """The deadline passed; the process tree has been stopped."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Exit status (negative = killed by that signal) and the stdout bytes when captured."""

    returncode: int
    stdout: bytes = b""


def _child_setup() -> None:
    """Runs in the child between fork and exec: only a umask syscall, nothing that locks."""
    os.umask(CHILD_UMASK)


def describe_exit(returncode: int) -> str:
    """Go's `exec.ExitError` wording: `exit status 1`, `signal: killed`."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
    except ValueError:
        name = f"signal {-returncode}"
    return f"signal: {name.lower()}"


class _LineSplitter:
    """Bytes → stripped, non-empty text lines, each at most `MAX_LINE_BYTES`."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skipping = False

    def feed(self, chunk: bytes) -> list[str]:
        lines: list[str] = []
        self._buf += chunk
        while True:
            newline = self._buf.find(b"\n")
            if newline < 0:
                if len(self._buf) >= MAX_LINE_BYTES:
                    if not self._skipping:
                        lines.append(self._decode(bytes(self._buf[:MAX_LINE_BYTES])))
                    self._skipping = True
                    del self._buf[:]
                break
            raw = bytes(self._buf[:newline])
            del self._buf[: newline + 1]
            if self._skipping:
                self._skipping = False
                continue
            lines.append(self._decode(raw[:MAX_LINE_BYTES]))
        return [line for line in lines if line]

    def flush(self) -> list[str]:
        rest = b"" if self._skipping else bytes(self._buf)
        del self._buf[:]
        line = self._decode(rest)
        return [line] if line else []

    @staticmethod
    def _decode(raw: bytes) -> str:
        return raw.decode("utf-8", errors="replace").strip()


async def _pump(fd: int, on_chunk: Callable[[bytes], None]) -> None:
    """Read our end of a pipe until EOF, then close it.

    The descriptor stays ours: it is only watched with `add_reader`. Handing it to the loop as
    a pipe transport (`connect_read_pipe(os.fdopen(fd))`) gives it two owners, and uvloop then
    closes it twice — the second close can hit a descriptor another thread just reused.
    """
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    finished: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            chunk = b""
            if not finished.done():
                finished.set_exception(exc)
        if not chunk:
            loop.remove_reader(fd)
            if not finished.done():
                finished.set_result(None)
            return
        try:
            on_chunk(chunk)
        except Exception as exc:  # a sink bug must not leave the reader registered
            loop.remove_reader(fd)
            if not finished.done():
                finished.set_exception(exc)

    loop.add_reader(fd, readable)
    try:
        await finished
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _line_pump(stream: Stream, sink: LineSink) -> tuple[Callable[[bytes], None], _LineSplitter]:
    splitter = _LineSplitter()

    def on_chunk(chunk: bytes) -> None:
        for line in splitter.feed(chunk):
            sink(stream, line)

    return on_chunk, splitter


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _stop_tree(proc: asyncio.subprocess.Process, kill_grace: float) -> None:
    pgid = proc.pid
    for sig in (signal.SIGINT, signal.SIGTERM):
        if proc.returncode is not None:
            break
        _signal_group(pgid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), kill_grace)
    if proc.returncode is None:
        _signal_group(pgid, signal.SIGKILL)
        await proc.wait()
    _signal_group(pgid, signal.SIGKILL)


async def _uncancellable(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` to completion even if we are cancelled meanwhile; re-raise that afterwards."""
    task = asyncio.ensure_future(coro)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError


async def _finish_readers(
    proc: asyncio.subprocess.Process, readers: list[asyncio.Task[None]], drain: float
) -> None:
    if not readers:
        return
    _, pending = await asyncio.wait(readers, timeout=drain)
    if pending:
        _signal_group(proc.pid, signal.SIGKILL)
        _, pending = await asyncio.wait(pending, timeout=drain)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_line: LineSink,
    deadline: float,
    kill_grace: float,
    capture_stdout: bool = False,
    on_stopping: Callable[[str], None] | None = None,
) -> CommandResult:
    """Run `argv` until it exits or `deadline` (event-loop time) passes.

    Lines go to `on_line(stream, text)` as they arrive (stdout only when not captured).
    `on_stopping("timeout" | "cancelled")` is called before the tree is stopped.
    Raises `CommandTimedOut` after stopping the tree on deadline, re-raises `CancelledError`
    after stopping it on cancellation, and `OSError` if the program cannot be started.
    """
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            preexec_fn=_child_setup,
        )
    except BaseException:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    os.close(out_w)
    os.close(err_w)

    captured = bytearray()
    err_chunk, err_split = _line_pump("stderr", on_line)
    out_split: _LineSplitter | None = None
    if capture_stdout:
        out_chunk: Callable[[bytes], None] = captured.extend
    else:
        out_chunk, out_split = _line_pump("stdout", on_line)
    readers = [
        asyncio.create_task(_pump(out_r, out_chunk), name=f"tofu-stdout:{proc.pid}"),
        asyncio.create_task(_pump(err_r, err_chunk), name=f"tofu-stderr:{proc.pid}"),
    ]
    try:
        async with asyncio.timeout_at(deadline):
            returncode = await proc.wait()
            await _finish_readers(proc, readers, _DRAIN_SECONDS)
    except TimeoutError:
        if on_stopping is not None:
            on_stopping("timeout")
        await _uncancellable(_stop_tree(proc, kill_grace))
        await _uncancellable(_finish_readers(proc, readers, _DRAIN_SECONDS))
        raise CommandTimedOut from None
    except asyncio.CancelledError:
        if on_stopping is not None:
            on_stopping("cancelled")
        await _uncancellable(_stop_tree(proc, kill_grace))
        await _uncancellable(_finish_readers(proc, readers, _DRAIN_SECONDS))
        raise
    if out_split is not None:
        for line in out_split.flush():
            on_line("stdout", line)
    for line in err_split.flush():
        on_line("stderr", line)
    return CommandResult(returncode=returncode, stdout=bytes(captured))
