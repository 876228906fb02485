"""LISTEN on the store's channels over one dedicated connection, reconnecting with a backoff.

Payloads name a deployment and a position (`<id>:<seq>`, `<id>:begin`), never content. After a
reconnect `on_reconnect` runs first: notifications sent while the connection was down are lost,
so the receiver re-reads what it follows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import psycopg
import structlog

from .database import redact_url

__all__ = ["PgListener"]

log = structlog.get_logger(__name__)

Handler = Callable[[str, str], None]  # (channel, payload)


class PgListener:
    """Delivers every notification on `channels` to `handler`, in commit order."""

    def __init__(
        self,
        url: str,
        channels: list[str],
        handler: Handler,
        *,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.channels = channels
        self.handler = handler
        self.on_reconnect = on_reconnect
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pg-listener")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=5
                )
            except (psycopg.Error, OSError) as exc:
                log.warning("listener: database unreachable", error=str(exc).splitlines()[0])
                await asyncio.sleep(backoff)
                backoff = min(2.0, backoff * 2)
                continue
            backoff = 0.1
            try:
                async with conn:
                    for channel in self.channels:
                        await conn.execute(f"LISTEN {channel}".encode())
                    self.connected.set()
                    if not first:
                        log.info("listener reconnected", database=redact_url(self.url))
                    if self.on_reconnect is not None and not first:
                        await self.on_reconnect()
                    first = False
                    async for note in conn.notifies():
                        try:
                            self.handler(note.channel, note.payload)
                        except Exception:
                            log.exception("listener handler failed", channel=note.channel)
            except (psycopg.Error, OSError) as exc:
                log.warning("listener connection lost", error=str(exc).splitlines()[0])
            finally:
                self.connected.clear()
            first = False  # a reconnect always resyncs, even after a failed first session
            await asyncio.sleep(backoff)
