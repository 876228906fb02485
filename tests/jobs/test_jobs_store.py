"""JobsStore on disk (spec §9.2): upsert/merge, executions, lines, paging, sorting, batches,
file formats and modes, concurrency, lookups across deployments, safety."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from catalyst_api.jobs import (
    ExecutionNotFound,
    InvalidJobsRequest,
    Job,
    JobNotFound,
    JobsStorage,
    JobsStore,
    LogLine,
)

T0 = datetime(2026, 4, 30, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(jobs_store: JobsStorage) -> JobsStorage:
    """Files, or PostgreSQL for the `both_backends` tests' second run."""
    return jobs_store


@pytest.fixture
def files(tmp_path: Path) -> JobsStore:
    return JobsStore.open(tmp_path / "executions")


def _job(name: str, **kw: object) -> Job:
    return Job(job_name=name, app_id=name.removeprefix("install-"), batch_id="bootstrap-kit", **kw)  # type: ignore[arg-type]


def test_open_creates_a_private_directory(tmp_path: Path) -> None:
    root = tmp_path / "a" / "executions"
    JobsStore.open(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_open_fails_when_the_directory_cannot_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        JobsStore.open(blocker / "executions")


@pytest.mark.both_backends
def test_upsert_round_trips_and_merge_keeps_timestamps_and_depends_on(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        index.upsert_job(_job("install-cilium", depends_on=["install-flux"], started_at=T0))
    with store.transaction("dep1") as index:
        merged = index.upsert_job(_job("install-cilium", status="running"))
    assert merged.started_at == T0
    assert merged.depends_on == ["install-flux"]
    job = store.read("dep1").find_job("dep1:install-cilium").to_dict()
    assert job == {
        "id": "dep1:install-cilium",
        "deploymentId": "dep1",
        "jobName": "install-cilium",
        "appId": "cilium",
        "batchId": "bootstrap-kit",
        "dependsOn": ["install-flux"],
        "status": "running",
        "startedAt": "2026-04-30T10:00:00Z",
        "durationMs": 0,
    }


@pytest.mark.both_backends
def test_new_job_without_depends_on_has_an_empty_list(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        index.upsert_job(_job("install-a"))
    assert store.read("dep1").find_job("install-a").to_dict()["dependsOn"] == []


@pytest.mark.both_backends
def test_start_and_finish_execution_set_job_status_and_duration(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        job = index.upsert_job(_job("install-a"))
        execution = index.start_execution(job.id, T0)
    index = store.read("dep1")
    assert index.find_job("install-a").status == "running"
    assert index.find_job("install-a").latest_execution_id == execution.id
    assert len(execution.id) == 32 and int(execution.id, 16) >= 0
    with store.transaction("dep1") as index:
        index.finish_execution(execution.id, "succeeded", T0 + timedelta(seconds=5))
    job_dict = store.read("dep1").find_job("install-a").to_dict()
    assert job_dict["status"] == "succeeded"
    assert job_dict["durationMs"] == 5000
    assert job_dict["finishedAt"] == "2026-04-30T10:00:05Z"
    assert job_dict["latestExecutionId"] == execution.id
    exec_dict = store.read("dep1").execution(execution.id).to_dict()
    assert exec_dict == {
        "id": execution.id,
        "jobId": "dep1:install-a",
        "deploymentId": "dep1",
        "status": "succeeded",
        "startedAt": "2026-04-30T10:00:00Z",
        "finishedAt": "2026-04-30T10:00:05Z",
        "lineCount": 0,
    }


@pytest.mark.both_backends
def test_finish_with_a_non_terminal_status_is_rejected(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        execution = index.start_execution(index.upsert_job(_job("install-a")).id, T0)
        with pytest.raises(InvalidJobsRequest):
            index.finish_execution(execution.id, "running")
        with pytest.raises(ExecutionNotFound):
            index.finish_execution("0" * 32, "succeeded")
        with pytest.raises(ExecutionNotFound):
            index.append_lines("0" * 32, [LogLine("x")])


def _execution_with_lines(store: JobsStorage, n: int, dep: str = "dep1") -> str:
    with store.transaction(dep) as index:
        execution = index.start_execution(index.upsert_job(_job("install-a")).id, T0)
        index.append_lines(execution.id, [LogLine(f"line {i}") for i in range(1, n + 1)])
    return execution.id


@pytest.mark.both_backends
def test_log_pages(store: JobsStorage) -> None:
    exec_id = _execution_with_lines(store, 50)
    first = store.page_logs(exec_id, 1, 10)
    assert [line["lineNumber"] for line in first["lines"]] == list(range(1, 11))  # type: ignore[attr-defined]
    second = store.page_logs(exec_id, 11, 10)
    assert [line["message"] for line in second["lines"]] == [f"line {i}" for i in range(11, 21)]  # type: ignore[attr-defined]
    assert store.page_logs(exec_id, 10, 5)["lines"][0]["lineNumber"] == 10  # type: ignore[index]
    assert store.page_logs(exec_id, 51, 10)["lines"] == []
    assert len(store.page_logs(exec_id, 0, 0)["lines"]) == 50  # type: ignore[arg-type]
    assert len(store.page_logs(exec_id, -5, 100000)["lines"]) == 50  # type: ignore[arg-type]
    assert first["total"] == 50 and first["executionFinished"] is False
    line = first["lines"][0]  # type: ignore[index]
    assert set(line) == {"lineNumber", "timestamp", "level", "message"}
    assert line["level"] == "INFO" and line["timestamp"].endswith("Z")
    with store.transaction("dep1") as index:
        index.finish_execution(exec_id, "failed")
    assert store.page_logs(exec_id, 1, 1)["executionFinished"] is True


@pytest.mark.both_backends
def test_page_size_is_capped_at_5000(store: JobsStorage) -> None:
    exec_id = _execution_with_lines(store, 5100)
    assert len(store.page_logs(exec_id, 1, 10000)["lines"]) == 5000  # type: ignore[arg-type]
    assert len(store.page_logs(exec_id, 1, -1)["lines"]) == 500  # type: ignore[arg-type]


def test_unparsable_log_lines_are_skipped_but_keep_their_place(files: JobsStore) -> None:
    exec_id = _execution_with_lines(files, 3)
    path = files.root / "dep1" / f"{exec_id}.log"
    raw = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(raw[0] + b"{torn\n" + raw[1] + raw[2])
    page = files.page_logs(exec_id, 2, 10)
    assert [line["message"] for line in page["lines"]] == ["line 2", "line 3"]  # type: ignore[attr-defined]


@pytest.mark.both_backends
def test_missing_log_file_is_an_empty_page(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        execution = index.start_execution(index.upsert_job(_job("install-a")).id, T0)
    page = store.page_logs(execution.id, 1, 10)
    assert page == {"lines": [], "total": 0, "executionFinished": False}


@pytest.mark.both_backends
def test_jobs_sort_by_started_at_desc_then_name_and_unstarted_last(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        index.upsert_job(_job("install-keycloak"))
        index.upsert_job(_job("install-cilium", started_at=T0))
        index.upsert_job(_job("install-flux", started_at=T0 + timedelta(minutes=1)))
        index.upsert_job(_job("install-bravo", started_at=T0))
        index.upsert_job(_job("install-alpha"))
    names = [j.job_name for j in store.read("dep1").sorted_jobs()]
    assert names == [
        "install-flux",
        "install-bravo",
        "install-cilium",
        "install-alpha",
        "install-keycloak",
    ]


@pytest.mark.both_backends
def test_get_job_by_id_or_name_with_executions_newest_first(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        job = index.upsert_job(_job("install-a"))
        old = index.start_execution(job.id, T0)
        new = index.start_execution(job.id, T0 + timedelta(seconds=1))
    index = store.read("dep1")
    assert index.find_job("dep1:install-a") is not None
    assert [e.id for e in index.executions_of(index.find_job("install-a").id)] == [new.id, old.id]
    with pytest.raises(JobNotFound):
        index.find_job("install-missing")


@pytest.mark.both_backends
def test_batch_counts(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        for name, status in [
            ("a", "succeeded"),
            ("b", "failed"),
            ("c", "running"),
            ("d", "pending"),
        ]:
            index.upsert_job(_job(f"install-{name}", status=status))
        index.upsert_job(Job(job_name="loose", status=""))
    batches = [b.to_dict() for b in store.read("dep1").batches()]
    assert batches == [
        {
            "batchId": "bootstrap-kit",
            "total": 4,
            "finished": 2,
            "succeeded": 1,
            "failed": 1,
            "running": 1,
            "pending": 1,
        },
        {
            "batchId": "(unbatched)",
            "total": 1,
            "finished": 0,
            "succeeded": 0,
            "failed": 0,
            "running": 0,
            "pending": 1,
        },
    ]


def test_files_are_private_indented_and_no_temp_files_remain(files: JobsStore) -> None:
    exec_id = _execution_with_lines(files, 2)
    directory = files.root / "dep1"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    index_path = directory / "index.json"
    log_path = directory / f"{exec_id}.log"
    assert stat.S_IMODE(index_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    text = index_path.read_text()
    assert text.startswith('{\n  "deploymentId": "dep1",\n  "jobs": [')
    raw = orjson.loads(text)
    assert set(raw) == {"deploymentId", "jobs", "executions"}
    assert sorted(p.name for p in directory.iterdir()) == sorted(["index.json", log_path.name])
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines()]
    assert [line["lineNumber"] for line in lines] == [1, 2]


@pytest.mark.both_backends
def test_concurrent_appends_number_lines_contiguously(store: JobsStorage) -> None:
    with store.transaction("dep1") as index:
        job_a = index.upsert_job(_job("install-a"))
        job_b = index.upsert_job(_job("install-b"))
        exec_a = index.start_execution(job_a.id, T0).id
        exec_b = index.start_execution(job_b.id, T0).id

    def writer(i: int) -> None:
        for j in range(5):
            with store.transaction("dep1") as index:
                index.append_lines(exec_a if i % 2 else exec_b, [LogLine(f"{i}-{j}")])

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for exec_id in (exec_a, exec_b):
        page = store.page_logs(exec_id, 1, 100)
        assert [line["lineNumber"] for line in page["lines"]] == list(range(1, 51))  # type: ignore[attr-defined]
        assert page["total"] == 50


def test_executions_are_found_across_deployments_past_a_corrupt_sibling(
    files: JobsStore, tmp_path: Path
) -> None:
    exec_id = _execution_with_lines(files, 1, dep="dep2")
    (files.root / "dep1").mkdir()
    (files.root / "dep1" / "index.json").write_text("{corrupt")
    fresh = JobsStore(files.root)  # nothing cached
    dep, execution = fresh.find_execution(exec_id)
    assert (dep, execution.id) == ("dep2", exec_id)
    with pytest.raises(ExecutionNotFound):
        fresh.find_execution("f" * 32)
    with pytest.raises(ExecutionNotFound):
        fresh.find_execution("../../etc/passwd")


@pytest.mark.both_backends
@pytest.mark.parametrize("bad", ["", " ", "../escape", "a/b", "a\\b", "..", "."])
def test_unsafe_deployment_ids_are_rejected(store: JobsStorage, bad: str) -> None:
    with pytest.raises(InvalidJobsRequest):
        store.read(bad)
    with pytest.raises(InvalidJobsRequest), store.transaction(bad) as index:
        index.upsert_job(_job("install-a"))


def test_reads_never_create_directories(files: JobsStore) -> None:
    index = files.read("unknown")
    assert index.jobs == {} and index.executions == []
    assert list(files.root.iterdir()) == []
    with files.transaction("also-unknown"):
        pass
    assert list(files.root.iterdir()) == []
