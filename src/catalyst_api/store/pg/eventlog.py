"""Event history in the `events` table: `EventLog`'s surface over PostgreSQL.

`append()` never blocks: lines are queued and one flusher task inserts every queued line in one
statement (group commit, at most one per `flush_interval`, see `_run`), with
`pg_notify(CHANNEL, '<id>:<seq>')` per deployment in the same transaction, so listeners on every
replica learn of the new events when they are committed (the payload never carries content).
A batch that fails (database down) stays queued and is retried with a backoff; the primary key
(deployment_id, seq) makes a retry of a batch that did commit a no-op, so nothing is lost or
duplicated across a database restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
import psycopg
import structlog
from psycopg_pool import PoolTimeout

from ..eventlog import LogInfo
from .database import Database, DedicatedConnection

__all__ = ["CHANNEL", "PgEventLog"]

log = structlog.get_logger(__name__)

CHANNEL = "catalyst_events"
_PAGE = 1000
_RETRY_MIN, _RETRY_MAX = 0.1, 2.0
_INSERT = (
    "INSERT INTO events (deployment_id, seq, body) VALUES (%s, %s, %s) "
    "ON CONFLICT (deployment_id, seq) DO NOTHING"
)


_ONE_STATEMENT_ROWS = 200
_NOTIFY = "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload"
_WRITE = (
    "WITH written AS (INSERT INTO events (deployment_id, seq, body) "
    "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[]) "
    "ON CONFLICT (deployment_id, seq) DO NOTHING) "
    "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload"
)


def _info(lines: int, last_seq: int) -> LogInfo:
    return LogInfo(lines=lines, last_seq=last_seq, disk_lines=lines)


class PgEventLog:
    """Durable per-deployment events in PostgreSQL with group commit."""

    def __init__(self, db: Database, *, flush_interval: float = 0.02) -> None:
        self.db = db
        self.enabled = True
        self.flush_interval = flush_interval
        self._pending: dict[str, list[tuple[int, bytes]]] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._indexer: asyncio.Task[None] | None = None
        self._info: dict[str, LogInfo] = {}
        self.on_durable: Callable[[int], None] | None = None
        self.bytes_read = 0
        # The hot paths' own connections: the flusher's writes, the pulls of other replicas'
        # events (one round trip each, see `DedicatedConnection`).
        self._writer = DedicatedConnection(db.url)
        self._reader = DedicatedConnection(db.url)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pg-eventlog:flusher")
        if self._indexer is None:
            self._indexer = asyncio.create_task(self._index_all(), name="pg-eventlog:indexer")

    async def aclose(self, *, flush_timeout: float = 10.0) -> None:
        """Flush what is queued (for at most `flush_timeout` when the database is down)."""
        try:
            async with asyncio.timeout(flush_timeout):
                await self.flush()
        except TimeoutError:
            lost = sum(len(v) for v in self._pending.values())
            log.error("event log: database unreachable at shutdown", events_not_written=lost)
        for task in (self._task, self._indexer):
            if task is not None and not task.done():
                task.cancel()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._indexer = None
        await self._writer.aclose()
        await self._reader.aclose()

    # --- index -----------------------------------------------------------------------------------

    async def _index_all(self) -> None:
        try:
            async with self.db.pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT deployment_id, count(*), max(seq) FROM events GROUP BY 1"
                )
                rows = await cur.fetchall()
        except psycopg.Error as exc:  # logs are then indexed one by one on demand
            log.warning("event log indexing failed", error=str(exc))
            return
        for deployment_id, lines, last_seq in rows:
            self._info.setdefault(deployment_id, _info(lines, last_seq))

    async def indexed(self) -> None:
        if self._indexer is None:
            self._indexer = asyncio.create_task(self._index_all(), name="pg-eventlog:indexer")
        await asyncio.shield(self._indexer)

    def info(self, deployment_id: str) -> LogInfo | None:
        return self._info.get(deployment_id)

    def _query_info(self, deployment_id: str) -> LogInfo:
        with self.db.sync_connection() as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(max(seq), 0) FROM events WHERE deployment_id = %s",
                (deployment_id,),
            ).fetchone()
        return _info(*row) if row else LogInfo()

    def info_sync(self, deployment_id: str) -> LogInfo:
        info = self._info.get(deployment_id)
        if info is None:
            info = self._query_info(deployment_id)
            self._info[deployment_id] = info
        return info

    async def index(self, deployment_id: str) -> LogInfo:
        info = self._info.get(deployment_id)
        if info is None:
            scanned = await asyncio.to_thread(self._query_info, deployment_id)
            info = self._info.setdefault(deployment_id, scanned)
        return info

    async def index_many(self, deployment_ids: list[str]) -> None:
        unknown = [d for d in dict.fromkeys(deployment_ids) if d not in self._info]
        if not unknown:
            return
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT deployment_id, count(*), max(seq) FROM events "
                "WHERE deployment_id = ANY(%s) GROUP BY 1",
                (unknown,),
            )
            found = {row[0]: _info(row[1], row[2]) for row in await cur.fetchall()}
        for deployment_id in unknown:
            self._info.setdefault(deployment_id, found.get(deployment_id, LogInfo()))

    def count(self, deployment_id: str) -> int | None:
        info = self._info.get(deployment_id)
        return None if info is None else info.lines

    def forget(self, deployment_id: str) -> None:
        """Drop the index of a log (read again from the database when next needed)."""
        if deployment_id not in self._pending:
            self._info.pop(deployment_id, None)

    def observed(self, deployment_id: str, seq: int) -> bool:
        """Another replica committed events of this deployment up to `seq`: advance the
        index (lines and seqs are dense). True when that is news."""
        info = self._info.get(deployment_id)
        if info is None:
            return True
        if seq <= info.last_seq:
            return False
        info.lines += seq - info.last_seq
        info.disk_lines = info.lines
        info.last_seq = seq
        return True

    # --- writing ---------------------------------------------------------------------------------

    def append(self, deployment_id: str, line: bytes, *, seq: int | None = None) -> None:
        info = self.info_sync(deployment_id)
        info.lines += 1
        info.last_seq = seq if seq is not None else info.last_seq + 1
        self._pending.setdefault(deployment_id, []).append((info.last_seq, line))
        self._idle.clear()
        self._wakeup.set()

    def has_pending(self, deployment_id: str) -> bool:
        return deployment_id in self._pending or not self._idle.is_set()

    async def flush(self) -> None:
        """Wait until every event queued before this call is committed."""
        if self._task is None:
            if self._pending:
                batch, self._pending = self._pending, {}
                await self._write(batch)
                self._idle.set()
            return
        while self._pending or not self._idle.is_set():
            self._wakeup.set()
            await self._idle.wait()

    async def _run(self) -> None:
        """Group commit spaced by `flush_interval`: a batch starts at once when the previous
        one started at least `flush_interval` ago (a lone event is committed — and announced
        to the other replicas — without waiting), else when that interval is up, taking
        every line queued meanwhile. At most one commit per interval, as with a timer, but
        no added latency when events are sparse (20 events/s is one every 50 ms)."""
        backoff = _RETRY_MIN
        last_start = -self.flush_interval
        while True:
            await self._wakeup.wait()
            wait = last_start + self.flush_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._wakeup.clear()
            batch, self._pending = self._pending, {}
            if batch:
                last_start = time.monotonic()
                try:
                    await self._write(batch)
                    backoff = _RETRY_MIN
                except (psycopg.Error, OSError, PoolTimeout) as exc:
                    self._requeue(batch)
                    log.warning("event log write failed; retrying", error=str(exc))
                    await asyncio.sleep(backoff)
                    backoff = min(_RETRY_MAX, backoff * 2)
                    self._wakeup.set()
                    continue
            if not self._pending:
                self._idle.set()

    def _requeue(self, batch: dict[str, list[tuple[int, bytes]]]) -> None:
        for deployment_id, rows in batch.items():
            self._pending[deployment_id] = rows + self._pending.get(deployment_id, [])

    async def _write(self, batch: dict[str, list[tuple[int, bytes]]]) -> None:
        """A batch and a notification per deployment, delivered when it commits. A small
        batch (a lone event: the live case) is one statement, its own transaction: one round
        trip, and every round trip here also waits behind the loop's other work (the
        subscribers the emit woke), so that keeps emit → commit → other replicas short. A
        large one (a burst) is a pipelined insert in a transaction, for throughput (about a
        quarter faster than the arrays for thousands of rows, `bench_ha` append). A
        failure leaves the batch queued; the next try connects again."""
        ids: list[str] = []
        seqs: list[int] = []
        bodies: list[str] = []
        for deployment_id, rows in batch.items():
            for seq, line in rows:
                ids.append(deployment_id)
                seqs.append(seq)
                bodies.append(line.decode())
        payloads = [f"{d}:{rows[-1][0]}" for d, rows in batch.items()]
        if len(seqs) <= _ONE_STATEMENT_ROWS:
            await self._writer.execute(_WRITE, (ids, seqs, bodies, CHANNEL, payloads))
        else:

            async def pipelined(conn: psycopg.AsyncConnection[Any]) -> None:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.executemany(_INSERT, list(zip(ids, seqs, bodies, strict=True)))
                    await cur.execute(_NOTIFY, (CHANNEL, payloads))

            await self._writer.run(pipelined)
        if self.on_durable is not None:
            self.on_durable(len(seqs))

    def replace_sync(self, deployment_id: str, lines: Iterable[bytes]) -> None:
        """Replace a deployment's events (migration of embedded events, import)."""
        rows: list[tuple[str, int, str]] = []
        for number, line in enumerate(lines, start=1):
            seq = number
            with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                found = orjson.loads(line).get("seq")
                if isinstance(found, int) and found > 0:
                    seq = found
            rows.append((deployment_id, seq, line.decode()))
        with self.db.sync_connection() as conn, conn.transaction():
            conn.execute("DELETE FROM events WHERE deployment_id = %s", (deployment_id,))
            with conn.cursor() as cur:
                cur.executemany(_INSERT, rows)
        self._info[deployment_id] = _info(len(rows), max((r[1] for r in rows), default=0))

    # --- reading ---------------------------------------------------------------------------------

    def has_log(self, deployment_id: str) -> bool:
        with self.db.sync_connection() as conn:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM events WHERE deployment_id = %s)", (deployment_id,)
            ).fetchone()
        return bool(row and row[0])

    def read_sync(self, deployment_id: str) -> list[dict[str, Any]]:
        return list(self._iter_after(deployment_id, 0))

    async def read(self, deployment_id: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.read_sync, deployment_id)

    async def read_after(self, deployment_id: str, after_seq: int) -> list[tuple[int, bytes]]:
        """Events with `seq > after_seq` as stored (the JSON the emitter streamed), on the
        loop: what a replica pulls when another one announced new events."""
        rows = await self._reader.execute(
            "SELECT seq, body FROM events WHERE deployment_id = %s AND seq > %s "
            "ORDER BY seq LIMIT %s",
            (deployment_id, after_seq, _PAGE * 10),
        )
        return [(int(seq), body.encode()) for seq, body in rows]

    def iter_from(
        self, deployment_id: str, after_line: int
    ) -> tuple[int, Iterator[dict[str, Any]]]:
        """Events with `seq > after_line`, in pages (seqs are dense: line n has seq n)."""
        return after_line, self._iter_after(deployment_id, after_line)

    def _iter_after(self, deployment_id: str, after: int) -> Iterator[dict[str, Any]]:
        while True:
            with self.db.sync_connection() as conn:
                rows = conn.execute(
                    "SELECT seq, body FROM events WHERE deployment_id = %s AND seq > %s "
                    "ORDER BY seq LIMIT %s",
                    (deployment_id, after, _PAGE),
                ).fetchall()
            for seq, body in rows:
                after = seq
                self.bytes_read += len(body)
                try:
                    obj = orjson.loads(body)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    yield obj
            if len(rows) < _PAGE:
                return
