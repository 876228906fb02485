"""Replica processes over one PostgreSQL database, for failover tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from catalyst_api.store.keyring import KeyRing
from support.server import free_port
from support.waiting import wait_for

__all__ = ["ENCRYPTION_KEY", "ReplicaProcess", "replica_env"]

SCRIPT = Path(__file__).resolve().parent / "serve_scripted.py"
ENCRYPTION_KEY = KeyRing.generate("test1")


def replica_env(root: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment of one replica: its own data dirs under `root`, the shared database."""
    return {
        "CATALYST_DATABASE_URL": database_url,
        "CATALYST_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "CATALYST_LEASE_TTL": "2s",
        "CATALYST_DEPLOYMENTS_DIR": str(root / "deployments"),
        "CATALYST_KUBECONFIGS_DIR": str(root / "kubeconfigs"),
        "CATALYST_EXECUTIONS_DIR": str(root / "executions"),
        "CATALYST_TOFU_WORKDIR": str(root / "tofu"),
        "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(root / "cache"),
        "CATALYST_K8SCACHE_KUBECONFIGS_DIR": str(root / "kubeconfigs"),
        **extra,
    }


class ReplicaProcess:
    """`serve_scripted.py` in its own process (so it can be killed with SIGKILL)."""

    def __init__(
        self, env: dict[str, str], *, lines: int, delay: float, log: Path | None = None
    ) -> None:
        """`log`: a file for the replica's output (warnings and errors), else discarded."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        out = log.open("ab") if log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(self.port), str(lines), str(delay)],
            env=dict(os.environ, **env),
            stdout=out,
            stderr=out,
        )
        wait_for(self._healthy, timeout=30, interval=0.05)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"replica exited with {self.proc.returncode}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """kill -9."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
