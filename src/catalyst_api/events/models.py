"""The deployment event: what every phase emits and every client reads.

Wire shape (spec §4.2 plus our additions, DESIGN item 1 and "Progress"):
`{"time", "phase", "level", "message", "component"?, "state"?, "progress"?, "seq"}`.
`component`/`state` are omitted when empty (Phase 0 events never carry them); `progress` only on
OpenTofu lines once the plan is known; `seq` is 1-based per deployment, stamped by the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import orjson

from ..timefmt import format_rfc3339
from ..wire.shapes import WireEvent, WireProgress

__all__ = [
    "Emit",
    "Event",
    "Level",
    "Progress",
    "rfc3339_now",
]

Level = Literal["info", "warn", "error"]


Progress = WireProgress
"""`{"done": n, "total": m}`: distinct resource changes completed / planned."""


def rfc3339_now() -> str:
    """Current UTC time as RFC3339 with seconds precision (`2026-04-29T12:57:03Z`)."""
    return format_rfc3339(datetime.now(UTC))


@dataclass(slots=True)
class Event:
    """One deployment event. `seq` and an empty `time` are filled in by the hub on emit."""

    phase: str
    message: str
    level: str = "info"
    time: str = ""
    component: str = ""
    state: str = ""
    progress: Progress | None = None
    seq: int = 0

    def to_dict(self) -> WireEvent:
        """The wire/log object, keys in the original's order."""
        out: WireEvent = {
            "time": self.time,
            "phase": self.phase,
            "level": self.level,
            "message": self.message,
        }
        if self.component:
            out["component"] = self.component
        if self.state:
            out["state"] = self.state
        if self.progress is not None:
            out["progress"] = self.progress
        if self.seq:
            out["seq"] = self.seq
        return out

    def to_json(self) -> bytes:
        """The encoded event, sized to fit: orjson's own result keeps a buffer of at least
        4 KiB, which the event window would hold for every event."""
        return memoryview(orjson.dumps(self.to_dict())).tobytes()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        """Build from a stored/wire object; unknown keys are ignored, missing ones default."""
        progress = raw.get("progress")
        return cls(
            phase=str(raw.get("phase") or ""),
            message=str(raw.get("message") or ""),
            level=str(raw.get("level") or "info"),
            time=str(raw.get("time") or ""),
            component=str(raw.get("component") or ""),
            state=str(raw.get("state") or ""),
            progress=cast(Progress, progress) if isinstance(progress, dict) else None,
            seq=int(raw.get("seq") or 0),
        )


Emit = Callable[[Event], None]
"""Non-blocking event sink handed to Phase 0, DNS and Phase 1 code: never awaits, never drops."""
