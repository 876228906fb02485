"""SIGTERM to a real `catalyst-api serve` during Phase 0 (real Terraform shim, a slow
`local-exec` apply): OpenTofu's whole process group is stopped, the deployment is recorded
`failed` with the orphan message, and the server exits within the chart's
terminationGracePeriodSeconds (docs/RUNBOOK.md §Shutdown)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from catalyst_api.deployments.machine import orphan_message
from conftest import byo_body
from fakes.hcloud.harness import (
    TERRAFORM,
    VENV_BIN,
    processes_under,
    tofu_base_env,
    write_tfvars_module,
)
from support.server import free_port
from support.waiting import read_sse, wait_for

pytestmark = pytest.mark.timeout(90)  # real OpenTofu and a server process stopped by SIGTERM

VALUES = Path(__file__).resolve().parents[2] / "deploy/helm/catalyst-api/values.yaml"

SLOW_APPLY = """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 300"
  }
}
"""


def _events(base: str, dep: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = httpx.get(f"{base}/api/v1/deployments/{dep}/events").json()[
        "events"
    ]
    return events


@pytest.mark.timeout(180)
def test_sigterm_during_phase0_stops_tofu_and_records_failed_within_the_pod_grace(
    tmp_path: Path,
) -> None:
    pod_grace = yaml.safe_load(VALUES.read_text())["terminationGracePeriodSeconds"]
    module = write_tfvars_module(tmp_path / "module", SLOW_APPLY)
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **tofu_base_env(),
        "CATALYST_TOFU_BINARY": str(TERRAFORM),
        "CATALYST_TOFU_MODULE_PATH": str(module),
        "CATALYST_API_PUBLIC_URL": base,
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "catalyst-api"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _healthy(base), timeout=60)
        created = httpx.post(f"{base}/api/v1/deployments", json=byo_body())
        assert created.status_code == 201, created.text
        dep = created.json()["id"]
        wait_for(lambda: any("local-exec" in e["message"] for e in _events(base, dep)), timeout=90)
        assert processes_under(data / "tofu"), "expected OpenTofu and its sleep to be running"
        frames: list[tuple[str, str, str]] = []
        follower = threading.Thread(
            target=lambda: frames.extend(read_sse(base, dep, timeout=pod_grace)), daemon=True
        )
        follower.start()
        wait_for(lambda: _subscribers(base) > 0)

        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its shutdown is done (exit by SIGTERM).
        assert server.wait(timeout=pod_grace) in (0, -signal.SIGTERM)
        elapsed = time.monotonic() - started
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
        log.close()

    follower.join(timeout=5)
    assert elapsed < pod_grace
    # The follower's stream ended with the recorded state, not with a dropped connection.
    assert frames[-1][0] == "done"
    assert json.loads(frames[-1][2])["status"] == "failed"
    assert processes_under(data / "tofu") == []
    record = json.loads((data / "deployments" / f"{dep}.json").read_text())
    assert record["status"] == "failed"
    assert record["error"] == orphan_message(dep)
    assert record["failureStage"] == "phase0"
    assert record["finishedAt"] is not None
    text = (tmp_path / "server.log").read_text()
    # Stage 1 (runs) comes before uvicorn drains and the lifespan unwinds.
    assert text.index("stopping deployment runs") < text.index("Waiting for application shutdown")
    assert "did not stop" not in text


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _subscribers(base: str) -> float:
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith("catalyst_sse_subscribers "):
            return float(line.split()[1])
    return 0.0
