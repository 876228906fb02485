"""The sandbox's own files, next to the deployment store: `<data root>/sandbox/` (0700).

    cloud.json                 the sandbox cloud's resource inventory
    dynadot.json               the fake Dynadot zones
    sovereigns/<id>.json       one simulated Sovereign: apiserver port, bearer token for its
                               apiserver, cluster CA (cert + key), objects, Flux progress and,
                               until its postback succeeded, its kubeconfig bearer

Files are 0600 and replaced atomically (temp file + rename in the same directory). They are not
fsynced: they must survive a crash of the process (kill -9), not of the machine. The async
methods run the writes, in the order they were asked for, on one thread of the sandbox's own
(so a busy default executor never delays a simulated Sovereign). Nothing here
holds a catalyst-api secret (Hetzner token, Dynadot or GHCR credentials of the real world):
the Sovereign's apiserver token and CA are the simulated cluster's own, and the one-time
kubeconfig bearer is what the simulated node's cloud-init keeps on its disk until the
postback succeeded (like the tofu workdir's tfvars, 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import structlog

__all__ = ["SandboxFiles", "sandbox_dir_for"]

log = structlog.get_logger(__name__)

_ID = re.compile(r"^[0-9a-f]{16}$")


def sandbox_dir_for(deployments_dir: Path) -> Path:
    """`<parent of CATALYST_DEPLOYMENTS_DIR>/sandbox`."""
    return deployments_dir.absolute().parent / "sandbox"


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class SandboxFiles:
    """Reads and writes the sandbox's JSON files under one root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sovereigns_dir = root / "sovereigns"
        self._executor: ThreadPoolExecutor | None = None

    def open(self) -> None:
        """Create the directories (0700) and drop temp files a crash left behind."""
        _private_dir(self.root)
        _private_dir(self.sovereigns_dir)
        for directory in (self.root, self.sovereigns_dir):
            for stale in directory.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()

    def close(self) -> None:
        """Finish the queued writes and stop the writer thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _run(self, fn: Callable[[], None]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-files")
        await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def awrite(self, name: str, value: dict[str, Any]) -> None:
        """`write` on the writer thread (the value is serialized now, on the caller's side)."""
        data = orjson.dumps(value)
        await self._run(lambda: _write_atomic(self.root / f"{name}.json", data))

    async def awrite_sovereign(self, deployment_id: str, value: dict[str, Any]) -> None:
        """`write_sovereign` on the writer thread."""
        path, data = self._sovereign_path(deployment_id), orjson.dumps(value)
        await self._run(lambda: _write_atomic(path, data))

    async def adelete_sovereign(self, deployment_id: str) -> None:
        """`delete_sovereign` on the writer thread (after every write queued before it)."""
        path = self._sovereign_path(deployment_id)
        await self._run(lambda: path.unlink(missing_ok=True))

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            raw = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("unreadable sandbox file skipped", path=str(path), error=str(exc))
            return None
        return raw if isinstance(raw, dict) else None

    def read(self, name: str) -> dict[str, Any] | None:
        """`<root>/<name>.json`, or None when absent or unreadable."""
        return self._read(self.root / f"{name}.json")

    def write(self, name: str, value: dict[str, Any]) -> None:
        """Replace `<root>/<name>.json`."""
        _write_atomic(self.root / f"{name}.json", orjson.dumps(value))

    def _sovereign_path(self, deployment_id: str) -> Path:
        if not _ID.fullmatch(deployment_id):
            raise ValueError(f"invalid deployment id {deployment_id!r}")
        return self.sovereigns_dir / f"{deployment_id}.json"

    def write_sovereign(self, deployment_id: str, value: dict[str, Any]) -> None:
        """Replace the Sovereign's file."""
        _write_atomic(self._sovereign_path(deployment_id), orjson.dumps(value))

    def delete_sovereign(self, deployment_id: str) -> None:
        """Remove the Sovereign's file (absent is fine)."""
        self._sovereign_path(deployment_id).unlink(missing_ok=True)

    def sovereigns(self) -> Iterator[dict[str, Any]]:
        """Every readable Sovereign file."""
        for path in sorted(self.sovereigns_dir.glob("*.json")):
            if _ID.fullmatch(path.stem):
                raw = self._read(path)
                if raw is not None:
                    yield raw
