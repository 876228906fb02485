"""Disk snapshots of the cache for fast cold starts (spec §6.9 and the §4 latency contract).

One file per (cluster, kind): `<dir>/<sanitize(cluster)>-<sanitize(kind)>.json` holding the
envelope `{"version": 1, "cluster", "kind", "wrote", "resourceVersion", "items"}` (items
already redacted). Writes are atomic (`<path>.tmp`, mode 0600, rename); files older than
`MAX_AGE` by mtime are purged after each pass. Everything here is blocking file I/O: the cache
calls it through `asyncio.to_thread`. The stored resourceVersion is the numeric maximum
(upstream compared strings) and, as upstream, is never used as a watch resume point.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from ..timefmt import format_rfc3339, parse_time
from .types import HydrateOutcome, Obj

__all__ = [
    "MAX_AGE",
    "Hydrated",
    "purge",
    "read_snapshot",
    "sanitize",
    "snapshot_path",
    "write_raw_snapshot",
    "write_snapshot",
]

VERSION = 1
MAX_AGE = timedelta(hours=1)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def sanitize(text: str) -> str:
    """Anything outside `[A-Za-z0-9._-]` becomes `_`; an empty string becomes `_`."""
    return _UNSAFE.sub("_", text) or "_"


def snapshot_path(directory: Path, cluster: str, kind: str) -> Path:
    return directory / f"{sanitize(cluster)}-{sanitize(kind)}.json"


def write_snapshot(
    directory: Path, *, cluster: str, kind: str, items: list[Obj], wrote: datetime
) -> Path:
    """Write one envelope of objects atomically (0600). Raises `OSError`."""
    max_rv = 0
    for obj in items:
        meta = obj.get("metadata")
        raw = meta.get("resourceVersion") if isinstance(meta, dict) else None
        with contextlib.suppress(TypeError, ValueError):
            max_rv = max(max_rv, int(str(raw)))
    return write_raw_snapshot(
        directory,
        cluster=cluster,
        kind=kind,
        raw_items=[orjson.dumps(o) for o in items],
        resource_version=max_rv,
        wrote=wrote,
    )


def write_raw_snapshot(
    directory: Path,
    *,
    cluster: str,
    kind: str,
    raw_items: list[bytes],
    resource_version: int,
    wrote: datetime,
) -> Path:
    """`write_snapshot` from objects already encoded as JSON (the cache's stored bytes), spliced
    into the envelope without decoding. Raises `OSError`."""
    head = {
        "version": VERSION,
        "cluster": cluster,
        "kind": kind,
        "wrote": format_rfc3339(wrote),
        "resourceVersion": str(resource_version) if resource_version else "",
    }
    data = orjson.dumps(head)[:-1] + b',"items":[' + b",".join(raw_items) + b"]}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = snapshot_path(directory, cluster, kind)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def purge(directory: Path, *, now: float | None = None, max_age: timedelta = MAX_AGE) -> int:
    """Delete `*.json` / `*.json.tmp` regular files whose mtime is older than `max_age`."""
    cutoff = (time.time() if now is None else now) - max_age.total_seconds()
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.endswith((".json", ".json.tmp")):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


@dataclass
class Hydrated:
    """What reading one snapshot found; `items`/`wrote` only when `hydrated`."""

    outcome: HydrateOutcome
    items: list[Obj] = field(default_factory=list)
    wrote: float | None = None


def read_snapshot(
    directory: Path,
    *,
    cluster: str,
    kind: str,
    now: datetime | None = None,
    max_age: timedelta = MAX_AGE,
) -> Hydrated:
    """Read and check one snapshot (never raises)."""
    path = snapshot_path(directory, cluster, kind)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Hydrated(HydrateOutcome.MISSING)
    except OSError:
        return Hydrated(HydrateOutcome.FAILED)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Hydrated(HydrateOutcome.FAILED)
    if not isinstance(doc, dict) or doc.get("cluster") != cluster or doc.get("kind") != kind:
        return Hydrated(HydrateOutcome.FAILED)
    wrote = parse_time(doc.get("wrote"))
    if doc.get("version") != VERSION or wrote is None:
        return Hydrated(HydrateOutcome.EXPIRED)
    current = now or datetime.now(UTC)
    if current - wrote > max_age:
        return Hydrated(HydrateOutcome.EXPIRED)
    items = doc.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return Hydrated(HydrateOutcome.FAILED)
    return Hydrated(HydrateOutcome.HYDRATED, items, wrote.timestamp())
