"""The jobs store in PostgreSQL (`CATALYST_DATABASE_URL`): the same surface as the flat-file
`JobsStore`, shared by every replica.

- `job_indexes`: one row per deployment holding the document `index.json` holds on disk;
  `job_executions`: execution id → deployment; `job_log_lines`: one row per numbered line.
- A transaction runs in one database transaction under a transaction-level advisory lock on the
  deployment (the key space of two `int4`s, apart from the service's other locks), so two
  replicas never interleave the mutations of one deployment: lines first, then the index, one
  commit, as the file store's group commit.
- The database's errors are translated here into `JobsError` (the service answers 500
  `store-read-failed`, the bridge logs and goes on), never leaked as driver exceptions.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg

from ..store.pg import Database
from .index import ExecutionNotFound, JobsError, JobsIndex
from .models import Execution
from .ports import check_deployment_id, check_execution_id, log_page, page_window

__all__ = ["JOBS_LOCK_CLASS", "JobsImport", "PgJobsStore", "import_jobs"]

JOBS_LOCK_CLASS = 0x10B5  # first key of pg_advisory_xact_lock(int4, int4) for jobs


class PgJobsStore:
    """Jobs, executions and log lines of every deployment in one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, deployment_id: str) -> threading.Lock:
        """Threads of this process queue here first, so a waiter never holds a pooled
        connection the holder's commit needs."""
        with self._locks_guard:
            return self._locks.setdefault(deployment_id, threading.Lock())

    @contextlib.contextmanager
    def transaction(self, deployment_id: str) -> Iterator[JobsIndex]:
        """Load, let the caller mutate, commit once (nothing is written if the body raises)."""
        check_deployment_id(deployment_id)
        with (
            self._lock(deployment_id),
            _translated(),
            self.db.sync_connection() as conn,
            conn.transaction(),
        ):
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (JOBS_LOCK_CLASS, deployment_id)
            )
            index = _load(conn, deployment_id)
            known = {e.id for e in index.executions}
            yield index
            if index.dirty or index.pending_lines:
                _commit(conn, index, known)

    def read(self, deployment_id: str) -> JobsIndex:
        """A consistent snapshot of one deployment (empty when it has no jobs)."""
        check_deployment_id(deployment_id)
        with _translated(), self.db.sync_connection() as conn:
            return _load(conn, deployment_id)

    def find_execution(self, execution_id: str) -> tuple[str, Execution]:
        check_execution_id(execution_id)
        with _translated(), self.db.sync_connection() as conn:
            row = conn.execute(
                "SELECT deployment_id FROM job_executions WHERE execution_id = %s",
                (execution_id,),
            ).fetchone()
            if row is None:
                raise ExecutionNotFound(execution_id)
            return row[0], _load(conn, row[0]).execution(execution_id)

    def page_logs(self, execution_id: str, from_line: int, limit: int) -> dict[str, object]:
        """`{"lines", "total", "executionFinished"}`: lines numbered ≥ `from_line`, at most
        `limit` (≤0 → 500, capped at 5000)."""
        _, execution = self.find_execution(execution_id)
        start, size = page_window(from_line, limit)
        with _translated(), self.db.sync_connection() as conn:
            rows = conn.execute(
                "SELECT body FROM job_log_lines WHERE execution_id = %s AND line_number >= %s "
                "ORDER BY line_number LIMIT %s",
                (execution_id, start, size),
            ).fetchall()
        return log_page(execution, (row[0] for row in rows), size)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()
        raise JobsError(f"jobs store: database error: {first[0] if first else exc}") from None


def _load(conn: psycopg.Connection, deployment_id: str) -> JobsIndex:
    row = conn.execute(
        "SELECT body::text FROM job_indexes WHERE deployment_id = %s", (deployment_id,)
    ).fetchone()
    if row is None:
        return JobsIndex(deployment_id)
    raw = orjson.loads(row[0])
    if not isinstance(raw, dict):
        raise JobsError(f"corrupt jobs index for deployment {deployment_id}")
    return JobsIndex.from_dict(deployment_id, raw)


def _commit(conn: psycopg.Connection, index: JobsIndex, known: set[str]) -> None:
    lines = [
        (execution_id, line.line_number, orjson.dumps(line.to_dict()).decode())
        for execution_id, pending in index.pending_lines.items()
        for line in pending
    ]
    with conn.cursor() as cur:
        if lines:
            cur.executemany(
                "INSERT INTO job_log_lines (execution_id, line_number, body) VALUES (%s, %s, %s)",
                lines,
            )
        index.pending_lines.clear()
        if not index.dirty:
            return
        new = [(e.id, index.deployment_id) for e in index.executions if e.id not in known]
        if new:
            cur.executemany(
                "INSERT INTO job_executions (execution_id, deployment_id) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                new,
            )
        cur.execute(
            "INSERT INTO job_indexes (deployment_id, body) VALUES (%s, %s::jsonb) "
            "ON CONFLICT (deployment_id) DO UPDATE SET body = EXCLUDED.body, updated_at = now()",
            (index.deployment_id, orjson.dumps(index.to_dict()).decode()),
        )
    index.dirty = False


@dataclass
class JobsImport:
    """What `import_jobs` did, by deployment id."""

    imported: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (deployment id, why)


def import_jobs(db: Database, directory: Path) -> JobsImport:
    """`db import`: load a flat-file jobs store (`<dir>/<depId>/index.json` + `<execId>.log`)
    into the database; a deployment whose jobs are there already is left as it is, a corrupt
    index is skipped (reported)."""
    from .store import JobsStore

    files = JobsStore(directory)
    report = JobsImport()
    imported, present = report.imported, report.already_present
    entries = sorted(p.name for p in directory.iterdir() if (p / "index.json").is_file())
    with _translated(), db.sync_connection() as conn:
        for deployment_id in entries:
            try:
                index = files.read(deployment_id)
            except (JobsError, OSError) as exc:
                report.skipped.append((deployment_id, str(exc)))
                continue
            with conn.transaction():
                cur = conn.execute(
                    "INSERT INTO job_indexes (deployment_id, body) VALUES (%s, %s::jsonb) "
                    "ON CONFLICT (deployment_id) DO NOTHING",
                    (deployment_id, orjson.dumps(index.to_dict()).decode()),
                )
                if cur.rowcount == 0:
                    present.append(deployment_id)
                    continue
                with conn.cursor() as rows:
                    rows.executemany(
                        "INSERT INTO job_executions (execution_id, deployment_id) "
                        "VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        [(e.id, deployment_id) for e in index.executions],
                    )
                    for execution in index.executions:
                        rows.executemany(
                            "INSERT INTO job_log_lines (execution_id, line_number, body) "
                            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                            _stored_lines(directory / deployment_id / f"{execution.id}.log"),
                        )
            imported.append(deployment_id)
    return report


def _stored_lines(path: Path) -> list[tuple[str, int, str]]:
    """(execution id, line number, line) for each line of a log file, numbered by position
    as the file store pages them."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    execution_id = path.name.removesuffix(".log")
    return [
        (execution_id, number, raw.decode("utf-8", "replace"))
        for number, raw in enumerate(data.splitlines(), start=1)
    ]
