"""How `catalyst-api serve` runs uvicorn: connection cap, read deadlines and a write deadline.

uvicorn closes idle keep-alive connections, but by itself it waits forever for a client that
sends its request slowly (or never) and for one that stops reading a response (each such
connection then pins what was queued for it). `GuardedHttpToolsProtocol` (uvicorn's httptools
protocol plus timers) adds:

- head deadline: the request line and headers must arrive within `header_timeout` of the
  connection (or of the first byte of the next request on a keep-alive connection), and be at
  most `max_head_bytes`; otherwise 408 / 431 and the connection is closed;
- body deadline: the body must be complete `body_timeout` after the headers (the routes answer
  408 `request-timeout` at that point, `api/bodies.py`; one second later the connection goes);
- write deadline: a response the client does not read for `write_timeout` (the transport's
  buffer stays above its high-water mark) is aborted, freeing what was queued. SSE clients
  resume with `Last-Event-ID`.

The number of connections is capped with uvicorn's `limit_concurrency` (503 past it).

`StagedServer` stages the shutdown (docs/RUNBOOK.md §Shutdown): on SIGTERM it stops accepting,
stops the deployment runs first (`RunSupervisor.stop`, within `CATALYST_SHUTDOWN_RUNS_GRACE`;
each run ends its SSE stream with `event: done`, so those connections finish), then drains
the connections in what is left of `CATALYST_SHUTDOWN_GRACE`, then the lifespan unwinds.
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import Settings

__all__ = [
    "ConnectionLimits",
    "GuardedHttpToolsProtocol",
    "StagedServer",
    "guarded_protocol",
    "uvicorn_config",
]

WRITE_HIGH_WATER = 32 << 10
BODY_GRACE = 1.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection deadlines (seconds) and the request-head size cap."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    write_timeout: float = 30.0
    max_head_bytes: int = 64 << 10

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            header_timeout=settings.request_header_timeout.total_seconds(),
            body_timeout=settings.request_body_timeout.total_seconds(),
            write_timeout=settings.write_timeout.total_seconds(),
        )


def _simple_response(status: int, reason: str, code: str, detail: str) -> bytes:
    body = orjson.dumps({"error": code, "detail": detail}) + b"\n"
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%s" % (status, reason.encode(), len(body), body)
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with read and write deadlines (see the module doc)."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None
        self._head_pending = False
        self._head_bytes = 0

    # --- connection ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read()
        self._cancel_write()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        was_pending = self._head_pending
        super().data_received(data)
        if was_pending and self._head_pending and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head_bytes:
                self._reject(
                    431,
                    "Request Header Fields Too Large",
                    "headers-too-large",
                    f"request line and headers exceed {self.limits.max_head_bytes} bytes",
                )

    # --- parser callbacks ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._head_pending:
            self._await_head()

    def on_headers_complete(self) -> None:
        self._head_pending = False
        self._arm_read(self.limits.body_timeout + BODY_GRACE, self._body_expired)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel_read()
        super().on_message_complete()

    # --- flow control ----------------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.limits.write_timeout, self._write_expired)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_write()

    # --- deadlines -------------------------------------------------------------------------------

    def _await_head(self) -> None:
        self._head_pending = True
        self._head_bytes = 0
        self._arm_read(self.limits.header_timeout, self._head_expired)

    def _arm_read(self, delay: float, callback: Any) -> None:
        self._cancel_read()
        self._read_timer = self.loop.call_later(delay, callback)

    def _cancel_read(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _cancel_write(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _responding(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_expired(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        self._count("request_timeouts", stage="head")
        if self._responding():
            self.transport.abort()
            return
        self._reject(
            408,
            "Request Timeout",
            "request-timeout",
            f"request headers not received within {self.limits.header_timeout:g}s",
        )

    def _body_expired(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        self._count("request_timeouts", stage="body")
        if self._responding():
            self.transport.abort()
        else:
            self.transport.close()

    def _write_expired(self) -> None:
        self._write_timer = None
        if self.transport.is_closing() and self.transport.get_write_buffer_size() == 0:
            return
        self._count("slow_clients_disconnected")
        self.transport.abort()

    def _reject(self, status: int, reason: str, code: str, detail: str) -> None:
        self._cancel_read()
        self.transport.write(_simple_response(status, reason, code, detail))
        self.transport.close()

    def _count(self, metric: str, **labels: str) -> None:
        services = self.app_state.get("services")
        counter = getattr(getattr(services, "metrics", None), metric, None)
        if counter is not None:
            (counter.labels(**labels) if labels else counter).inc()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """A protocol class bound to `limits` (uvicorn instantiates the class it is given)."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})


def uvicorn_config(app: Any, settings: Settings, *, host: str, **options: Any) -> uvicorn.Config:
    """The server configuration `catalyst-api serve` runs with (tests use it too)."""
    values: dict[str, Any] = {
        "host": host,
        "port": settings.port,
        "http": guarded_protocol(ConnectionLimits.from_settings(settings)),
        "limit_concurrency": settings.max_connections,
        "backlog": 2048,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": _whole_seconds(settings.shutdown_grace.total_seconds()),
        "lifespan": "on",
    }
    values.update(options)
    return uvicorn.Config(app, **values)


def _whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class StagedServer(uvicorn.Server):
    """uvicorn's server with the deployment runs stopped before the connections drain."""

    def __init__(self, config: uvicorn.Config, *, grace: float) -> None:
        super().__init__(config)
        self._grace = grace  # CATALYST_SHUTDOWN_GRACE: SIGTERM → last connection closed

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        started = time.monotonic()
        for server in self.servers:
            server.close()  # stage 0: no new connections
        state = getattr(self.lifespan, "state", {})
        supervisor = getattr(state.get("services"), "supervisor", None)
        if supervisor is not None:
            await supervisor.stop()  # stage 1: runs interrupt OpenTofu and record their state
        # Stage 2 (uvicorn): drain the connections within what is left of the grace; stage 3:
        # the lifespan unwinds (watches, jobs, the event log's last flush).
        left = self._grace - (time.monotonic() - started)
        self.config.timeout_graceful_shutdown = _whole_seconds(left)
        await super().shutdown(sockets)
