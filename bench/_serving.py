"""Shared plumbing of the benchmarks that run real server processes: the server side (settings
under one data directory, `catalyst-api serve`'s uvicorn configuration) and the client side
(start a `python -m bench.<module>` server on a free loopback port, wait for `/healthz`)."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.deployments.ports import Provisioner
from catalyst_api.logs import configure_logging
from catalyst_api.runtime import tune_interpreter
from catalyst_api.serving import uvicorn_config
from catalyst_api.wiring import Overrides

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    port: int, data: Path, provisioner: Provisioner, env: dict[str, str] | None = None
) -> None:
    """Run catalyst-api as `catalyst-api serve` does, every directory under `data`; `env`
    adds settings."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    configure_logging("warning")
    tune_interpreter()  # as `catalyst-api serve` does
    settings = Settings.from_env(
        {
            "PORT": str(port),
            "CATALYST_DEPLOYMENTS_DIR": str(data / "deployments"),
            "CATALYST_KUBECONFIGS_DIR": str(data / "kubeconfigs"),
            "CATALYST_EXECUTIONS_DIR": str(data / "executions"),
            "CATALYST_TOFU_WORKDIR": str(data / "tofu"),
            "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(data / "cache"),
            **(env or {}),
        }
    )
    app = create_app(settings, overrides=Overrides(provisioner=provisioner))
    uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1")).run()


@contextlib.contextmanager
def server_process(
    module: str, *args: str, start_timeout: float = 60
) -> Iterator[tuple[str, int, int]]:
    """`python -m bench.<module> PORT *args`, healthy: yields (base URL, port, pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("bench server did not start")
            time.sleep(0.1)
        yield base, port, proc.pid
    finally:
        proc.terminate()
        proc.wait(60)
