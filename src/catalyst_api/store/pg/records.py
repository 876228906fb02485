"""Deployment records in the `deployments` table (one JSONB row per deployment, upserted)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout

from ..ids import is_safe_id
from ..ports import OnSkip
from ..records import StoreError
from .database import Database, redact_url

__all__ = ["RECORDS_CHANNEL", "PgRecordStore"]

log = structlog.get_logger(__name__)

RECORDS_CHANNEL = "catalyst_records"
_NOTIFY = "SELECT pg_notify('catalyst_records', %s)"
_UPSERT = (
    "INSERT INTO deployments (id, record, updated_at) VALUES (%s, %s, now()) "
    "ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, updated_at = now()"
)


class PgRecordStore:
    """`RecordStore`'s surface over PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.writable = False
        self.problem: str | None = None
        self._lock = asyncio.Lock()
        self.retry_for = 30.0

    def open(self) -> bool:
        """Probe the database once; never raises (a database that is down is retried by
        every later call and reported by `/readyz`)."""
        ok, problem = self.db.ping()
        self.writable = True  # writes go through the pool, which reconnects
        self.problem = problem
        if not ok:
            log.warning("deployment database unavailable at start", problem=problem)
        return ok

    def check_writable(self) -> tuple[bool, str | None]:
        return self.db.ping()

    def describe(self) -> dict[str, str]:
        return {"database": redact_url(self.db.url)}

    def save_sync(self, deployment_id: str, record: dict[str, Any]) -> None:
        if not is_safe_id(deployment_id):
            raise StoreError(f"unsafe deployment id {deployment_id!r}")
        with self.db.sync_connection() as conn, conn.transaction():
            conn.execute(_UPSERT, (deployment_id, Jsonb(record)))
            conn.execute(_NOTIFY, (deployment_id,))

    async def save(self, deployment_id: str, record: dict[str, Any]) -> bool:
        """Upsert one record, retrying for up to `retry_for` seconds while the database is
        unreachable (a restart); a failure after that is logged, not raised (like the file
        store). Saves are serialized so a later state never loses to an earlier one."""
        if not is_safe_id(deployment_id):
            log.warning("deployment record save failed", deployment_id=deployment_id)
            return False
        async with self._lock:
            loop = asyncio.get_running_loop()
            deadline, delay = loop.time() + self.retry_for, 0.1
            while True:
                try:
                    async with self.db.pool.connection() as conn, conn.transaction():
                        await conn.execute(_UPSERT, (deployment_id, Jsonb(record)))
                        await conn.execute(_NOTIFY, (deployment_id,))
                    return True
                except (psycopg.Error, OSError, PoolTimeout) as exc:
                    if loop.time() + delay > deadline:
                        log.warning(
                            "deployment record save failed",
                            deployment_id=deployment_id,
                            error=str(exc),
                        )
                        return False
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    def iter_records(self, on_skip: OnSkip) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every record, by id: `(label, raw record)`; non-object rows go to `on_skip`."""
        with self.db.sync_connection() as conn:
            rows = conn.execute("SELECT id, record FROM deployments ORDER BY id").fetchall()
        for row_id, raw in rows:
            label = f"deployments/{row_id}"
            if not isinstance(raw, dict):
                on_skip(label, "not a JSON object")
                continue
            if raw.get("id") != row_id or not is_safe_id(row_id):
                on_skip(label, "missing or invalid id")
                continue
            yield label, raw

    def get_sync(self, deployment_id: str) -> dict[str, Any] | None:
        """One record by id (None when absent)."""
        with self.db.sync_connection() as conn:
            row = conn.execute(
                "SELECT record FROM deployments WHERE id = %s", (deployment_id,)
            ).fetchone()
        return row[0] if row and isinstance(row[0], dict) else None

    async def changed_since(
        self, since: datetime | None
    ) -> list[tuple[str, dict[str, Any], datetime]]:
        """Records updated after `since` (all when None): (id, record, updated_at)."""
        async with self.db.pool.connection() as conn:
            if since is None:
                cur = await conn.execute("SELECT id, record, updated_at FROM deployments")
            else:
                cur = await conn.execute(
                    "SELECT id, record, updated_at FROM deployments WHERE updated_at > %s",
                    (since,),
                )
            rows = await cur.fetchall()
        return [(r[0], r[1], r[2]) for r in rows if isinstance(r[1], dict)]

    async def get(self, deployment_id: str) -> dict[str, Any] | None:
        """One record by id, on the loop (None when absent)."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT record FROM deployments WHERE id = %s", (deployment_id,)
            )
            row = await cur.fetchone()
        return row[0] if row and isinstance(row[0], dict) else None

    def remove_stale_temp_files(self) -> int:
        return 0  # no temp files in a database
