"""Memory under hostile load (issue 10), on a real server process run as `catalyst-api serve`:

1. 1,000 SSE clients on a finished 10,000-event stream that connect, send the request and never
   read (raw loopback sockets, held until the server's write timeout disconnects them);
2. an event flood: `POST …/phases/cilium/retry` in a loop;
3. a restart with 20 deployments × 11,000 events, then `GET /events` on each.

Prints peak RSS against the same process's RSS when fresh (the baseline, measured in this run).
Targets: peak under 512 MiB (the chart's 1 GiB limit with 2× headroom); after the restart and
the 20 reads under 200 MiB.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench._serving import server_process

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = int(os.environ.get("BENCH_MEMORY_CLIENTS", "1000"))
STREAM_EVENTS = 10_000
FLOOD_SECONDS = 10.0
RESTART_DEPLOYMENTS = 20
RESTART_EVENTS = 11_000
EVENT_SIZE = 430  # a ~519-byte event, as the manual-retry one
# The write timeout (30 s) plus slack for a loop busy filling 1,000 socket buffers on a small
# machine: the clients never outlive this.
HOLD_LIMIT = 120.0
PEAK_TARGET_MIB = 512
RESTART_TARGET_MIB = 200
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQ2isn9K2RxPIA4Uah/wKbj6HoeJ6s0nKEqKznu4icu bench@x"
MIB = 1 << 20


class RssSampler:
    """Samples a process's RSS every 20 ms in a thread; `peak` since the last `reset()`."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> int:
        return int(self.process.memory_info().rss)

    def reset(self) -> None:
        self.peak = self.now()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.now())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


@contextlib.contextmanager
def _server(data: Path) -> Iterator[tuple[str, int]]:
    with server_process("_memory_server", str(data)) as (base, _port, pid):
        yield base, pid


def _create(base: str, n: int, events: int) -> str:
    body: dict[str, Any] = {
        "orgName": f"events={events};size={EVENT_SIZE}",
        "orgEmail": "b@bench.example",
        "sovereignFQDN": f"m{n}.bench.example",
        "sovereignDomainMode": "byo",
        "hetznerToken": "b" * 64,
        "hetznerProjectID": "1",
        "region": "fsn1",
        "controlPlaneSize": "cpx31",
        "sshPublicKey": SSH_KEY,
    }
    resp = httpx.post(f"{base}/api/v1/deployments", json=body, timeout=30)
    resp.raise_for_status()
    dep: str = resp.json()["id"]
    return dep


