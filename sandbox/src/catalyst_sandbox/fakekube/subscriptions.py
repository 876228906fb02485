"""Change records and the thread-safe hand-off from the (synchronous) state to asyncio streams."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any

from .resources import TypeKey

__all__ = ["Control", "EventRecord", "Subscription"]


@dataclass(frozen=True)
class EventRecord:
    """One committed change. `obj` carries the new resourceVersion (also for DELETED)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: TypeKey
    obj: dict[str, Any]
    prev: dict[str, Any] | None


class Control(enum.Enum):
    """Out-of-band instructions to a stream."""

    CLOSE = "close"  # end the response cleanly (server shutdown, pod deleted, watch dropped)
    ABORT = "abort"  # cut the connection without finishing the chunked body


class Subscription:
    """A queue owned by one event loop that any thread may feed, in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.alive = True

    def deliver(self, item: Any) -> bool:
        """Queue `item` from any thread; False once the owning loop is gone."""
        if not self.alive:
            return False
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # loop closed
            self.alive = False
        return self.alive

    async def get(self, timeout: float | None) -> Any:
        """Next item, or None when `timeout` seconds pass first."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
