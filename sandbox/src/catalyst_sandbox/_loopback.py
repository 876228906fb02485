"""Serve a small ASGI app with uvicorn on a loopback ephemeral port (used by the fake Dynadot
and the fake pool-domain-manager).

Two ways to run it: `async with server:` serves on the *current* event loop (the sandbox, async
tests); `with server:` serves on its own loop in a daemon thread (synchronous tests that drive
a live catalyst-api in another thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Generator
from types import TracebackType
from typing import Any, Self

import uvicorn

__all__ = ["LoopbackFake", "LoopbackServer"]


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: the embedding program owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class LoopbackServer:
    """One ASGI app on `127.0.0.1:<port>`; `url` is valid once started."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://{self.host}:{self.port}"

    # --- on the current loop ---------------------------------------------------------------

    async def start(self) -> None:
        """Bind, serve, and return once the server accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            ws="none",
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=self.name)
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"{self.name} stopped during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Shut the server down without waiting for idle keep-alive connections (a fake has
        nothing to drain; in-flight requests still get up to five seconds)."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await asyncio.wait([self._task], timeout=5)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self._server = self._task = None

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- in a thread -----------------------------------------------------------------------

    def start_thread(self) -> None:
        """Serve on a private event loop in a daemon thread; returns once listening."""
        ready = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            self._thread_loop = asyncio.get_running_loop()
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.stop()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), name=self.name)
        self._thread.daemon = True
        self._thread.start()
        ready.wait(20)
        if errors:
            raise errors[0]

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop the threaded server and join its thread."""
        loop, stop, thread = self._thread_loop, self._thread_stop, self._thread
        if loop is not None and stop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)
        self._thread = self._thread_loop = self._thread_stop = None

    def __enter__(self) -> LoopbackServer:
        self.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()


class LoopbackFake:
    """Base of the fakes served by a `LoopbackServer`: `async with` / `with` run it."""

    server: LoopbackServer

    async def __aenter__(self) -> Self:
        await self.server.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.server.stop()

    def __enter__(self) -> Self:
        self.server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop_thread()
