"""Kubeconfig files PUT back by cloud-init: `<CATALYST_KUBECONFIGS_DIR>/<id>.yaml`, 0600.

The bytes are written verbatim (never parsed, never logged) through a temp file
`.<id>.yaml.<random>.tmp` that is 0600 before the first byte, fsynced and renamed (spec §5).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from ..errors import ServiceUnavailable
from ..store import is_safe_id
from ..store._atomic import atomic_write, ensure_private_dir

__all__ = ["KubeconfigFiles", "describe_os_error"]


def describe_os_error(op: str, path: str, exc: OSError) -> str:
    """Go-style `stat <path>: no such file or directory`."""
    reason = exc.strerror or str(exc)
    return f"{op} {path}: {reason[:1].lower()}{reason[1:]}"


class KubeconfigFiles:
    """Reads and writes the postback kubeconfigs."""

    def __init__(self, directory: Path | None, *, copies: tuple[Path, ...] = ()) -> None:
        """`copies`: other directories that may hold `<id>.yaml` (the k8scache's, when it is
        configured apart from ours); `delete` removes the file there too."""
        self.directory = directory
        self.copies = copies
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

    async def write(self, deployment_id: str, data: bytes) -> Path:
        """Persist atomically with mode 0600; raises the original's 503 errors."""
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

    @staticmethod
    async def read(path: str) -> bytes:
        return await asyncio.to_thread(Path(path).read_bytes)
