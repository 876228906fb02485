"""Several replicas over one PostgreSQL database: cross-replica streams, failover after kill -9,
creates serialised across replicas, kubeconfig PUTs on any replica (issue 16)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from catalyst_api.client.sse import SseFrame
from catalyst_api.deployments.machine import orphan_message
from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.postgres import PostgresServer
from support.replicas import ENCRYPTION_KEY, ReplicaProcess, replica_env
from support.server import LiveServer
from support.waiting import read_sse, until, wait_for, wait_status

pytestmark = pytest.mark.timeout(90)  # replica processes, a lease timeout per failover

Body = Callable[..., dict[str, Any]]


@pytest.fixture
def shared_db(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def replica_b(
    shared_db: str, tmp_path: Path, make_settings: Any, start_server: Any
) -> Callable[..., LiveServer]:
    """An in-process replica with its own data dirs: `replica_b(overrides)`."""

    def start(overrides: Any) -> LiveServer:
        env = replica_env(tmp_path / "b", shared_db)
        return start_server(make_settings(**env), overrides)

    return start


def _collect(base: str, dep: str, seen: threading.Event, when: Callable[[SseFrame], bool]) -> Any:
    def on_frame(frame: SseFrame) -> None:
        if when(frame):
            seen.set()

    return read_sse(base, dep, on_frame=on_frame, timeout=60)


def _data_seqs(frames: list[tuple[str, str, str]]) -> list[int]:
    return [int(i) for event, i, _ in frames if event in ("", "message") and i]


def test_a_run_started_on_a_is_streamed_on_b_and_b_takes_over_phase1_after_kill_9(
    shared_db: str, tmp_path: Path, replica_b: Any, body: Body
) -> None:
    a = ReplicaProcess(
        replica_env(tmp_path / "a", shared_db, SCRIPTED_POSTBACK="1", SCRIPTED_PHASE1_DELAY="0.6"),
        lines=3,
        delay=0.01,
    )
    b = replica_b(
        ScriptedProvisionerOverrides(phase1=ScriptedPhase1(delay=0.05)),
    )
    try:
        dep = httpx.post(f"{a.url}/api/v1/deployments", json=body()).json()["id"]
        in_phase1 = threading.Event()
        with ThreadPoolExecutor(1) as pool:
            frames_future = pool.submit(
                _collect, b.url, dep, in_phase1, lambda f: '"component"' in f.data
            )
            assert in_phase1.wait(30), "B never streamed a Phase 1 event"
            a.kill()
            frames = frames_future.result(timeout=60)
    finally:
        a.kill()
    state = wait_status(b.url, dep, {"ready", "failed"}, timeout=30)
    assert state["status"] == "ready", state
    assert frames[-1][0] == "done"
    assert json.loads(frames[-1][2])["status"] == "ready"
    seqs = _data_seqs(frames)
    assert seqs == list(range(1, len(seqs) + 1))  # every event once, in order
    events = httpx.get(f"{b.url}/api/v1/deployments/{dep}/events").json()["events"]
    assert [e["seq"] for e in events] == seqs
    components = [e["component"] for e in events if e.get("phase") == "component"]
    assert sorted(components) == ["cert-manager", "cilium", "flux"]  # resumed, none twice
    assert b.services.extra["replicas"].takeovers == 1


def test_kill_9_during_phase0_fails_on_the_survivor_and_retry_there_succeeds(
    shared_db: str, tmp_path: Path, replica_b: Any, body: Body
) -> None:
    a = ReplicaProcess(replica_env(tmp_path / "a", shared_db), lines=100_000, delay=0.05)
    b = replica_b(ScriptedProvisionerOverrides())
    try:
        dep = httpx.post(f"{a.url}/api/v1/deployments", json=body()).json()["id"]
        wait_for(lambda: len(_events(b.url, dep)) >= 3, timeout=20)
    finally:
        a.kill()
    state = wait_status(b.url, dep, {"failed"}, timeout=30)
    assert state["error"] == orphan_message(dep)
    retry = httpx.post(
        f"{b.url}/api/v1/deployments/{dep}/phases/tofu-apply/retry",
        json={"hetznerToken": "h" * 64},
    )
    assert retry.status_code == 200, retry.text
    assert wait_status(b.url, dep, {"ready", "failed"}, timeout=30)["status"] == "ready"
    seqs = [e["seq"] for e in _events(b.url, dep)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_two_concurrent_creates_for_one_pool_subdomain_on_two_replicas(
    shared_db: str, tmp_path: Path, make_settings: Any, start_server: Any, body: Body
) -> None:
    gate = threading.Event()
    pool_env = {
        "CATALYST_GHCR_PULL_TOKEN": "ghcr-x",
        "DYNADOT_API_KEY": "k",
        "DYNADOT_API_SECRET": "s",
    }
    servers = [
        start_server(
            make_settings(**replica_env(tmp_path / name, shared_db), **pool_env),
            ScriptedProvisionerOverrides(provisioner=ScriptedProvisioner(gate=gate)),
        )
        for name in ("a", "b")
    ]
    pool = {"sovereignDomainMode": "pool", "sovereignPoolDomain": "omani.works"}
    try:
        with ThreadPoolExecutor(2) as executor:
            responses = list(
                executor.map(
                    lambda s: httpx.post(
                        f"{s.url}/api/v1/deployments",
                        json=body(
                            sovereignFQDN="acme.omani.works", sovereignSubdomain="acme", **pool
                        ),
                    ),
                    servers,
                )
            )
        assert sorted(r.status_code for r in responses) == [201, 409]
        (loser,) = [r for r in responses if r.status_code == 409]
        assert loser.json()["error"] == "subdomain-conflict"
        with psycopg.connect(shared_db) as conn:
            rows = conn.execute(
                "SELECT pool_domain, subdomain, deployment_id FROM pool_reservations"
            ).fetchall()
        (winner,) = [r.json()["id"] for r in responses if r.status_code == 201]
        assert rows == [("omani.works", "acme", winner)]  # the reservation itself
        for server in servers:  # the wizard's availability check agrees on both replicas
            check = httpx.post(
                f"{server.url}/api/v1/subdomains/check",
                json={"subdomain": "acme", "poolDomain": "omani.works"},
            ).json()
            assert (check["available"], check["reason"]) == (False, "reserved")
    finally:
        gate.set()


def test_a_kubeconfig_put_on_the_other_replica_reaches_the_run(
    shared_db: str, tmp_path: Path, replica_b: Any, body: Body
) -> None:
    """Phase 0 ends on A and cloud-init PUTs to B: the kubeconfig is stored once, encrypted,
    and A's run continues with it (Phase 1 on A) to `ready`."""
    b = replica_b(ScriptedProvisionerOverrides())
    a = ReplicaProcess(
        replica_env(tmp_path / "a", shared_db, SCRIPTED_POSTBACK=b.url), lines=1, delay=0.0
    )
    try:
        dep = httpx.post(f"{a.url}/api/v1/deployments", json=body()).json()["id"]
        state = wait_status(a.url, dep, {"ready", "failed"}, timeout=30)
        on_a = _events(a.url, dep)
        wait_for(lambda: _events(b.url, dep) == on_a, timeout=10)  # replicated to B
    finally:
        a.kill()
    assert state["status"] == "ready", state
    assert state["result"]["kubeconfigPath"] == str(tmp_path / "a" / "kubeconfigs" / f"{dep}.yaml")
    messages = [e["message"] for e in _events(b.url, dep)]
    assert sum(m.startswith("Kubeconfig received") for m in messages) == 1
    assert not (tmp_path / "b" / "kubeconfigs" / f"{dep}.yaml").exists()  # B only stored it
    with psycopg.connect(shared_db) as conn:
        row = conn.execute(
            "SELECT key_id, ciphertext FROM kubeconfigs WHERE deployment_id = %s", (dep,)
        ).fetchone()
        record = conn.execute(
            "SELECT record::text FROM deployments WHERE id = %s", (dep,)
        ).fetchone()
    assert row is not None and row[0] == ENCRYPTION_KEY.split(":")[0]
    assert b"apiVersion" not in bytes(row[1])  # encrypted at rest
    assert record is not None and "hhhhhhhh" not in record[0]  # the token is never stored


