"""A sandbox deployment survives `kill -9` of the server like a real one, and the sandbox
carries many deployments at once."""

from __future__ import annotations

import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox_e2e.harness import VENV_BIN, SandboxFactory, SandboxProcess, byo_body, start_sandbox

pytestmark = pytest.mark.timeout(180)  # real sandbox servers, OpenTofu, kill -9 restarts

COMPONENT_COUNT = 11


def states_by_component(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    states: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.get("phase") == "component" and event.get("component") and event.get("state"):
            states[event["component"]].append(event["state"])
    return dict(states)


def wait_for_installed(server: SandboxProcess, dep: str, at_least: int) -> dict[str, list[str]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = states_by_component(server.events(dep))
        installed = [c for c, seq in states.items() if seq[-1] == "installed"]
        if len(installed) >= at_least:
            return states
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} components installed after 60s")


@dataclass
class Restarted:
    server: SandboxProcess
    dep: str
    kubeconfig: Path
    events: list[dict[str, Any]]


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restarted]:
    """One deployment whose server was killed (-9) during Phase 1 and started again."""
    for server in start_sandbox(tmp_path_factory.mktemp("restart"), speed=6.0):
        dep = server.create(byo_body("restarted"))
        before = wait_for_installed(server, dep, at_least=2)
        assert len([c for c, s in before.items() if s[-1] == "installed"]) < COMPONENT_COUNT
        kubeconfig = server.data_dir / "restarted.yaml"
        kubeconfig.write_bytes(
            httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig", timeout=10).content
        )
        server.kill9()
        server.start()
        server.follow(dep)
        yield Restarted(server, dep, kubeconfig, server.events(dep))


def test_kill_during_phase1_then_restart_ends_ready_and_the_old_kubeconfig_still_works(
    restarted: Restarted,
) -> None:
    state = restarted.server.state(restarted.dep)
    assert state["status"] == "ready", state.get("error")
    assert len(state["componentStates"]) == COMPONENT_COUNT
    assert set(state["componentStates"].values()) == {"installed"}
    listed = subprocess.run(
        [str(VENV_BIN / "kubectl"), "--kubeconfig", str(restarted.kubeconfig), "get", "hr", "-A"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("Helm install succeeded") == COMPONENT_COUNT


def test_helm_controller_log_lines_reach_the_deployment_events(restarted: Restarted) -> None:
    lines = [e for e in restarted.events if e.get("phase") == "component-log"]

    assert lines, "no helm-controller log line was tailed"
    for event in lines:
        assert f'"HelmRelease":{{"name":"bp-{event["component"]}"' in event["message"]


def test_kill_during_phase1_then_restart_repeats_no_component_state(
    restarted: Restarted,
) -> None:
    for component, sequence in states_by_component(restarted.events).items():
        assert len(sequence) == len(set(sequence)), f"{component} repeated: {sequence}"


@pytest.mark.timeout(600)  # twenty real OpenTofu runs on two shared cores
def test_twenty_concurrent_sandbox_deployments_all_reach_ready(sandbox: SandboxFactory) -> None:
    server = sandbox(speed=40.0)
    bodies = [byo_body(f"many{i:02d}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        deps = list(pool.map(server.create, bodies))
        finals = list(pool.map(lambda d: server.wait_status(d, {"ready", "failed"}, 540), deps))

    assert [s["status"] for s in finals] == ["ready"] * 20, [s.get("error") for s in finals]
    for state in finals:
        assert state["result"]["phase1Outcome"] == "ready", state
        assert set(state["componentStates"].values()) == {"installed"}
        assert len(state["componentStates"]) == COMPONENT_COUNT
