"""Opens the store backend: flat files under a directory, or PostgreSQL when a URL is given."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from .eventlog import EventLog
from .ports import EventStorage, RecordStorage
from .records import RecordStore

__all__ = ["OpenedStore", "open_store"]

log = structlog.get_logger(__name__)


@dataclass
class OpenedStore:
    """The record store, the started event log, and the database when there is one."""

    records: RecordStorage
    eventlog: EventStorage
    database: Any = None  # store.pg.Database with CATALYST_DATABASE_URL


async def open_store(
    stack: contextlib.AsyncExitStack,
    *,
    directory: Path,
    database_url: str = "",
    flush_interval: float = 0.02,
) -> OpenedStore:
    """The record store and the started event log; closed by `stack`. With `database_url`
    the schema is migrated first (under the migrations' advisory lock)."""
    if not database_url:
        records = RecordStore(directory)
        records.open()
        eventlog = EventLog(directory, enabled=records.writable, flush_interval=flush_interval)
        await eventlog.start()
        stack.push_async_callback(eventlog.aclose)
        return OpenedStore(records, eventlog)

    from .pg import Database, PgEventLog, PgRecordStore, redact_url

    db = Database(database_url)
    await db.open()
    stack.push_async_callback(db.aclose)
    try:
        await asyncio.to_thread(_migrate, db)
    except Exception as exc:  # psycopg.Error, OSError: /readyz reports it; writes retry
        log.error("database migration failed", database=redact_url(database_url), error=str(exc))
    pg_records = PgRecordStore(db)
    await asyncio.to_thread(pg_records.open)
    pg_events = PgEventLog(db, flush_interval=flush_interval)
    await pg_events.start()
    stack.push_async_callback(pg_events.aclose)
    return OpenedStore(pg_records, pg_events, db)


def _migrate(db: Any) -> None:
    from .pg import migrate

    with db.sync_connection() as conn:
        migrate(conn)
