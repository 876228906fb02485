"""Numbered SQL migrations (`migrations/NNNN_name.sql`), applied in order, each once, in one
transaction each, under a session advisory lock so replicas starting together never race."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
import structlog

__all__ = ["MIGRATIONS_LOCK", "Migration", "applied_versions", "migrate", "migration_files"]

log = structlog.get_logger(__name__)

MIGRATIONS_LOCK = 0x0CA7A1_57  # pg_advisory_lock key of the migrator
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migration_files() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    return found


def applied_versions(conn: psycopg.Connection) -> list[int]:
    """Versions recorded in `schema_migrations` (empty before the first migration)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the missing migrations (autocommit connection); returns the versions applied."""
    applied: list[int] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATIONS_LOCK,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = set(applied_versions(conn))
        for migration in migration_files():
            if migration.version in done:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            log.info("database migration applied", version=migration.version, name=migration.name)
            applied.append(migration.version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATIONS_LOCK,))
    return applied
