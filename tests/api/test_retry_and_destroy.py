"""Phase retry (spec §6.6, DESIGN item 7) and destroy (DESIGN item 5)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from support.fakes import ScriptedProvisioner
from support.stored import StoredRecords
from support.waiting import read_sse, wait_status

# Behaviour suite: runs on the flat files and on PostgreSQL.
pytestmark = [
    pytest.mark.both_backends,
    pytest.mark.timeout(60),  # several runs and restarts per test; the default is 15 s
]

Body = Callable[..., dict[str, Any]]


def _retry(server, dep: str, phase: str, payload: Any = None) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{server.url}/api/v1/deployments/{dep}/phases/{phase}/retry",
        json=payload,
    )


def test_retry_unknown_id_is_404(make_settings, start_server, scripted_overrides) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    resp = _retry(server, "ffffffffffffffff", "tofu-apply")
    assert resp.status_code == 404 and resp.text == "deployment not found\n"


def test_retry_unknown_phase_is_400_with_the_originals_message(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    resp = _retry(server, dep, "bogus")
    assert resp.status_code == 400
    assert resp.json() == {
        "error": 'unknown phase "bogus" — see docs/RUNBOOK-PROVISIONING.md for the canonical '
        "phase list"
    }


@pytest.mark.parametrize("phase", ["cilium", "bp-catalyst-platform"])
def test_phase1_retry_answers_manual_retry_required(
    make_settings, start_server, scripted_overrides, body: Body, phase: str
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    resp = _retry(server, dep, phase)
    assert resp.status_code == 200
    payload = resp.json()
    assert payload["status"] == "manual-retry-required"
    assert payload["phase"] == phase
    assert payload["runbook"] == "docs/RUNBOOK-PROVISIONING.md#rollback-procedures-per-phase"
    assert payload["message"] == (
        f"Phase 1 ({phase}) is owned by Flux on the new Sovereign — operator action required "
        "if automatic remediation exhausted."
    )
    assert httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["status"] == "ready"
    last = httpx.get(f"{server.url}/api/v1/deployments/{dep}/events").json()["events"][-1]
    assert last["phase"] == phase
    assert "helmrelease/bp-catalyst-platform " in last["message"] or phase == "cilium"
    assert "bp-bp-" not in last["message"]


def test_retry_while_a_phase_runs_is_409(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    try:
        dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
        resp = _retry(server, dep, "tofu-apply")
        assert resp.status_code == 409
        assert resp.json() == {
            "error": "deployment is still in-flight — wait for the current phase to finish "
            "before retrying"
        }
    finally:
        gate.set()


def test_retry_after_failure_reruns_the_pipeline_to_ready(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(fail_with="tofu apply: exit status 1", postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    failed = wait_status(server.url, dep, {"failed"})
    assert failed["error"] == "tofu apply: exit status 1"
    prov.fail_with = None
    resp = _retry(server, dep, "tofu-apply")
    assert resp.status_code == 200
    assert resp.json() == {
        "id": dep,
        "status": "provisioning",
        "phase": "tofu-apply",
        "streamURL": f"/api/v1/deployments/{dep}/logs",
        "message": "Phase 0 retry accepted — re-running tofu apply against the existing workdir "
        "(idempotent). Reopen the SSE stream to follow progress.",
    }
    frames = read_sse(server.url, dep, headers={"Last-Event-ID": str(failed["numEvents"])})
    first = json.loads(frames[0][2])
    assert first["phase"] == "tofu-apply"
    assert first["message"] == (
        'Retry initiated for phase "tofu-apply" — running `tofu apply` against existing '
        "workdir (idempotent)."
    )
    assert json.loads(frames[-1][2])["status"] == "ready"
    assert len(prov.jobs) == 2


def test_retry_after_restart_needs_the_token_again(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    prov = ScriptedProvisioner(fail_with="tofu plan: exit status 1")
    first = start_server(settings, scripted_overrides(prov))
    dep = httpx.post(f"{first.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(first.url, dep, {"failed"})
    first.stop()
    prov2 = ScriptedProvisioner(postback_base="auto")
    second = start_server(settings, scripted_overrides(prov2))
    refused = _retry(second, dep, "tofu-plan")
    assert refused.status_code == 409
    assert refused.json()["error"] == "credentials-required"
    accepted = _retry(second, dep, "tofu-plan", {"hetznerToken": "n" * 64})
    assert accepted.status_code == 200
    wait_status(second.url, dep, {"ready"})
    job = prov2.jobs[0]
    assert job.hcloud_token.get_secret_value() == "n" * 64
    assert job.kubeconfig_bearer_token.get_secret_value()  # a fresh bearer for cloud-init


def test_destroy_runs_tofu_destroy_and_keeps_the_record(
    make_settings, start_server, scripted_overrides, body: Body, stored: StoredRecords
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    resp = httpx.delete(f"{server.url}/api/v1/deployments/{dep}")
    assert resp.status_code == 202
    assert resp.json() == {
        "id": dep,
        "status": "destroying",
        "streamURL": f"/api/v1/deployments/{dep}/logs",
    }
    state = wait_status(server.url, dep, {"destroyed"})
    assert state["finishedAt"] is not None
    assert prov.destroyed == ["k8s.acme.example"]
    events = httpx.get(f"{server.url}/api/v1/deployments/{dep}/events").json()["events"]
    assert events[0]["phase"] == "tofu-init"  # history kept
    assert any(e["phase"] == "tofu-destroy" for e in events)
    again = httpx.delete(f"{server.url}/api/v1/deployments/{dep}")
    assert again.status_code == 409
    assert stored.get(dep)["status"] == "destroyed"


def test_destroy_after_restart_without_token_is_credentials_required(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    first = start_server(settings, scripted_overrides())
    dep = httpx.post(f"{first.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(first.url, dep, {"ready"})
    first.stop()
    prov = ScriptedProvisioner(state_fqdns={"k8s.acme.example"})
    second = start_server(settings, scripted_overrides(prov))
    refused = httpx.delete(f"{second.url}/api/v1/deployments/{dep}")
    assert refused.status_code == 409
    assert refused.json()["error"] == "credentials-required"
    accepted = httpx.request(
        "DELETE", f"{second.url}/api/v1/deployments/{dep}", json={"hetznerToken": "d" * 64}
    )
    assert accepted.status_code == 202
    wait_status(second.url, dep, {"destroyed"})
    assert prov.destroyed == ["k8s.acme.example"]


def test_destroy_while_phase0_runs_is_409(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    try:
        dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
        resp = httpx.delete(f"{server.url}/api/v1/deployments/{dep}")
        assert resp.status_code == 409
        assert resp.json()["error"] == "phase-running"
    finally:
        gate.set()


def test_destroy_while_phase1_waits_is_409(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner()))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"phase1-watching"})  # waiting for the kubeconfig postback
    resp = httpx.delete(f"{server.url}/api/v1/deployments/{dep}")
    assert resp.status_code == 409
    assert resp.json()["error"] == "phase-running"


def test_destroy_of_unknown_id_is_404(make_settings, start_server, scripted_overrides) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    assert httpx.delete(f"{server.url}/api/v1/deployments/ffffffffffffffff").status_code == 404


def test_repeated_phase1_retry_answers_the_same_without_a_new_event(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    before = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    answers = [_retry(server, dep, "cilium") for _ in range(20)]
    assert {r.status_code for r in answers} == {200}
    assert all(r.json() == answers[0].json() for r in answers)
    state = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()
    assert state["numEvents"] == before + 1  # one runbook event per phase per window
    assert _retry(server, dep, "flux").status_code == 200  # another phase: its own event
    state = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()
    assert state["numEvents"] == before + 2
