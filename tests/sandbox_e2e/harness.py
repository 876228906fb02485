"""Drive a real `catalyst-api serve --sandbox` process over real HTTP (used by the fixtures in
`conftest.py` and the tests)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from catalyst_api.client.sse import parse_frames

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
EXAMPLE = REPO / "examples" / "sandbox-deployment.json"
VALID_TOKEN = "sandbox-e2e-token-" + "c" * 60


def assert_truthful(event: dict[str, Any]) -> None:
    """No `component` event without its component (a client would turn it into a false
    "monitoring unavailable" banner, issue 14); every event a test reads passes through here."""
    assert event.get("phase") != "component" or event.get("component"), event


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxProcess:
    """`python -m catalyst_api.cli serve --sandbox …` on a loopback port."""

    def __init__(
        self, data_dir: Path, *, speed: float, args: tuple[str, ...], env: dict[str, str]
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.speed = speed
        self.args = args
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.starts}.log"

    def start(self) -> SandboxProcess:
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_")}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        # The sandbox's Phase 1 budget (30 s at speed 40) is sized for a user's machine. On a
        # busy test machine a watch that runs out of it ends `ready` with components still
        # `pending` (the documented timeout outcome, docs/RUNBOOK.md), which is not what these
        # tests are about; a test of the timeout passes its own value.
        env["CATALYST_PHASE1_WATCH_TIMEOUT"] = "10m"
        env.update(self.env)
        command = [
            sys.executable,
            "-m",
            "catalyst_api.cli",
            "serve",
            "--sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--sandbox-speed",
            str(self.speed),
            *self.args,
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox server exited:\n{self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError("sandbox server did not start")

    def log_text(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.data_dir.glob("server-*.log"))
        )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    # --- API helpers ---------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> str:
        # 60 s: twenty creates at once on a machine whose two cores also run twenty OpenTofu
        # processes (and other test runs) were seen to take over 10 s; this catches hangs only.
        response = httpx.post(f"{self.url}/api/v1/deployments", json=body, timeout=60)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def get_json(self, path: str) -> Any:
        """GET with a few retries on a dropped connection.

        Why retry: under load, the server can lose a connection when the provisioner's pipe
        readers (uvloop + `connect_read_pipe` on a file object) close a file descriptor twice
        and hit a reused one; the lead has the report. Polling must not flake on that.
        """
        for attempt in range(4):
            try:
                return httpx.get(f"{self.url}{path}", timeout=10).json()
            except httpx.TransportError:
                if attempt == 3:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def state(self, dep: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get_json(f"/api/v1/deployments/{dep}")
        return result

    def events(self, dep: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.get_json(f"/api/v1/deployments/{dep}/events")["events"]
        for event in events:
            assert_truthful(event)
        return events

    def wait_status(self, dep: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(dep)
            if state["status"] in statuses:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{dep} still {state['status']!r} after {timeout}s")
            time.sleep(0.1)

    def wait_event(
        self, dep: str, matches: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        """Poll the deployment's event history until an event `matches`; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in self.events(dep) if matches(e)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching event for {dep} after {timeout}s")
            time.sleep(0.1)

    def wait_kubeconfig_wait(self, dep: str, timeout: float = 120) -> None:
        """Until Phase 0 is over and catalyst-api waits for the Sovereign's kubeconfig
        postback (its `kubeconfig` event; the record says `phase1-watching` by then)."""
        self.wait_event(dep, waits_for_kubeconfig, timeout)

    def refuse_postbacks(self) -> Path:
        """Make every kubeconfig PUT answer 503 (a file where the kubeconfigs directory
        should be) until `accept_postbacks`; returns that path."""
        kubeconfigs = self.data_dir / "kubeconfigs"
        shutil.rmtree(kubeconfigs, ignore_errors=True)
        kubeconfigs.write_bytes(b"")
        return kubeconfigs

    def accept_postbacks(self) -> None:
        kubeconfigs = self.data_dir / "kubeconfigs"
        kubeconfigs.unlink()
        kubeconfigs.mkdir(mode=0o700)

    def follow(self, dep: str, timeout: float = 90) -> list[dict[str, Any]]:
        """Read the SSE stream until `event: done`; returns the data of every frame. A dropped
        stream is resumed with `Last-Event-ID` (see `get_json` for why it can drop)."""
        frames: list[dict[str, Any]] = []
        last_id = ""
        for attempt in range(4):
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                last_id = self._read_stream(dep, frames, last_id, headers, timeout)
            except httpx.TransportError:
                if attempt == 3:
                    raise
                time.sleep(0.2)
                continue
            break
        assert frames and frames[-1]["event"] == "done", "stream ended without `event: done`"
        return frames

    def _read_stream(
        self,
        dep: str,
        frames: list[dict[str, Any]],
        last_id: str,
        headers: dict[str, str],
        timeout: float,
    ) -> str:
        with httpx.stream(
            "GET", f"{self.url}/api/v1/deployments/{dep}/logs", headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200
            for frame in parse_frames(response.iter_lines()):
                if frame.data:
                    data = json.loads(frame.data)
                    assert_truthful(data)
                    frames.append({"event": frame.event, **data, "receivedAt": time.monotonic()})
                    last_id = frame.id or last_id
                if frame.event == "done":
                    break
        return last_id


def waits_for_kubeconfig(event: dict[str, Any]) -> bool:
    """The event a run emits when Phase 0 is over and it waits for the kubeconfig postback."""
    return event.get("phase") == "kubeconfig" and str(event.get("message", "")).startswith(
        "Waiting for the new control plane's cloud-init to PUT its kubeconfig back"
    )


def example_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(EXAMPLE.read_text())
    body.update(overrides)
    return body


def byo_body(name: str, **overrides: Any) -> dict[str, Any]:
    body = example_body(
        sovereignFQDN=f"{name}.sandbox.example",
        sovereignDomainMode="byo",
        sovereignPoolDomain="",
        sovereignSubdomain="",
        hetznerToken=VALID_TOKEN,
        regions=[
            {
                "provider": "hetzner",
                "cloudRegion": "fsn1",
                "controlPlaneSize": "cx32",
                "workerSize": "",
                "workerCount": 0,
            }
        ],
    )
    body.update(overrides)
    return body


SandboxFactory = Callable[..., SandboxProcess]


def sandbox_factory(base: Path) -> Iterator[SandboxFactory]:
    """Yields `start(*args, speed=, env=)`; every server started is stopped afterwards."""
    started: list[SandboxProcess] = []
    counter = iter(range(1000))

    def start(*args: str, speed: float = 40.0, env: dict[str, str] | None = None) -> SandboxProcess:
        data_dir = base / f"sandbox-{next(counter)}"
        data_dir.mkdir(parents=True)
        process = SandboxProcess(data_dir, speed=speed, args=args, env=env or {})
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


def start_sandbox(
    base: Path, *args: str, speed: float = 40.0, env: dict[str, str] | None = None
) -> Iterator[SandboxProcess]:
    """Yields one started server and stops it afterwards."""
    for start in sandbox_factory(base):
        yield start(*args, speed=speed, env=env)
