"""The jobs store in PostgreSQL as two replicas see it: one store per replica over one
database, transactions of both serialised per deployment, `db import` of a flat-file jobs
store (issue 16)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalyst_api.cli import main
from catalyst_api.jobs import Job, JobsStore, LogLine
from catalyst_api.jobs.pgstore import PgJobsStore, import_jobs
from catalyst_api.store.pg import Database

T0 = datetime(2026, 4, 30, 10, 0, 0, tzinfo=UTC)

pytestmark = pytest.mark.parametrize("store_backend", ["postgres"], indirect=True)


def _replicas(jobs_db: Database | None) -> tuple[PgJobsStore, PgJobsStore]:
    assert jobs_db is not None
    other = Database(jobs_db.url)
    other.sync_pool.open(wait=True, timeout=10)
    return PgJobsStore(jobs_db), PgJobsStore(other)


def test_two_replicas_share_jobs_and_number_lines_contiguously(jobs_db: Database | None) -> None:
    a, b = _replicas(jobs_db)
    try:
        with a.transaction("dep1") as index:
            job = index.upsert_job(Job("install-cilium", "cilium", "bootstrap-kit"))
            exec_id = index.start_execution(job.id, T0).id

        def writer(store: PgJobsStore, name: str) -> None:
            for i in range(10):
                with store.transaction("dep1") as index:
                    index.append_lines(exec_id, [LogLine(f"{name}-{i}")])

        threads = [threading.Thread(target=writer, args=(s, n)) for s, n in ((a, "a"), (b, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for store in (a, b):
            owner, execution = store.find_execution(exec_id)
            assert (owner, execution.line_count) == ("dep1", 20)
            page = store.page_logs(exec_id, 1, 100)
            assert [line["lineNumber"] for line in page["lines"]] == list(range(1, 21))  # type: ignore[attr-defined]
            assert store.read("dep1").find_job("install-cilium").status == "running"
    finally:
        b.db.sync_pool.close()


def test_a_failed_transaction_writes_nothing(jobs_db: Database | None) -> None:
    a, b = _replicas(jobs_db)
    try:

        def half_way() -> None:
            with a.transaction("dep1") as index:
                job = index.upsert_job(Job("install-a", "a", "bootstrap-kit"))
                index.append_lines(index.start_execution(job.id, T0).id, [LogLine("x")])
                raise RuntimeError("the bridge failed half-way")

        with pytest.raises(RuntimeError):
            half_way()
        assert b.read("dep1").jobs == {}
    finally:
        b.db.sync_pool.close()


def test_import_of_a_flat_file_jobs_store_is_idempotent(
    jobs_db: Database | None, tmp_path: Path
) -> None:
    assert jobs_db is not None
    files = JobsStore.open(tmp_path / "executions")
    with files.transaction("dep1") as index:
        job = index.upsert_job(Job("install-flux", "flux", "bootstrap-kit"))
        execution = index.start_execution(job.id, T0)
        index.append_lines(execution.id, [LogLine(f"line {i}", "INFO", T0) for i in (1, 2, 3)])
        index.finish_execution(execution.id, "succeeded", T0)
    (files.root / "dep0").mkdir()
    (files.root / "dep0" / "index.json").write_text("{corrupt")
    first = import_jobs(jobs_db, files.root)
    assert (first.imported, first.already_present) == (["dep1"], [])
    assert [name for name, _ in first.skipped] == ["dep0"]
    again = import_jobs(jobs_db, files.root)
    assert (again.imported, again.already_present) == ([], ["dep1"])
    shared = PgJobsStore(jobs_db)
    assert shared.read("dep1").to_dict() == files.read("dep1").to_dict()
    assert shared.page_logs(execution.id, 2, 10) == files.page_logs(execution.id, 2, 10)


def test_db_import_loads_the_jobs_store_too(
    database_url: str,
    jobs_db: Database | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert jobs_db is not None
    files = JobsStore.open(tmp_path / "executions")
    with files.transaction("0123456789abcdef") as index:
        index.upsert_job(Job("install-flux", "flux", "bootstrap-kit"))
    (tmp_path / "deployments").mkdir()
    monkeypatch.setenv("CATALYST_DATABASE_URL", database_url)
    monkeypatch.setenv("CATALYST_EXECUTIONS_DIR", str(files.root))
    assert main(["db", "import", str(tmp_path / "deployments")]) == 0
    assert "imported the jobs of 1 deployments; 0 already" in capsys.readouterr().out
    args = ["db", "import", str(tmp_path / "deployments"), "--executions", str(files.root)]
    assert main(args) == 0
    assert "imported the jobs of 0 deployments; 1 already" in capsys.readouterr().out
    assert PgJobsStore(jobs_db).read("0123456789abcdef").job_named("install-flux") is not None
    missing = ["db", "import", str(tmp_path / "deployments"), "--executions", str(tmp_path / "x")]
    assert main(missing) == 1
    assert "is not a directory" in capsys.readouterr().err
