"""Pooled connections to one PostgreSQL database: async for the event loop, sync for the
worker threads that read event history (the hub reads logs off the loop in threads)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

__all__ = ["Database", "DedicatedConnection", "redact_url"]

_CONNECT_TIMEOUT = 5
T = TypeVar("T")


def redact_url(url: str) -> str:
    """The URL without its password (for logs and `/readyz`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}"))


class DedicatedConnection:
    """One async connection kept by a hot path (the event flusher, the replica's pulls): no
    pool checkout and no liveness check before each statement, so a statement costs one round
    trip. Connects on first use; any failure drops it (the next statement connects again) and
    is raised to the caller, which retries as it would with the pool. Statements of several
    tasks are serialised by the connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._connecting = asyncio.Lock()

    async def execute(self, query: str, params: Any = None) -> list[Any]:
        """Run one statement (autocommit: its own transaction) and return its rows."""

        async def one(conn: psycopg.AsyncConnection[Any]) -> list[Any]:
            cur = await conn.execute(query, params)
            return await cur.fetchall() if cur.description is not None else []

        return await self.run(one)

    async def run(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """`work(connection)`, connecting first when needed; a failure drops the connection."""
        async with self._connecting:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT
                )
            conn = self._conn
        try:
            return await work(conn)
        except BaseException:
            if self._conn is conn:
                self._conn = None
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
            raise

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()


class Database:
    """The two pools over one URL; `open()` before use, `aclose()` at the end."""

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self.url = url
        self._locks: dict[int, asyncio.Lock] = {}
        kwargs = {"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT}
        # `check`: a connection handed out is alive (after a database restart the pool's
        # old connections are dropped instead of failing the first query on each).
        self.pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs=kwargs,
            open=False,
            timeout=10.0,
            check=AsyncConnectionPool.check_connection,
        )
        self.sync_pool = ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            kwargs=kwargs,
            open=False,
            timeout=10.0,
            check=ConnectionPool.check_connection,
        )

    async def open(self) -> None:
        """Open both pools (without waiting for a connection: a database that is down is
        reported by `/readyz`, and every query retries through the pool)."""
        await self.pool.open(wait=False)
        self.sync_pool.open(wait=False)

    async def aclose(self) -> None:
        await self.pool.close()
        self.sync_pool.close()

    @contextlib.contextmanager
    def sync_connection(self) -> Iterator[psycopg.Connection]:
        """A pooled blocking connection (worker threads, start-up)."""
        with self.sync_pool.connection() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def advisory_lock(self, key: int) -> AsyncIterator[None]:
        """Hold a session advisory lock (every replica's holder waits its turn). Callers in
        this process queue on a local lock first, so waiters never hold pooled connections
        the holder needs."""
        local = self._locks.setdefault(key, asyncio.Lock())
        async with local, self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def ping(self) -> tuple[bool, str | None]:
        """`SELECT 1` on a fresh connection (blocking; `/readyz` runs it in a thread)."""
        try:
            with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            return False, f"database {redact_url(self.url)} unreachable: {_first_line(exc)}"
        return True, None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
