"""Kubeconfig files PUT back by cloud-init: `<CATALYST_KUBECONFIGS_DIR>/<id>.yaml`, 0600.

The bytes are written verbatim (never parsed, never logged) through a temp file
`.<id>.yaml.<random>.tmp` that is 0600 before the first byte, fsynced and renamed (spec §5).
With a `KubeconfigVault` (PostgreSQL backend) each kubeconfig is also stored once, encrypted,
in the database: the file is then a local copy any replica can rebuild (`materialize`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Protocol

from ..errors import Forbidden, ServiceUnavailable
from ..store import is_safe_id
from ..store._atomic import atomic_write, ensure_private_dir

__all__ = ["KubeconfigFiles", "KubeconfigVault", "describe_os_error"]


class KubeconfigVault(Protocol):
    """Write-once kubeconfig bytes shared by every replica (encrypted at rest)."""

    async def put(self, deployment_id: str, data: bytes) -> bool:
        """Store once; False when this deployment already has one."""
        ...

    async def get(self, deployment_id: str) -> bytes | None: ...

    async def delete(self, deployment_id: str) -> None: ...


def describe_os_error(op: str, path: str, exc: OSError) -> str:
    """Go-style `stat <path>: no such file or directory`."""
    reason = exc.strerror or str(exc)
    return f"{op} {path}: {reason[:1].lower()}{reason[1:]}"


class KubeconfigFiles:
    """Reads and writes the postback kubeconfigs."""

    def __init__(
        self,
        directory: Path | None,
        *,
        copies: tuple[Path, ...] = (),
        vault: KubeconfigVault | None = None,
    ) -> None:
        """`copies`: other directories that may hold `<id>.yaml` (the k8scache's, when it is
        configured apart from ours); `delete` removes the file there too. `vault`: the
        database copy (PostgreSQL backend)."""
        self.directory = directory
        self.copies = copies
        self.vault = vault
        self.problem: str | None = None

    def open(self) -> None:
        """Create the directory at startup; a failure is reported again on each PUT."""
        if self.directory is None:
            return
        try:
            ensure_private_dir(self.directory)
        except OSError as exc:
            self.problem = str(exc)

    def path_for(self, deployment_id: str) -> Path:
        if self.directory is None or not is_safe_id(deployment_id):
            raise ValueError("no kubeconfig path for this id")
        return (self.directory / f"{deployment_id}.yaml").absolute()

    async def deposit(self, deployment_id: str, data: bytes) -> None:
        """Store in the vault only (the replica running the deployment writes the file); 403
        `already-set` when one is stored already, 503 when the database refuses it."""
        if self.vault is None:
            raise RuntimeError("deposit needs a vault")
        try:
            stored = await self.vault.put(deployment_id, data)
        except Exception as exc:  # the database's errors, whatever the driver
            raise ServiceUnavailable(
                "write-failed", f"kubeconfig could not be persisted: {type(exc).__name__}"
            ) from None
        if not stored:
            raise Forbidden(
                "already-set",
                "kubeconfig has already been captured for this deployment; bearer is single-use",
            )

    async def stored(self, deployment_id: str) -> bool:
        """Whether the vault holds this deployment's kubeconfig (False without a vault)."""
        return self.vault is not None and await self.vault.get(deployment_id) is not None

    async def materialize(self, deployment_id: str) -> bool:
        """Rebuild the local file from the vault when it is missing; True when it exists."""
        try:
            path = self.path_for(deployment_id)
        except ValueError:
            return False
        if await asyncio.to_thread(path.exists):
            return True
        if self.vault is None:
            return False
        data = await self.vault.get(deployment_id)
        if data is None:
            return False
        await asyncio.to_thread(ensure_private_dir, path.parent)
        await asyncio.to_thread(atomic_write, path, data)
        return True

    async def write(self, deployment_id: str, data: bytes) -> Path:
        """Persist atomically with mode 0600; raises the original's 503 errors."""
        if self.vault is not None:
            await self.deposit(deployment_id, data)
        if self.directory is None:
            raise ServiceUnavailable(
                "kubeconfigs-dir-unconfigured",
                "catalyst-api has no kubeconfigs directory configured (CATALYST_KUBECONFIGS_DIR)",
            )
        try:
            await asyncio.to_thread(ensure_private_dir, self.directory)
        except OSError as exc:
            raise ServiceUnavailable(
                "kubeconfigs-dir-unwritable",
                f"catalyst-api cannot create the kubeconfigs directory: {exc}",
            ) from None
        path = self.path_for(deployment_id)
        temp = f".{deployment_id}.yaml.{os.urandom(6).hex()}.tmp"
        try:
            await asyncio.to_thread(atomic_write, path, data, temp_name=temp)
        except OSError as exc:
            raise ServiceUnavailable(
                "write-failed", f"kubeconfig could not be persisted: {exc}"
            ) from None
        return path

    async def delete(self, deployment_id: str, recorded_path: str) -> None:
        """Delete a deployment's kubeconfig (the recorded path, `<dir>/<id>.yaml` and copies);
        missing files are fine, other errors raise `OSError`."""
        if not is_safe_id(deployment_id):
            raise ValueError("no kubeconfig path for this id")
        paths = {Path(recorded_path)} if recorded_path else set()
        for directory in (self.directory, *self.copies):
            if directory is not None:
                paths.add(directory / f"{deployment_id}.yaml")

        def remove() -> None:
            for path in sorted(paths):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

        await asyncio.to_thread(remove)
        if self.vault is not None:
            await self.vault.delete(deployment_id)

    async def read(self, path: str) -> bytes:
        """The file's bytes; with a vault, a file missing here is rebuilt from it first."""
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except OSError:
            name = Path(path).name
            if self.vault is None or not name.endswith(".yaml"):
                raise
            deployment_id = name[: -len(".yaml")]
            if not await self.materialize(deployment_id):
                raise
            # The recorded path may be another replica's directory: read the local copy.
            return await asyncio.to_thread(self.path_for(deployment_id).read_bytes)