def _wait_finished(base: str, dep: str, events: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/api/v1/deployments/{dep}", timeout=10).json()
        if state["status"] == "failed" and state["numEvents"] >= min(events, 10_000):
            return
        time.sleep(0.2)
    raise RuntimeError(f"deployment {dep} did not finish")


def _metric(base: str, name: str) -> float:
    # Generous timeout: while 1,000 replays fill their socket buffers the loop is busy.
    for line in httpx.get(f"{base}/metrics", timeout=60).text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _non_reading_clients(base: str, port: int, dep: str, rss: RssSampler) -> dict[str, float]:
    request = f"GET /api/v1/deployments/{dep}/logs HTTP/1.1\r\nHost: b\r\n\r\n".encode()
    socks: list[socket.socket] = []
    start = time.monotonic()
    try:
        for _ in range(CLIENTS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(request)
            socks.append(sock)
        connected = time.monotonic() - start
        # Hold them (never reading) until the server has disconnected every one of them.
        while time.monotonic() - start < HOLD_LIMIT:
            gone = _metric(base, "catalyst_http_slow_clients_disconnected_total")
            if gone >= CLIENTS and _metric(base, "catalyst_sse_subscribers") == 0:
                break
            time.sleep(0.5)
        held = time.monotonic() - start
        return {
            "connected_s": connected,
            "held_s": held,
            "disconnected_by_server": _metric(
                base, "catalyst_http_slow_clients_disconnected_total"
            ),
            "rejected": _metric(base, "catalyst_sse_rejected_total"),
        }
    finally:
        for sock in socks:
            sock.close()


def _last_seq(base: str, dep: str) -> int:
    """The newest event's seq (`numEvents` stops at the 10,000-event buffer)."""
    events = httpx.get(f"{base}/api/v1/deployments/{dep}/events", timeout=30).json()["events"]
    return int(events[-1]["seq"]) if events else 0


def _flood(base: str, dep: str) -> dict[str, float]:
    before = _last_seq(base, dep)
    stop = time.monotonic() + FLOOD_SECONDS
    url = f"{base}/api/v1/deployments/{dep}/phases/cilium/retry"

    def loop() -> int:
        sent = 0
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < stop:
                client.post(url).raise_for_status()
                sent += 1
        return sent

    with ThreadPoolExecutor(4) as pool:
        calls = sum(pool.map(lambda _: loop(), range(4)))
    return {"calls": calls, "events_added": _last_seq(base, dep) - before}


def _restart_reads(data: Path, deps: list[str]) -> tuple[int, int]:
    """A fresh process on the same data; RSS when fresh and after `GET /events` on each."""
    with _server(data) as (base, pid):
        sampler = RssSampler(pid)
        try:
            fresh = sampler.now()
            with httpx.Client(timeout=60) as client:
                for dep in deps:
                    payload = client.get(f"{base}/api/v1/deployments/{dep}/events").json()
                    assert len(payload["events"]) == 10_000, len(payload["events"])
            time.sleep(0.5)
            return fresh, sampler.now()
        finally:
            sampler.stop()


def main() -> bool:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        with _server(data) as (base, pid):
            rss = RssSampler(pid)
            try:
                fresh = rss.now()
                dep = _create(base, 0, STREAM_EVENTS)
                _wait_finished(base, dep, STREAM_EVENTS)
                loaded = rss.now()
                rss.reset()
                port = int(base.rsplit(":", 1)[1])
                clients = _non_reading_clients(base, port, dep, rss)
                peak_clients = rss.peak
                rss.reset()
                flood = _flood(base, dep)
                peak_flood = rss.peak
                deps = [_create(base, n + 1, RESTART_EVENTS) for n in range(RESTART_DEPLOYMENTS)]
                for item in deps:
                    _wait_finished(base, item, RESTART_EVENTS)
            finally:
                rss.stop()
        restart_fresh, restart_after = _restart_reads(data, deps)
    print(
        f"fresh process RSS: {fresh / MIB:.0f} MiB; with a finished {STREAM_EVENTS}-event "
        f"stream: {loaded / MIB:.0f} MiB"
    )
    print(
        f"{CLIENTS} non-reading SSE clients: peak RSS {peak_clients / MIB:.0f} MiB "
        f"({peak_clients / fresh:.2f}x fresh; +{(peak_clients - loaded) / CLIENTS / 1024:.0f} "
        f"KiB per client); connected in {clients['connected_s']:.1f}s, held "
        f"{clients['held_s']:.1f}s, disconnected by the server: "
        f"{clients['disconnected_by_server']:.0f}, rejected: {clients['rejected']:.0f}"
    )
    print(
        f"event flood ({FLOOD_SECONDS:.0f}s, 4 clients): {flood['calls']:.0f} retry calls added "
        f"{flood['events_added']:.0f} event(s); peak RSS {peak_flood / MIB:.0f} MiB "
        f"({peak_flood / fresh:.2f}x fresh)"
    )
    print(
        f"restart with {RESTART_DEPLOYMENTS} x {RESTART_EVENTS} events: fresh "
        f"{restart_fresh / MIB:.0f} MiB, after GET /events on each {restart_after / MIB:.0f} MiB "
        f"({restart_after / restart_fresh:.2f}x fresh; target < {RESTART_TARGET_MIB} MiB)"
    )
    peak = max(peak_clients, peak_flood)
    ok = (
        peak < PEAK_TARGET_MIB * MIB
        and restart_after < RESTART_TARGET_MIB * MIB
        and flood["events_added"] <= 1
    )
    print(f"peak {peak / MIB:.0f} MiB vs target < {PEAK_TARGET_MIB} MiB (1 GiB limit / 2)")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
