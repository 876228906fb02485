"""`catalyst-api db import DIR`: load a flat-file store (ours, or the original Go service's
records with embedded events) into PostgreSQL. Idempotent: a deployment already in the
database is left as it is, so importing twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from psycopg.types.json import Jsonb

from ..eventlog import EventLog
from ..records import RecordStore
from .database import Database

__all__ = ["ImportReport", "import_directory"]


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    events: int = 0


def _event_lines(raw: dict[str, Any], events_log: EventLog, deployment_id: str) -> list[bytes]:
    """The deployment's events with `seq` 1..n: `<id>.events.jsonl` when present, else the
    record's embedded `events` (the original's format)."""
    items: list[dict[str, Any]] = []
    if events_log.has_log(deployment_id):
        items = events_log.read_sync(deployment_id)
    elif isinstance(raw.get("events"), list):
        items = [e for e in raw["events"] if isinstance(e, dict)]
    lines = []
    last = 0
    for item in items:
        item = dict(item)
        seq = item.get("seq")
        last = seq if isinstance(seq, int) and seq > last else last + 1
        item["seq"] = last
        lines.append(orjson.dumps(item))
    return lines


def import_directory(db: Database, directory: Path) -> ImportReport:
    """Import every record (and its events) of `directory` that the database lacks."""
    report = ImportReport()
    records = RecordStore(directory)
    events_log = EventLog(directory)

    def skipped(path: Any, why: str) -> None:
        report.skipped.append((str(path), why))

    with db.sync_connection() as conn:
        for _path, raw in records.iter_records(skipped):
            deployment_id = raw["id"]
            lines = _event_lines(raw, events_log, deployment_id)
            with conn.transaction():
                cur = conn.execute(
                    "INSERT INTO deployments (id, record) VALUES (%s, %s) "
                    "ON CONFLICT (id) DO NOTHING",
                    (deployment_id, Jsonb(raw)),
                )
                if cur.rowcount == 0:
                    report.already_present.append(deployment_id)
                    continue
                _reserve_pool_name(conn, deployment_id, raw)
                with conn.cursor() as ev:
                    ev.executemany(
                        "INSERT INTO events (deployment_id, seq, body) VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        [
                            (deployment_id, orjson.loads(line)["seq"], line.decode())
                            for line in lines
                        ],
                    )
            report.imported.append(deployment_id)
            report.events += len(lines)
    return report


def _reserve_pool_name(conn: Any, deployment_id: str, raw: dict[str, Any]) -> None:
    """A pool deployment's name in `pool_reservations` (its status says whether it still holds
    it); an earlier holder of the name keeps the row."""
    request = raw.get("request")
    if not isinstance(request, dict) or request.get("sovereignDomainMode") != "pool":
        return
    pool = str(request.get("sovereignPoolDomain") or "").strip().lower()
    sub = str(request.get("sovereignSubdomain") or "").strip().lower()
    if pool and sub:
        conn.execute(
            "INSERT INTO pool_reservations (pool_domain, subdomain, deployment_id) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (pool, sub, deployment_id),
        )
