"""Deployment records: one `<id>.json` per deployment, rewritten atomically on state changes.

Format (spec §4.5, DESIGN item 2): the original's record keys, pretty-printed with a 2-space
indent and a trailing newline, no HTML escaping, mode 0600 in a 0700 directory; the event history
lives beside it in `<id>.events.jsonl` (see `eventlog.py`). Temp files are named
`.<id>.<random>.json.tmp` like the original's, so both services skip each other's leftovers.

An unusable directory never stops the service: `RecordStore.open()` reports it and every later
call becomes a no-op (`writable` is False, `/readyz` answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import structlog

from ._atomic import atomic_write, ensure_private_dir
from .ids import is_safe_id

__all__ = ["RecordStore", "StoreError"]

log = structlog.get_logger(__name__)

OnSkip = Callable[[Path, str], None]


class StoreError(Exception):
    """A record could not be written or an id is not usable as a file name."""


def _encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n"


class RecordStore:
    """Flat-file store of deployment records under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.writable = False
        self.problem: str | None = None
        self._lock = asyncio.Lock()

    def open(self) -> bool:
        """Create the directory (0700) and probe that it is writable; never raises."""
        try:
            ensure_private_dir(self.directory)
            self._probe()
        except OSError as exc:
            self.writable = False
            self.problem = f"deployments directory {self.directory} is not writable: {exc}"
            log.warning("deployment store unavailable; running in memory", problem=self.problem)
            return False
        self.writable = True
        self.problem = None
        return True

    def _probe(self) -> None:
        probe = self.directory / ".write-probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        probe.unlink()

    def check_writable(self) -> tuple[bool, str | None]:
        """Probe the directory again now (used by `/readyz`)."""
        try:
            if not self.directory.is_dir():
                raise FileNotFoundError(f"{self.directory} does not exist")
            self._probe()
        except OSError as exc:
            return False, f"deployments directory {self.directory} is not writable: {exc}"
        return True, None

    def describe(self) -> dict[str, str]:
        """Where the records live (`/readyz`, logs)."""
        return {"dir": str(self.directory)}

    def path_for(self, deployment_id: str) -> Path:
        """`<dir>/<id>.json`; rejects ids that could escape the directory."""
        if not is_safe_id(deployment_id):
            raise StoreError(f"unsafe deployment id {deployment_id!r}")
        return self.directory / f"{deployment_id}.json"

    def save_sync(self, deployment_id: str, record: dict[str, Any]) -> None:
        """Write one record atomically (blocking)."""
        if not self.writable:
            return
        path = self.path_for(deployment_id)
        temp = f".{deployment_id}.{secrets.token_hex(6)}.json.tmp"
        atomic_write(path, _encode(record), temp_name=temp)

    async def save(self, deployment_id: str, record: dict[str, Any]) -> bool:
        """Write one record atomically off the event loop; failures are logged, not raised.

        Saves are serialized so a later state can never be overwritten by an earlier one.
        """
        if not self.writable:
            return False
        async with self._lock:
            try:
                await asyncio.to_thread(self.save_sync, deployment_id, record)
            except (OSError, StoreError) as exc:
                log.warning(
                    "deployment record save failed", deployment_id=deployment_id, error=str(exc)
                )
                return False
        return True

    def iter_records(self, on_skip: OnSkip) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Yield `(path, raw record)` for every loadable `*.json` file.

        Hidden files, non-`.json` names and subdirectories are skipped silently; unreadable,
        non-object or id-less files are reported through `on_skip` and skipped.
        """
        if not self.directory.is_dir():
            return
        with os.scandir(self.directory) as entries:
            names = sorted(
                entry.name
                for entry in entries
                if not entry.name.startswith(".")
                and entry.name.endswith(".json")
                and entry.is_file(follow_symlinks=False)
            )
        for name in names:
            path = self.directory / name
            try:
                raw = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                on_skip(path, f"unreadable: {exc}")
                continue
            if not isinstance(raw, dict):
                on_skip(path, "not a JSON object")
                continue
            record_id = raw.get("id")
            if not isinstance(record_id, str) or not is_safe_id(record_id):
                on_skip(path, "missing or invalid id")
                continue
            yield path, raw

    def remove_stale_temp_files(self) -> int:
        """Delete `.<id>.*.json.tmp` leftovers of interrupted saves; returns how many."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for path in self.directory.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed
