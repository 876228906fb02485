"""The jobs store of the test's backend (`store_backend`): files under tmp_path, or the
PostgreSQL store over the test's fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalyst_api.jobs import JobsStorage, JobsStore
from catalyst_api.jobs.pgstore import PgJobsStore
from catalyst_api.store.pg import Database


@pytest.fixture
def jobs_db(database_url: str) -> Iterator[Database | None]:
    """An opened `Database` (sync pool) on the test's database; None on the file backend."""
    if not database_url:
        yield None
        return
    db = Database(database_url)
    db.sync_pool.open(wait=True, timeout=10)
    try:
        yield db
    finally:
        db.sync_pool.close()


@pytest.fixture
def jobs_store(tmp_path: Path, jobs_db: Database | None) -> JobsStorage:
    """`JobsStore` under tmp_path, or `PgJobsStore` when the test runs on PostgreSQL."""
    if jobs_db is None:
        return JobsStore.open(tmp_path / "executions")
    return PgJobsStore(jobs_db)
