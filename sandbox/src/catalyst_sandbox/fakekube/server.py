"""`FakeKubeServer`: the fake kube-apiserver served by uvicorn in-process, plus a thread wrapper."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
import yaml

from .app import FakeKubeApp
from .faults import Faults
from .sar import SarPolicy
from .state import FakeKubeState
from .threaded import FakeKubeThread
from .tls import make_serving_cert
from .watch import ConnectionAborted

__all__ = ["FakeKubeServer", "FakeKubeThread"]

SarPolicyArg = SarPolicy | Mapping[str, Any] | str | os.PathLike[str] | None


class _QuietInjectedAborts(logging.Filter):
    """Drop uvicorn's error record for a connection we cut on purpose (`drop_watches(abort)`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ConnectionAborted):
                return False
            if isinstance(exc, BaseExceptionGroup):
                return not any(isinstance(e, ConnectionAborted) for e in exc.exceptions)
            exc = exc.__cause__ or exc.__context__
        return True


_UVICORN_ERRORS = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _QuietInjectedAborts) for f in _UVICORN_ERRORS.filters):
    _UVICORN_ERRORS.addFilter(_QuietInjectedAborts())


class _Server(uvicorn.Server):
    """uvicorn without signal handlers (the embedding program owns signals) and with a prompt,
    event-driven stop instead of 100 ms polling, so tests can start and stop many servers."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_event = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        await self.on_tick(0)
        await self.exit_event.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        grace = self.config.timeout_graceful_shutdown or 2
        deadline = asyncio.get_running_loop().time() + grace
        while self.server_state.connections or self.server_state.tasks:
            if asyncio.get_running_loop().time() > deadline:
                for task in self.server_state.tasks:
                    task.cancel()
                break
            await asyncio.sleep(0.01)
        for server in self.servers:
            await server.wait_closed()


def _policy(arg: SarPolicyArg) -> SarPolicy | None:
    if arg is None or isinstance(arg, SarPolicy):
        return arg
    if isinstance(arg, Mapping):
        return SarPolicy.from_mapping(arg)
    return SarPolicy.load(arg)


class FakeKubeServer:
    """A fake kube-apiserver on a loopback port; use as `async with FakeKubeServer() as kube`.

    `token=None` generates a random bearer token (read it from `.token`); every request but
    `/healthz`, `/livez`, `/readyz` must carry it. `bookmark_interval` is the seconds of
    silence after which a watch with `allowWatchBookmarks=true` receives a BOOKMARK.
    """

    def __init__(
        self,
        token: str | None = None,
        tls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        sar_policy: SarPolicyArg = None,
        history_limit: int = 1000,
        *,
        bookmark_interval: float = 1.0,
        state: FakeKubeState | None = None,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.tls = tls
        self.host = host
        self.port = port
        self.state = state or FakeKubeState(history_limit=history_limit)
        self.faults = Faults(self.state)
        self._ca_pem: bytes | None = None
        self.app = FakeKubeApp(
            self.state,
            self.faults,
            token=self.token,
            sar_policy=_policy(sar_policy),
            bookmark_interval=bookmark_interval,
            server_address=lambda: f"{self.host}:{self.port}",
        )
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        """The CA certificate (PEM) clients must trust in TLS mode."""
        return self._ca_pem

    async def start(self) -> None:
        """Bind, start serving, and return once the server accepts connections."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        ssl: dict[str, Any] = {}
        if self.tls:
            ssl = self._write_tls_files()
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            ws="none",
            **ssl,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("fake kube-apiserver stopped during startup")
            await asyncio.sleep(0.01)

    def _write_tls_files(self) -> dict[str, Any]:
        cert = make_serving_cert(tuple(dict.fromkeys((self.host, "127.0.0.1", "localhost"))))
        self._ca_pem = cert.ca_pem
        self._tmp = tempfile.TemporaryDirectory(prefix="fakekube-tls-")
        certfile, keyfile = Path(self._tmp.name, "tls.crt"), Path(self._tmp.name, "tls.key")
        certfile.write_bytes(cert.cert_pem)
        keyfile.touch(mode=0o600)
        keyfile.write_bytes(cert.key_pem)
        return {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}

    async def stop(self) -> None:
        """End open streams, shut the server down, remove TLS files."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.exit_event.set()
            while not self._task.done():
                self.state.close_streams()
                await asyncio.wait([self._task], timeout=0.05)
            self._task.result()
        self._server = self._task = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> FakeKubeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def kubeconfig_yaml(self, context: str = "fake") -> str:
        """A kubeconfig for this server: URL, bearer token and (TLS) the CA."""
        cluster: dict[str, Any] = {"server": self.url}
        if self._ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self._ca_pem).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": context, "namespace": "default"},
                }
            ],
            "current-context": context,
            "preferences": {},
        }
        return yaml.safe_dump(config, sort_keys=False)

    def write_kubeconfig(self, path: str | os.PathLike[str], context: str = "fake") -> Path:
        """Write the kubeconfig with mode 0600 and return its path."""
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.kubeconfig_yaml(context))
        os.chmod(target, 0o600)
        return target

    @classmethod
    def start_in_thread(cls, **kwargs: Any) -> FakeKubeThread:
        """Run a server on its own event loop in a daemon thread (for synchronous callers)."""
        return FakeKubeThread(cls(**kwargs))