def _status(base: str, dep: str) -> str:
    resp = httpx.get(f"{base}/api/v1/deployments/{dep}")
    return str(resp.json().get("status")) if resp.status_code == 200 else ""


def _events(base: str, dep: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{base}/api/v1/deployments/{dep}/events")
    return list(resp.json()["events"]) if resp.status_code == 200 else []


def ScriptedProvisionerOverrides(
    provisioner: ScriptedProvisioner | None = None, phase1: ScriptedPhase1 | None = None
) -> Any:
    from catalyst_api.wiring import Overrides

    return Overrides(
        provisioner=provisioner or ScriptedProvisioner(postback_base="auto"),
        phase1=phase1 or ScriptedPhase1(),
    )


def test_a_record_notification_never_rewinds_a_deployment_this_replica_owns(
    shared_db: str, tmp_path: Path, replica_b: Any, body: Body
) -> None:
    """A notification of an older save (its own, arriving late) is ignored from the moment the
    lease is taken, before the run starts; once the lease is given back, records apply again
    (the failover benchmark found a create whose run was rewound to `provisioning`)."""
    server = replica_b(ScriptedProvisionerOverrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    supervisor = server.services.supervisor
    assert server.run(supervisor.acquire(dep)) is True
    assert supervisor.owns(dep) and not supervisor.is_running(dep)

    def publish(status: str, error: str) -> None:
        with psycopg.connect(shared_db, autocommit=True) as conn, conn.transaction():
            conn.execute(
                "UPDATE deployments SET record = jsonb_set(jsonb_set(record, '{status}', "
                "to_jsonb(%s::text)), '{error}', to_jsonb(%s::text)) WHERE id = %s",
                (status, error, dep),
            )
            conn.execute("SELECT pg_notify('catalyst_records', %s)", (dep,))

    publish("provisioning", "stale")
    with psycopg.connect(shared_db, autocommit=True) as conn:  # handled after the record
        conn.execute("SELECT pg_notify('catalyst_runs', %s)", (f"{dep}:begin",))
    wait_for(lambda: _events_done(server.url, dep) is False, timeout=10)
    assert (_state(server.url, dep)["status"], _state(server.url, dep).get("error", "")) == (
        "ready",
        "",
    )
    server.call(lambda: supervisor.disown(dep))
    publish("ready", "applied after the lease was given back")
    wait_for(lambda: _state(server.url, dep).get("error", "").startswith("applied"), timeout=10)


def _state(base: str, dep: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/api/v1/deployments/{dep}").json())


def _events_done(base: str, dep: str) -> bool:
    return bool(httpx.get(f"{base}/api/v1/deployments/{dep}/events").json()["done"])


def test_the_jobs_view_is_the_same_on_every_replica(
    shared_db: str, tmp_path: Path, make_settings: Any, start_server: Any, body: Body
) -> None:
    """Phase 1 runs on A; B answers the jobs endpoints from the same database."""
    a, b = (
        start_server(
            make_settings(**replica_env(tmp_path / name, shared_db)),
            ScriptedProvisionerOverrides(),
        )
        for name in ("a", "b")
    )
    dep = httpx.post(f"{a.url}/api/v1/deployments", json=body()).json()["id"]
    assert wait_status(a.url, dep, {"ready", "failed"}, timeout=30)["status"] == "ready"
    on_a = httpx.get(f"{a.url}/api/v1/deployments/{dep}/jobs").json()["jobs"]
    assert on_a and all(job["status"] == "succeeded" for job in on_a)
    assert httpx.get(f"{b.url}/api/v1/deployments/{dep}/jobs").json()["jobs"] == on_a
    execution = on_a[0]["latestExecutionId"]
    logs = f"/api/v1/actions/executions/{execution}/logs"
    assert httpx.get(f"{b.url}{logs}").json() == httpx.get(f"{a.url}{logs}").json()
    batches = f"/api/v1/deployments/{dep}/jobs/batches"
    assert httpx.get(f"{b.url}{batches}").json() == httpx.get(f"{a.url}{batches}").json()


def _waiting_pair(
    shared_db: str, tmp_path: Path, make_settings: Any, start_server: Any, body: Body
) -> tuple[LiveServer, LiveServer, str, str]:
    """A runs a deployment that waits for its kubeconfig (3 s), B is the other replica:
    (A, B, deployment id, bearer)."""
    provisioner = ScriptedProvisioner()
    env = {"CATALYST_KUBECONFIG_WAIT_TIMEOUT": "3s"}
    a = start_server(
        make_settings(**replica_env(tmp_path / "a", shared_db), **env),
        ScriptedProvisionerOverrides(provisioner=provisioner),
    )
    b = start_server(
        make_settings(**replica_env(tmp_path / "b", shared_db), **env),
        ScriptedProvisionerOverrides(),
    )
    dep = httpx.post(f"{a.url}/api/v1/deployments", json=body()).json()["id"]
    wait_for(lambda: "Waiting for the new control plane" in str(_events(a.url, dep)), timeout=10)
    bearer = provisioner.jobs[0].kubeconfig_bearer_token.get_secret_value()
    return a, b, dep, bearer


def _put(base: str, dep: str, bearer: str) -> httpx.Response:
    return httpx.put(
        f"{base}/api/v1/deployments/{dep}/kubeconfig",
        content=b"apiVersion: v1\nkind: Config\nclusters: []\n",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )


def _lease_holders(shared_db: str, dep: str) -> int:
    with psycopg.connect(shared_db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM leases WHERE deployment_id = %s AND expires_at > now()", (dep,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_kubeconfig_put_stored_for_a_run_that_ended_meanwhile_is_acted_on(
    shared_db: str, tmp_path: Path, make_settings: Any, start_server: Any, body: Body
) -> None:
    """B finds A holding the lease, but A's run stops waiting (and releases the lease) before
    B has stored the kubeconfig: nobody ran Phase 1 (the kubeconfig was stored, and `already
    -set` refused a second PUT). Now B, seeing the lease free, continues the run itself."""
    a, b, dep, bearer = _waiting_pair(shared_db, tmp_path, make_settings, start_server, body)
    postback = b.services.deployments._postback
    held_elsewhere = postback.held_elsewhere
    assert held_elsewhere is not None
    asked, proceed = threading.Event(), threading.Event()

    async def held_then_released(deployment_id: str) -> bool:
        answer = await held_elsewhere(deployment_id)  # A holds the lease: True
        asked.set()
        await until(proceed.is_set, timeout=30, what="the test releasing the PUT")
        return answer

    postback.held_elsewhere = held_then_released
    with ThreadPoolExecutor(1) as pool:
        put = pool.submit(_put, b.url, dep, bearer)
        assert asked.wait(10)
        assert wait_status(a.url, dep, {"failed"}, timeout=15)["error"]  # A stopped waiting
        wait_for(lambda: _lease_holders(shared_db, dep) == 0, timeout=10)
        proceed.set()
        assert put.result(timeout=30).status_code == 204
    state = wait_status(b.url, dep, {"ready"}, timeout=20)
    assert state["result"]["kubeconfigPath"] == str(tmp_path / "b" / "kubeconfigs" / f"{dep}.yaml")
    messages = [e["message"] for e in _events(a.url, dep)]
    assert sum(m.startswith("Kubeconfig received") for m in messages) == 1


def test_a_holder_whose_run_ends_acts_on_a_kubeconfig_stored_elsewhere(
    shared_db: str, tmp_path: Path, make_settings: Any, start_server: Any, body: Body
) -> None:
    """B stores the kubeconfig while A holds the lease, and A's run ends without acting on
    the notification (it arrived as the run was leaving its wait): after releasing the lease
    A checks the stored kubeconfigs and continues with Phase 1."""
    a, b, dep, bearer = _waiting_pair(shared_db, tmp_path, make_settings, start_server, body)
    sync = a.services.extra["replicas"]
    handle = sync._handle

    async def too_late(kind: str, payload: str) -> None:
        if kind != "kubeconfigs":  # the run has left its wait: nobody takes the notification
            await handle(kind, payload)

    sync._handle = too_late
    assert _put(b.url, dep, bearer).status_code == 204  # stored: A holds the lease
    state = wait_status(a.url, dep, {"ready"}, timeout=20)
    assert state["result"]["kubeconfigPath"] == str(tmp_path / "a" / "kubeconfigs" / f"{dep}.yaml")
    messages = [e["message"] for e in _events(a.url, dep)]
    assert sum(m.startswith("Kubeconfig received") for m in messages) == 1
