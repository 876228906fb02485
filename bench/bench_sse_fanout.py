"""SSE fan-out: 1,000 subscribers on one deployment, 20 events/s for 10 s (20,000 deliveries/s),
the load generator in its own process. Targets: zero lost or duplicated events, p99
emit→receive ≤ 250 ms. Then the emit rate doubles until the p99 target breaks.
Baseline in the same run: a bare asyncio broadcaster (`_sse_raw_server`) under the same load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SUBSCRIBERS = int(os.environ.get("BENCH_SSE_SUBSCRIBERS", "1000"))
RATE = 20.0
DURATION = 10.0
RAMP_DURATION = 5.0
TARGET_P99_MS = 250.0
ROOT = Path(__file__).resolve().parents[1]
# A real Ed25519 public key: create validates it (issue 10).
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQ2isn9K2RxPIA4Uah/wKbj6HoeJ6s0nKEqKznu4icu"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(port: int, path: str, subscribers: int = SUBSCRIBERS) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench._sse_load", "127.0.0.1", str(port), path, str(subscribers)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _run_ours(base: str, port: int, rate: float, duration: float, n: int) -> dict[str, Any]:
    body = {
        "orgName": f"rate={rate};duration={duration};subscribers={SUBSCRIBERS}",
        "orgEmail": "b@bench.example",
        "sovereignFQDN": f"b{n}.bench.example",
        "sovereignDomainMode": "byo",
        "hetznerToken": "b" * 64,
        "hetznerProjectID": "1",
        "region": "fsn1",
        "controlPlaneSize": "cpx31",
        "sshPublicKey": f"{SSH_KEY} bench",
    }
    dep = httpx.post(f"{base}/api/v1/deployments", json=body).json()["id"]
    return _load(port, f"/api/v1/deployments/{dep}/logs")


def _ok(result: dict[str, Any], expected: int) -> bool:
    return (
        result["connected"] == SUBSCRIBERS
        and result["clients_with_loss_or_dup"] == 0
        and result["events_per_client"] == expected
        and result["p99_ms"] <= TARGET_P99_MS
    )


def _show(label: str, r: dict[str, Any]) -> None:
    print(
        f"{label}: clients={r['connected']}/{r['clients']} events/client={r['events_per_client']} "
        f"deliveries={r['deliveries']} loss/dup clients={r['clients_with_loss_or_dup']} "
        f"p50={r['p50_ms']:.1f}ms p99={r['p99_ms']:.1f}ms max={r['max_ms']:.1f}ms "
        f"errors={r['error_count']}",
        flush=True,
    )


def main() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench._sse_server", str(port), tmp],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            main_run = _run_ours(base, port, RATE, DURATION, 0)
            _show(f"ours @ {RATE:.0f} ev/s x {SUBSCRIBERS}", main_run)
            passed = _ok(main_run, int(RATE * DURATION))
            best = RATE if passed else 0.0
            rate, n = RATE * 2, 1
            while passed and rate <= 1280:
                r = _run_ours(base, port, rate, RAMP_DURATION, n)
                _show(f"ours @ {rate:.0f} ev/s x {SUBSCRIBERS}", r)
                if not _ok(r, int(rate * RAMP_DURATION)):
                    break
                best, rate, n = rate, rate * 2, n + 1
        finally:
            server.terminate()
            server.wait(10)
        raw_port = _free_port()
        raw = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench._sse_raw_server",
                str(raw_port),
                str(SUBSCRIBERS),
                str(RATE),
                str(DURATION),
            ],
            cwd=ROOT,
        )
        time.sleep(0.5)
        try:
            baseline = _load(raw_port, "/stream")
        finally:
            raw.wait(30)
        _show(f"baseline bare asyncio @ {RATE:.0f} ev/s", baseline)
    ratio = main_run["p99_ms"] / max(baseline["p99_ms"], 0.001)
    print(
        f"p99 ours/baseline = {ratio:.2f}x; highest emit rate meeting p99 ≤ "
        f"{TARGET_P99_MS:.0f} ms: {best:.0f} ev/s ({best * SUBSCRIBERS:.0f} deliveries/s)"
    )
    return passed


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
