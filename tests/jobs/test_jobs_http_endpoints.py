"""Jobs endpoints (spec §9.4 + DESIGN: unknown deployment → 404) through a live server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.events import Event
from catalyst_api.jobs import Job, JobsStore, LogLine
from catalyst_api.wiring import Overrides
from support.fakes import ScriptedProvisioner

T0 = datetime(2026, 4, 30, 10, 0, 0, tzinfo=UTC)
PERSISTENCE = "catalyst-api is running with persistence disabled — see Pod logs"


@pytest.fixture
def server(
    make_settings: Callable[..., Any],
    start_server: Callable[..., Any],
    scripted_overrides: Callable[..., Overrides],
) -> Any:
    # Phase 0 is held for the whole test: the jobs seen are only the ones a test puts there (a
    # run that reached Phase 1 would add the bootstrap kit's own, at a moment that depends on
    # the machine's speed).
    held = ScriptedProvisioner(gate=threading.Event())
    return start_server(make_settings(), scripted_overrides(held))


@pytest.fixture
def client(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


@pytest.fixture
def dep_id(client: httpx.Client, body: Callable[..., dict[str, Any]]) -> str:
    created = client.post("/api/v1/deployments", json=body())
    assert created.status_code == 201
    return str(created.json()["id"])


def _populate(server: Any, dep_id: str) -> dict[str, str]:
    """flux (started t0+1m, running, 50 lines), cilium (t0, succeeded), keycloak (pending)."""
    store = server.services.jobs.store
    with store.transaction(dep_id) as index:
        cilium = index.upsert_job(Job("install-cilium", "cilium", "bootstrap-kit"))
        flux = index.upsert_job(Job("install-flux", "flux", "bootstrap-kit"))
        index.upsert_job(
            Job("install-keycloak", "keycloak", "bootstrap-kit", depends_on=["install-flux"])
        )
        index.upsert_job(
            Job("mutation-create-region", "region", "day-2-mutations", status="failed")
        )
        exec_c = index.start_execution(cilium.id, T0)
        index.append_lines(exec_c.id, [LogLine("[installed] ok", "INFO", T0)])
        index.finish_execution(exec_c.id, "succeeded", T0 + timedelta(seconds=30))
        exec_f = index.start_execution(flux.id, T0 + timedelta(minutes=1))
        index.append_lines(exec_f.id, [LogLine(f"line {i}") for i in range(1, 51)])
    return {"cilium": exec_c.id, "flux": exec_f.id}


@pytest.mark.both_backends
def test_empty_job_list_is_an_empty_array(client: httpx.Client, dep_id: str) -> None:
    response = client.get(f"/api/v1/deployments/{dep_id}/jobs")
    assert response.status_code == 200
    assert response.json() == {"jobs": []}
    assert response.headers["content-type"] == "application/json"
    batches = client.get(f"/api/v1/deployments/{dep_id}/jobs/batches")
    assert batches.status_code == 200 and '"batches":[]' in batches.text


@pytest.mark.both_backends
def test_jobs_are_listed_newest_first_with_unstarted_last(
    client: httpx.Client, server: Any, dep_id: str
) -> None:
    _populate(server, dep_id)
    jobs = client.get(f"/api/v1/deployments/{dep_id}/jobs").json()["jobs"]
    assert [j["jobName"] for j in jobs] == [
        "install-flux",
        "install-cilium",
        "install-keycloak",
        "mutation-create-region",
    ]
    cilium = jobs[1]
    assert cilium["id"] == f"{dep_id}:install-cilium"
    assert cilium["status"] == "succeeded" and cilium["durationMs"] == 30000
    assert cilium["dependsOn"] == []


@pytest.mark.both_backends
def test_job_detail_has_depends_on_and_executions(
    client: httpx.Client, server: Any, dep_id: str
) -> None:
    _populate(server, dep_id)
    detail = client.get(f"/api/v1/deployments/{dep_id}/jobs/install-keycloak").json()
    assert detail["job"]["dependsOn"] == ["install-flux"]
    assert detail["executions"] == []
    by_id = client.get(f"/api/v1/deployments/{dep_id}/jobs/{dep_id}:install-flux").json()
    assert [e["status"] for e in by_id["executions"]] == ["running"]
    assert by_id["executions"][0]["lineCount"] == 50
    missing = client.get(f"/api/v1/deployments/{dep_id}/jobs/install-nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "job-not-found"})


@pytest.mark.both_backends
def test_execution_logs_are_paged(client: httpx.Client, server: Any, dep_id: str) -> None:
    execs = _populate(server, dep_id)
    page = client.get(
        f"/api/v1/actions/executions/{execs['flux']}/logs", params={"fromLine": 10, "limit": 5}
    ).json()
    assert [line["lineNumber"] for line in page["lines"]] == [10, 11, 12, 13, 14]
    assert page["total"] == 50 and page["executionFinished"] is False
    defaults = client.get(
        f"/api/v1/actions/executions/{execs['flux']}/logs?fromLine=abc&limit=x"
    ).json()
    assert len(defaults["lines"]) == 50
    finished = client.get(f"/api/v1/actions/executions/{execs['cilium']}/logs").json()
    assert finished["executionFinished"] is True
    missing = client.get(f"/api/v1/actions/executions/{'a' * 32}/logs")
    assert (missing.status_code, missing.json()) == (404, {"error": "execution-not-found"})
    blank = client.get("/api/v1/actions/executions/%20/logs")
    assert (blank.status_code, blank.json()) == (400, {"error": "missing-execId"})


@pytest.mark.both_backends
def test_batch_summaries(client: httpx.Client, server: Any, dep_id: str) -> None:
    _populate(server, dep_id)
    with server.services.jobs.store.transaction(dep_id) as index:
        index.upsert_job(Job("install-gitea", "gitea", "bootstrap-kit", status="failed"))
    response = client.get(f"/api/v1/deployments/{dep_id}/jobs/batches")
    assert response.json() == {
        "batches": [
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
                "batchId": "day-2-mutations",
                "total": 1,
                "finished": 1,
                "succeeded": 0,
                "failed": 1,
                "running": 0,
                "pending": 0,
            },
        ]
    }


@pytest.mark.both_backends
def test_unknown_deployment_is_404_and_nothing_is_created(
    client: httpx.Client, server: Any
) -> None:
    store = server.services.jobs.store
    before = _stored_deployments(store)
    for path in ("jobs", "jobs/batches", "jobs/install-cilium"):
        response = client.get(f"/api/v1/deployments/ffffffffffffffff/{path}")
        assert (response.status_code, response.json()) == (
            404,
            {"error": "deployment-not-found"},
        ), path
    traversal = client.get("/api/v1/deployments/..%5C..%5Cetc/jobs")
    assert traversal.status_code == 404
    assert _stored_deployments(store) == before


def _stored_deployments(store: Any) -> list[str]:
    """The deployments the jobs store holds anything for (directories, or rows)."""
    if isinstance(store, JobsStore):
        return sorted(p.name for p in store.root.iterdir())
    with store.db.sync_connection() as conn:
        return [r[0] for r in conn.execute("SELECT deployment_id FROM job_indexes ORDER BY 1")]


@pytest.mark.both_backends
def test_blank_ids_are_400(client: httpx.Client) -> None:
    listed = client.get("/api/v1/deployments/%20/jobs")
    assert (listed.status_code, listed.json()) == (
        400,
        {"error": "missing-depId", "detail": "deployment id path segment is required"},
    )
    job = client.get("/api/v1/deployments/abc/jobs/%20")
    assert (job.status_code, job.json()) == (400, {"error": "missing-path-params"})


def test_without_a_jobs_store_every_jobs_endpoint_is_503(
    make_settings: Callable[..., Any],
    start_server: Callable[..., Any],
    scripted_overrides: Callable[..., Overrides],
    data_root: Path,
    body: Callable[..., dict[str, Any]],
) -> None:
    blocker = data_root / "not-a-dir"
    blocker.write_text("x")
    srv = start_server(
        make_settings(CATALYST_EXECUTIONS_DIR=str(blocker / "executions")), scripted_overrides()
    )
    assert srv.services.jobs is None
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        dep = c.post("/api/v1/deployments", json=body()).json()["id"]
        listed = c.get(f"/api/v1/deployments/{dep}/jobs")
        assert (listed.status_code, listed.json()) == (
            503,
            {"error": "jobs-store-unavailable", "detail": PERSISTENCE},
        )
        for path in (
            f"/api/v1/deployments/{dep}/jobs/batches",
            f"/api/v1/deployments/{dep}/jobs/install-a",
            f"/api/v1/actions/executions/{'a' * 32}/logs",
        ):
            response = c.get(path)
            assert (response.status_code, response.json()) == (
                503,
                {"error": "jobs-store-unavailable"},
            ), path
        refresh = c.post(f"/api/v1/deployments/{dep}/refresh-watch")
        assert (refresh.status_code, refresh.json()) == (
            503,
            {"error": "jobs-store-unavailable", "detail": PERSISTENCE},
        )
        events = c.get(f"/api/v1/deployments/{dep}/events")
        assert events.status_code == 200  # the event feed does not need the jobs store


@pytest.mark.both_backends
def test_emitted_component_events_become_jobs_and_stay_in_the_buffer(
    client: httpx.Client, server: Any, dep_id: str
) -> None:
    def emit_all() -> None:
        emit = server.services.hub.emitter(dep_id)
        emit(Event(phase="tofu-apply", message="Apply complete"))
        emit(Event(phase="component", component="cilium", state="installing", message="go"))
        emit(Event(phase="component", component="cilium", state="installed", message="done"))

    server.call(emit_all)
    deadline = time.monotonic() + 5
    while True:
        jobs = client.get(f"/api/v1/deployments/{dep_id}/jobs").json()["jobs"]
        if jobs and jobs[0]["status"] == "succeeded":
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.02)
    assert [(j["jobName"], j["status"]) for j in jobs] == [("install-cilium", "succeeded")]
    events = client.get(f"/api/v1/deployments/{dep_id}/events").json()["events"]
    mine = [
        (e["phase"], e["message"])
        for e in events
        if e["message"] in ("Apply complete", "go", "done")
    ]
    assert mine == [("tofu-apply", "Apply complete"), ("component", "go"), ("component", "done")]
