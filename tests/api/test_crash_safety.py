"""kill -9 while events are written: every record loads, each event log is a clean prefix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from catalyst_api.deployments.models import Deployment
from catalyst_api.store import EventLog, RecordStore
from support.server import free_port
from support.waiting import wait_for

pytestmark = pytest.mark.timeout(90)  # server processes killed and restarted; the default is 15 s

Body = Callable[..., dict[str, Any]]
SCRIPT = Path(__file__).resolve().parents[1] / "support" / "serve_scripted.py"


def test_kill_9_during_event_writes_leaves_loadable_records_and_prefix_logs(
    data_root: Path, body: Body
) -> None:
    port = free_port()
    env = dict(
        os.environ,
        CATALYST_DEPLOYMENTS_DIR=str(data_root / "deployments"),
        CATALYST_KUBECONFIGS_DIR=str(data_root / "kubeconfigs"),
        CATALYST_EXECUTIONS_DIR=str(data_root / "executions"),
    )
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(port), "1000000", "0.0002"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout=30)
        ids = [
            httpx.post(
                f"{base}/api/v1/deployments", json=body(sovereignFQDN=f"c{i}.acme.example")
            ).json()["id"]
            for i in range(3)
        ]
        logs = [data_root / "deployments" / f"{dep}.events.jsonl" for dep in ids]
        wait_for(lambda: all(p.exists() and p.stat().st_size > 20_000 for p in logs), timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    store = RecordStore(data_root / "deployments")
    skipped: list[str] = []
    records = {raw["id"]: raw for _, raw in store.iter_records(lambda p, w: skipped.append(w))}
    assert skipped == []
    assert set(ids) <= set(records)
    for dep in ids:
        Deployment.from_record(records[dep])
        raw = (data_root / "deployments" / f"{dep}.events.jsonl").read_bytes()
        assert raw.endswith(b"\n"), "torn last line"
        events = [orjson.loads(line) for line in raw.splitlines()]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        expected = ["Initialising OpenTofu working directory"] + [
            f"line {i}" for i in range(len(events) - 1)
        ]
        assert [e["message"] for e in events] == expected
        assert EventLog(data_root / "deployments").read_sync(dep) == events


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
