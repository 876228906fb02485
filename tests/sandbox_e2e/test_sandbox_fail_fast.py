"""Issue 14 against a real `serve --sandbox`: Phase 1 fails fast and names the cause, blocked
components say by whom (events and jobs), a failure Helm remediates does not end the run, and
a simulated Sovereign restarted before its postback succeeded still sends it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from catalyst_api.wire.kit import COMPONENTS
from sandbox_e2e.harness import SandboxFactory, SandboxProcess, byo_body, start_sandbox

pytestmark = pytest.mark.timeout(240)  # real sandbox servers running OpenTofu, one at speed 1


def _helm_error(component: str, namespace: str) -> str:
    return (
        f"Helm install failed for release {namespace}/bp-{component} with chart "
        f"bp-{component}@1.0.0: sandbox: failure injected for component '{component}'"
    )


def _blocked(frames: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f["component"]: f
        for f in frames
        if f.get("phase") == "component" and f.get("message", "").startswith("blocked: ")
    }


def test_a_failed_root_ends_the_run_within_seconds_at_speed_1(sandbox: SandboxFactory) -> None:
    server = sandbox("--sandbox-fail", "cilium", speed=1.0)
    dep = server.create(byo_body("root"))

    frames = server.follow(dep, timeout=200)

    first_failure = next(
        f for f in frames if f.get("component") == "cilium" and f.get("state") == "failed"
    )
    done = frames[-1]
    assert done["event"] == "done" and done["status"] == "failed"
    assert done["receivedAt"] - first_failure["receivedAt"] < 10
    others = [c.id for c in COMPONENTS if c.id != "cilium"]
    assert done["error"] == (
        f"cilium failed: {_helm_error('cilium', 'kube-system')}; "
        f"10 components blocked by it: {', '.join(others)}"
    )
    assert done["componentStates"] == {"cilium": "failed"} | {c: "pending" for c in others}
    assert sorted(_blocked(frames)) == sorted(others)
    assert not any("terminated by context" in f.get("message", "") for f in frames)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox server (speed 40) for the org-name injected failures."""
    yield from start_sandbox(tmp_path_factory.mktemp("failfast"))


def test_a_failed_branch_blocks_its_dependents_while_the_rest_installs(
    server: SandboxProcess,
) -> None:
    dep = server.create(byo_body("branch", orgName="Acme fail:spire"))

    frames = server.follow(dep)

    state = server.state(dep)
    assert state["status"] == "failed"
    assert state["error"] == (
        f"spire failed: {_helm_error('spire', 'spire-system')}; "
        "2 components blocked by it: nats-jetstream, openbao"
    )
    blocked = {"nats-jetstream", "openbao"}
    expected = {c.id: "installed" for c in COMPONENTS} | {"spire": "failed"}
    assert state["componentStates"] == expected | {c: "pending" for c in blocked}
    events = _blocked(frames)
    assert set(events) == blocked
    for event in events.values():
        assert event["state"] == "pending"
        assert event["message"].startswith("blocked: depends on spire, which has failed")
    # Only once everything else was installed did the run end (no budget ran out).
    installed = [i for i, f in enumerate(frames) if f.get("state") == "installed"]
    assert len({frames[i]["component"] for i in installed}) == 8
    assert not any("terminated by context" in f.get("message", "") for f in frames)
    jobs = httpx.get(f"{server.url}/api/v1/deployments/{dep}/jobs", timeout=10).json()["jobs"]
    by_name = {j["jobName"]: j for j in jobs}
    for name in blocked:
        job = by_name[f"install-{name}"]
        assert (job["status"], job["blockedBy"]) == ("pending", ["install-spire"])
        assert job["dependsOn"] == ["install-spire"]
    assert by_name["install-spire"]["status"] == "failed"
    assert "blockedBy" not in by_name["install-keycloak"]
    assert by_name["install-keycloak"]["dependsOn"] == ["install-cert-manager"]


def test_a_failure_helm_remediates_does_not_end_the_run(sandbox: SandboxFactory) -> None:
    # Flux starts on the Sovereign once its kubeconfig postback succeeded, and Phase 1 watches
    # once Phase 0 is over. The Sovereign boots mid-apply, so on a busy machine Flux used to
    # fail and remediate cilium before the watch existed (its states: only `installed`).
    # Refused postbacks hold Flux back until catalyst-api waits for the kubeconfig; from the
    # accepted PUT on, the watch has Flux's own start-up and cilium's first attempt (about
    # 2.4 s at speed 4, minutes on a real cluster) to list the releases.
    server = sandbox(speed=4.0)
    server.refuse_postbacks()
    dep = server.create(byo_body("flaky", orgName="Acme flaky:cilium"))
    server.wait_kubeconfig_wait(dep)
    server.accept_postbacks()

    frames = server.follow(dep)

    assert frames[-1]["status"] == "ready", frames[-1].get("error")
    states = [
        f["state"]
        for f in frames
        if f.get("phase") == "component" and f.get("component") == "cilium"
    ]
    assert states[-3:] == ["failed", "installing", "installed"]
    assert set(frames[-1]["componentStates"].values()) == {"installed"}
    assert _blocked(frames) == {}


def test_a_sovereign_restarted_before_its_postback_still_sends_it(
    sandbox: SandboxFactory,
) -> None:
    server = sandbox(speed=10.0)
    kubeconfigs = server.refuse_postbacks()  # every PUT is a 503
    dep = server.create(byo_body("postback"))
    # The Sovereign boots (and is refused) mid-apply; the restart must land in the kubeconfig
    # wait: one during Phase 0 orphans the deployment (spec §4.6), another story.
    server.wait_kubeconfig_wait(dep)
    deadline = time.monotonic() + 120
    while "sandbox kubeconfig postback failed; retrying" not in server.log_text():
        assert time.monotonic() < deadline, "the postback was never refused"
        time.sleep(0.05)
    server.kill9()
    record = orjson.loads((server.data_dir / "sandbox" / "sovereigns" / f"{dep}.json").read_bytes())
    assert record["bootStage"] == "kubeconfig-postback"
    assert record["kubeconfigBearer"]  # what the node's cloud-init keeps on its disk
    server.accept_postbacks()

    server.start()
    frames = server.follow(dep, timeout=150)

    assert frames[-1]["status"] == "ready", frames[-1].get("error")
    assert (kubeconfigs / f"{dep}.yaml").exists()
    record = orjson.loads((server.data_dir / "sandbox" / "sovereigns" / f"{dep}.json").read_bytes())
    assert "kubeconfigBearer" not in record  # forgotten once it was accepted
