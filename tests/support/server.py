"""A real uvicorn server on a loopback ephemeral port, in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.wiring import Overrides, Services

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving one app; `url`, `services`, and `call()` to run code on its loop."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        # uvicorn installs its signal handlers only in the main thread: none here.
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("server thread died during startup")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.01)
        self.loop = self.services.loop
        return self

    @property
    def services(self) -> Services:
        return self.app.state.services  # type: ignore[no-any-return]

    def call(self, fn: Callable[[], T]) -> T:
        """Run a sync callable on the server's loop and return its result."""
        assert self.loop is not None

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 30) -> None:
        """Shut the server down and wait for it: a server still running would keep writing
        the data dir the next server of the test reads."""
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"server on port {self.port} did not stop within {timeout}s")


@contextmanager
def live_server(settings: Settings, overrides: Overrides | None = None) -> Iterator[LiveServer]:
    server = LiveServer(create_app(settings, overrides=overrides)).start()
    try:
        yield server
    finally:
        server.stop()
