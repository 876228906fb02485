"""Cold start: 10,000 stored deployments with 1,000 events each.

Targets: `/readyz` 200 within 3 s of process start; RSS after startup ≤ 128 MiB (the seed's
memory request). Baseline in the same run: an eager loader that reads and parses every event log
at startup (what a store keeping events inside the records has to do).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

DEPLOYMENTS = int(os.environ.get("BENCH_COLD_DEPLOYMENTS", "10000"))
EVENTS = int(os.environ.get("BENCH_COLD_EVENTS", "1000"))
TARGET_READY_S = 3.0
TARGET_RSS_MIB = 128.0


def _generate(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True)
    for n in range(DEPLOYMENTS):
        dep = f"{n:016x}"
        record = {
            "id": dep,
            "status": "ready" if n % 3 else "failed",
            "request": {
                "orgName": f"Org {n}",
                "orgEmail": f"ops{n}@example.com",
                "sovereignFQDN": f"s{n}.example.com",
                "sovereignDomainMode": "byo",
                "hetznerToken": "<redacted>",
                "hetznerProjectID": "1",
                "region": "fsn1",
                "controlPlaneSize": "cpx31",
                "workerCount": 0,
                "haEnabled": False,
                "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB catalyst",
            },
            "result": {
                "sovereignFQDN": f"s{n}.example.com",
                "controlPlaneIP": "203.0.113.10",
                "loadBalancerIP": "203.0.113.20",
                "consoleURL": f"https://console.s{n}.example.com",
                "gitopsRepoURL": f"https://gitea.s{n}.example.com",
                "componentStates": {"cilium": "installed", "flux": "installed"},
                "phase1FinishedAt": "2026-04-30T09:41:27.5Z",
                "phase1Outcome": "ready",
            },
            "startedAt": "2026-04-30T09:02:11.006Z",
            "finishedAt": "2026-04-30T09:41:27.500118Z",
            "phase0FinishedAt": "2026-04-30T09:20:00Z",
        }
        (directory / f"{dep}.json").write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        lines = b"".join(
            orjson.dumps(
                {
                    "time": "2026-04-30T09:02:11Z",
                    "phase": "tofu",
                    "level": "info",
                    "message": f"hcloud_server.cp[0]: Still creating... [{i}s elapsed]",
                    "seq": i + 1,
                }
            )
            + b"\n"
            for i in range(EVENTS)
        )
        (directory / f"{dep}.events.jsonl").write_bytes(lines)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return -1.0


def _eager_baseline(directory: Path) -> float:
    start = time.perf_counter()
    count = 0
    for path in directory.glob("*.json"):
        record = orjson.loads(path.read_bytes())
        events = [
            orjson.loads(x)
            for x in (directory / f"{record['id']}.events.jsonl").read_bytes().splitlines()
        ]
        count += len(events)
    assert count == DEPLOYMENTS * EVENTS
    return time.perf_counter() - start


def main() -> bool:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        _generate(data / "deployments")
        print(
            f"generated {DEPLOYMENTS} deployments x {EVENTS} events in "
            f"{time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, CATALYST_LOG_LEVEL="warning")
        subprocess.run(["sync"], check=False)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "catalyst_api.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ready_s = -1.0
        try:
            while time.perf_counter() - start < 60:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        ready_s = time.perf_counter() - start
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
            rss = _rss_mib(proc.pid)
            listing = httpx.get(f"http://127.0.0.1:{port}/api/v1/deployments?limit=50").json()
            assert len(listing["deployments"]) == 50
            assert listing["deployments"][0]["numEvents"] == EVENTS
        finally:
            proc.terminate()
            proc.wait(20)
        baseline_s = _eager_baseline(data / "deployments")
    print(
        f"ours: /readyz 200 after {ready_s:.2f}s (target ≤ {TARGET_READY_S}s); "
        f"RSS {rss:.1f} MiB (target ≤ {TARGET_RSS_MIB:.0f} MiB)"
    )
    print(
        f"baseline eager load of every event: {baseline_s:.2f}s → ratio {baseline_s / ready_s:.1f}x"
    )
    return 0 < ready_s <= TARGET_READY_S and rss <= TARGET_RSS_MIB


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
