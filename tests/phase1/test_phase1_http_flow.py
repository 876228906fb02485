"""End to end through a live server: scripted Phase 0, the real Phase 1 runner against a fake
Sovereign apiserver (its own thread), and the refresh-watch / components/state / jobs
endpoints (spec §8.7, §8.8, §11 "Phase 1")."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from catalyst_api.wiring import Overrides
from catalyst_sandbox.fakekube import FakeKubeServer
from support.fakes import ScriptedProvisioner  # tests/ is on sys.path (tests/conftest.py)

HR = "helm.toolkit.fluxcd.io/v2"
NAMES = ("bp-cilium", "bp-cert-manager", "bp-flux")


def _hr(name: str, deps: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "apiVersion": HR,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"dependsOn": [{"name": d} for d in deps]},
    }


def _ready(kube: Any, name: str, status: str, reason: str = "", message: str = "") -> None:
    kube.state.set_status(
        HR,
        "HelmRelease",
        "flux-system",
        name,
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": "2026-04-30T10:00:00Z",
                }
            ]
        },
    )


@pytest.fixture
def sovereign() -> Iterator[Any]:
    kube = FakeKubeServer.start_in_thread(token="sovereign-token", bookmark_interval=0.2)
    try:
        kube.state.create(_hr("bp-cilium"))
        kube.state.create(_hr("bp-cert-manager", ("bp-cilium",)))
        kube.state.create(_hr("bp-flux", ("bp-cilium", "bp-cert-manager")))
        yield kube
    finally:
        kube.stop()


@pytest.fixture
def server(make_settings: Callable[..., Any], start_server: Callable[..., Any]) -> Any:
    settings = make_settings(
        CATALYST_PHASE1_MIN_BOOTSTRAP_KIT_HRS="3", CATALYST_PHASE1_WATCH_TIMEOUT="20s"
    )
    return start_server(settings, Overrides(provisioner=ScriptedProvisioner()))


@pytest.fixture
def client(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=15) as c:
        yield c


def _wait(fetch: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if accept(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last value: {value!r}"
        time.sleep(0.03)


def _create(client: httpx.Client, body: Callable[..., dict[str, Any]], **kw: Any) -> str:
    response = client.post("/api/v1/deployments", json=body(**kw))
    assert response.status_code == 201, response.text
    dep_id = str(response.json()["id"])
    _wait(
        lambda: client.get(f"/api/v1/deployments/{dep_id}").json()["status"],
        lambda s: s == "phase1-watching",
    )
    return dep_id


def _put_kubeconfig(client: httpx.Client, server: Any, dep_id: str, data: bytes) -> None:
    bearer = server.services.deployments.get(dep_id).bearer_token.get_secret_value()
    response = client.put(
        f"/api/v1/deployments/{dep_id}/kubeconfig",
        content=data,
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert response.status_code == 204, response.text


def _state(client: httpx.Client, dep_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/deployments/{dep_id}").json())


def test_deployment_reaches_ready_through_the_helmrelease_watch(
    client: httpx.Client, server: Any, sovereign: Any, body: Callable[..., dict[str, Any]]
) -> None:
    dep_id = _create(client, body)
    _put_kubeconfig(client, server, dep_id, sovereign.kubeconfig_yaml().encode())

    live = _wait(
        lambda: client.get(f"/api/v1/deployments/{dep_id}/components/state").json(),
        lambda b: b["watching"] and len(b["components"]) == 3,
    )
    by_app = {c["appId"]: c for c in live["components"]}
    assert by_app["flux"] == {
        "appId": "flux",
        "status": "pending",
        "helmReleaseName": "bp-flux",
        "namespace": "flux-system",
        "lastTransitionAt": "0001-01-01T00:00:00Z",
        "message": "HelmRelease observed, waiting for first reconcile",
        "dependsOn": ["cilium", "cert-manager"],
    }
    pending_jobs = _wait(
        lambda: client.get(f"/api/v1/deployments/{dep_id}/jobs").json()["jobs"],
        lambda jobs: len(jobs) == 3,
    )
    assert {j["jobName"]: j["dependsOn"] for j in pending_jobs}["install-flux"] == [
        "install-cilium",
        "install-cert-manager",
    ]

    for name in NAMES:
        _ready(sovereign, name, "Unknown", "Progressing", "installing")
    for name in NAMES:
        _ready(sovereign, name, "True", "InstallSucceeded", "Helm install succeeded")
    state = _wait(lambda: _state(client, dep_id), lambda s: s["status"] == "ready")
    assert state["componentStates"] == {
        "cert-manager": "installed",
        "cilium": "installed",
        "flux": "installed",
    }
    assert state["phase1FinishedAt"] and state["result"]["phase1Outcome"] == "ready"
    assert "error" not in state

    events = client.get(f"/api/v1/deployments/{dep_id}/events").json()
    component = [(e["component"], e["state"]) for e in events["events"] if e.get("state")]
    for name in ("cilium", "cert-manager", "flux"):
        assert [s for c, s in component if c == name] == ["pending", "installing", "installed"]

    after = client.get(f"/api/v1/deployments/{dep_id}/components/state").json()
    assert after["watching"] is False
    assert {c["appId"]: c["status"] for c in after["components"]} == state["componentStates"]
    assert all(c["lastTransitionAt"] == "0001-01-01T00:00:00Z" for c in after["components"])

    jobs = _wait(
        lambda: client.get(f"/api/v1/deployments/{dep_id}/jobs").json()["jobs"],
        lambda js: all(j["status"] == "succeeded" for j in js),
    )
    flux = next(j for j in jobs if j["jobName"] == "install-flux")
    assert flux["dependsOn"] == ["install-cilium", "install-cert-manager"]
    page = client.get(f"/api/v1/actions/executions/{flux['latestExecutionId']}/logs").json()
    assert [line["message"] for line in page["lines"]] == [
        "[installing] installing",
        "[installed] Helm install succeeded",
    ]
    assert page["executionFinished"] is True


def test_failed_component_fails_the_deployment(
    client: httpx.Client, server: Any, sovereign: Any, body: Callable[..., dict[str, Any]]
) -> None:
    _ready(sovereign, "bp-cilium", "True", "InstallSucceeded")
    _ready(sovereign, "bp-cert-manager", "True", "InstallSucceeded")
    _ready(sovereign, "bp-flux", "False", "InstallFailed", "chart exploded")
    dep_id = _create(client, body)
    _put_kubeconfig(client, server, dep_id, sovereign.kubeconfig_yaml().encode())
    state = _wait(lambda: _state(client, dep_id), lambda s: s["status"] == "failed")
    # The error names the failed component and Helm's message (issue 14).
    assert state["error"] == "flux failed: chart exploded"
    assert state["componentStates"]["flux"] == "failed"
    assert state["phase1FinishedAt"]


def test_stuck_release_times_out_as_ready_with_its_last_state(
    make_settings: Callable[..., Any],
    start_server: Callable[..., Any],
    sovereign: Any,
    body: Callable[..., dict[str, Any]],
) -> None:
    _ready(sovereign, "bp-cilium", "True", "InstallSucceeded")
    _ready(sovereign, "bp-cert-manager", "True", "InstallSucceeded")
    _ready(sovereign, "bp-flux", "Unknown", "Progressing", "stuck")
    settings = make_settings(CATALYST_PHASE1_WATCH_TIMEOUT="400ms")
    srv = start_server(settings, Overrides(provisioner=ScriptedProvisioner()))
    with httpx.Client(base_url=srv.url, timeout=15) as client:
        dep_id = _create(client, body)
        started = time.monotonic()
        _put_kubeconfig(client, srv, dep_id, sovereign.kubeconfig_yaml().encode())
        state = _wait(lambda: _state(client, dep_id), lambda s: s["status"] != "phase1-watching")
        assert time.monotonic() - started < 5
        events = client.get(f"/api/v1/deployments/{dep_id}/events").json()["events"]
    assert state["status"] == "ready"
    assert state["componentStates"]["flux"] == "installing"
    assert state["result"]["phase1Outcome"] == "timeout"
    assert state["phase1FinishedAt"]
    assert any("terminated by context: context deadline exceeded" in e["message"] for e in events)


def test_unusable_kubeconfig_fails_phase1_with_the_could_not_start_error(
    client: httpx.Client, server: Any, body: Callable[..., dict[str, Any]]
) -> None:
    dep_id = _create(client, body)
    _put_kubeconfig(client, server, dep_id, b"this: is: not: a kubeconfig")
    state = _wait(lambda: _state(client, dep_id), lambda s: s["status"] == "failed")
    assert state["error"].startswith("Phase-1 watch could not start: ")
    assert state["phase1FinishedAt"]
    events = client.get(f"/api/v1/deployments/{dep_id}/events").json()["events"]
    assert any(e["phase"] == "phase1-watch" and e["level"] == "error" for e in events)

    refresh = client.post(f"/api/v1/deployments/{dep_id}/refresh-watch")
    assert refresh.status_code == 500
    assert refresh.json()["error"] == "watcher-build-failed"


def test_refresh_watch_seeds_jobs_and_reports_components(
    client: httpx.Client, server: Any, sovereign: Any, body: Callable[..., dict[str, Any]]
) -> None:
    for name in NAMES:
        _ready(sovereign, name, "True", "InstallSucceeded", "done")
    dep_id = _create(client, body)
    _put_kubeconfig(client, server, dep_id, sovereign.kubeconfig_yaml().encode())
    _wait(lambda: _state(client, dep_id), lambda s: s["status"] == "ready")
    before = _state(client, dep_id)
    events = client.get(f"/api/v1/deployments/{dep_id}/events").json()["events"]
    assert sorted((e["component"], e["state"]) for e in events if e.get("state")) == [
        ("cert-manager", "installed"),
        ("cilium", "installed"),
        ("flux", "installed"),
    ]

    response = client.post(f"/api/v1/deployments/{dep_id}/refresh-watch")
    assert response.status_code == 202, response.text
    refreshed = response.json()
    assert refreshed["watching"] is True
    assert refreshed["seededAt"].endswith("Z")
    assert sorted(c["appId"] for c in refreshed["components"]) == ["cert-manager", "cilium", "flux"]
    jobs = client.get(f"/api/v1/deployments/{dep_id}/jobs").json()["jobs"]
    assert sorted((j["jobName"], j["status"]) for j in jobs) == [
        ("install-cert-manager", "succeeded"),
        ("install-cilium", "succeeded"),
        ("install-flux", "succeeded"),
    ]
    again = client.post(f"/api/v1/deployments/{dep_id}/refresh-watch")
    assert again.status_code in (200, 202)
    assert again.json()["watching"] is True
    after = _state(client, dep_id)
    for key in ("status", "componentStates", "phase1FinishedAt", "finishedAt"):
        assert after[key] == before[key], key  # refresh never changes status or result


def test_refresh_watch_while_phase1_runs_is_already_active(
    client: httpx.Client, server: Any, sovereign: Any, body: Callable[..., dict[str, Any]]
) -> None:
    dep_id = _create(client, body)
    _put_kubeconfig(client, server, dep_id, sovereign.kubeconfig_yaml().encode())
    _wait(
        lambda: client.get(f"/api/v1/deployments/{dep_id}/components/state").json(),
        lambda b: b["watching"] and len(b["components"]) == 3,
    )
    response = client.post(f"/api/v1/deployments/{dep_id}/refresh-watch")
    assert response.status_code == 200
    assert response.json()["alreadyActive"] is True
    assert len(response.json()["components"]) == 3


def test_refresh_watch_and_components_error_answers(
    client: httpx.Client, server: Any, sovereign: Any, body: Callable[..., dict[str, Any]]
) -> None:
    unknown = client.post("/api/v1/deployments/ffffffffffffffff/refresh-watch")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "deployment-not-found"})
    state_unknown = client.get("/api/v1/deployments/ffffffffffffffff/components/state")
    assert (state_unknown.status_code, state_unknown.json()) == (
        404,
        {"error": "deployment-not-found"},
    )
    blank = client.get("/api/v1/deployments/%20/components/state")
    assert (blank.status_code, blank.json()) == (400, {"error": "missing-depId"})

    waiting = _create(client, body)
    no_kubeconfig = client.post(f"/api/v1/deployments/{waiting}/refresh-watch")
    assert no_kubeconfig.status_code == 409
    assert no_kubeconfig.json() == {
        "error": "watch-not-resumable",
        "detail": "deployment has no kubeconfigPath — Phase 0 may not have completed yet, or "
        "cloud-init never PUT the kubeconfig back",
    }
    fallback = client.get(f"/api/v1/deployments/{waiting}/components/state").json()
    assert fallback == {"watching": False, "components": []}

    for name in NAMES:
        _ready(sovereign, name, "True", "InstallSucceeded")
    _put_kubeconfig(client, server, waiting, sovereign.kubeconfig_yaml().encode())
    _wait(lambda: _state(client, waiting), lambda s: s["status"] == "ready")
    path = server.services.deployments.get(waiting).result.kubeconfig_path
    os.unlink(path)
    missing = client.post(f"/api/v1/deployments/{waiting}/refresh-watch")
    assert (missing.status_code, missing.json()) == (
        409,
        {"error": "watch-not-resumable", "detail": f"kubeconfig file missing on PVC: {path}"},
    )


def test_unreachable_sovereign_fails_phase1_and_refresh_times_out(
    make_settings: Callable[..., Any],
    start_server: Callable[..., Any],
    body: Callable[..., dict[str, Any]],
) -> None:
    gone = FakeKubeServer.start_in_thread(token="t")
    kubeconfig = gone.kubeconfig_yaml().encode()
    gone.stop()
    settings = make_settings(CATALYST_PHASE1_WATCH_TIMEOUT="1s")
    srv = start_server(settings, Overrides(provisioner=ScriptedProvisioner()))
    srv.call(lambda: setattr(srv.services.watches, "seed_timeout", 0.3))
    with httpx.Client(base_url=srv.url, timeout=15) as client:
        dep_id = _create(client, body)
        _put_kubeconfig(client, srv, dep_id, kubeconfig)
        state = _wait(lambda: _state(client, dep_id), lambda s: s["status"] == "failed")
        assert state["error"].startswith("Phase-1 watch could not list HelmReleases")
        assert state["result"]["phase1Outcome"] == "flux-not-reconciling"
        response = client.post(f"/api/v1/deployments/{dep_id}/refresh-watch")
        assert response.status_code == 504
        assert response.json() == {
            "error": "seed-timeout",
            "detail": "watcher started but informer initial-list did not sync within 300ms",
            "watching": True,
        }
        live = client.get(f"/api/v1/deployments/{dep_id}/components/state").json()
        assert live == {"watching": True, "components": []}
