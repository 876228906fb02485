"""`FakeKubeThread`: a `FakeKubeServer` on its own event loop in a daemon thread."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .faults import Faults
    from .server import FakeKubeServer
    from .state import FakeKubeState

__all__ = ["FakeKubeThread"]


class FakeKubeThread:
    """Handle of a server running in a background thread; `.stop()` ends it."""

    def __init__(self, server: FakeKubeServer) -> None:
        self.server = server
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fakekube", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await self.server.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.server.stop()

        asyncio.run(main())

    @property
    def url(self) -> str:
        """Base URL."""
        return self.server.url

    @property
    def state(self) -> FakeKubeState:
        """The cluster's `FakeKubeState` (usable from any thread)."""
        return self.server.state

    @property
    def faults(self) -> Faults:
        """The `Faults` switches."""
        return self.server.faults

    @property
    def token(self) -> str:
        """The bearer token."""
        return self.server.token

    def kubeconfig_yaml(self, context: str = "fake") -> str:
        """See `FakeKubeServer.kubeconfig_yaml`."""
        return self.server.kubeconfig_yaml(context)

    def write_kubeconfig(self, path: str | os.PathLike[str], context: str = "fake") -> Path:
        """See `FakeKubeServer.write_kubeconfig`."""
        return self.server.write_kubeconfig(path, context)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and join the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def __enter__(self) -> FakeKubeThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
