"""Fan-out of cache events to stream subscribers, never blocking the informers.

Each subscriber has a bounded buffer (4096 events by default). When it is full the oldest event
is dropped, the drop is counted, and (beyond the original) the subscriber is told to resync:
its next read returns `RESYNC` before the events still buffered, so the HTTP layer can send an
`event: resync` frame and the client refetches instead of silently missing a change.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, Literal

from .types import CacheEvent

__all__ = ["RESYNC", "Fanout", "Subscriber"]

RESYNC: Final = "resync"
DEFAULT_BUFFER = 4096


class Subscriber:
    """One stream's view: its cluster, kinds filter (empty = all), user and buffer."""

    def __init__(self, cluster: str, kinds: frozenset[str], user: str, maxlen: int) -> None:
        self.cluster = cluster
        self.kinds = kinds
        self.user = user
        self._buffer: deque[CacheEvent] = deque()
        self._maxlen = maxlen
        self._wake = asyncio.Event()
        self.dropped = 0
        self._resync = False
        self.closed = False

    def wants(self, event: CacheEvent) -> bool:
        return not self.kinds or event["kind"] in self.kinds

    def offer(self, event: CacheEvent) -> bool:
        """Buffer the event; returns True when an older one had to be dropped."""
        dropped = False
        if len(self._buffer) >= self._maxlen:
            self._buffer.popleft()
            self.dropped += 1
            self._resync = True
            dropped = True
        self._buffer.append(event)
        self._wake.set()
        return dropped

    def close(self) -> None:
        """The cluster went away: wake the reader, which then sees `closed`."""
        self.closed = True
        self._wake.set()

    async def next(self, timeout: float) -> CacheEvent | Literal["resync"] | None:
        """The next event, `RESYNC` after drops, or None after `timeout` seconds / when closed."""
        if not self._buffer and not self._resync and not self.closed:
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return None
        if self._resync:
            self._resync = False
            return RESYNC
        if self._buffer:
            return self._buffer.popleft()
        return None


class Fanout:
    """Subscribers by cluster; `publish` is synchronous and O(subscribers of that cluster)."""

    def __init__(
        self,
        *,
        buffer: int = DEFAULT_BUFFER,
        on_drop: Callable[[str, str], None] = lambda cluster, kind: None,
    ) -> None:
        self._buffer = buffer
        self._on_drop = on_drop
        self._subs: dict[str, set[Subscriber]] = {}

    def subscribe(self, cluster: str, kinds: frozenset[str], user: str) -> Subscriber:
        sub = Subscriber(cluster, kinds, user, self._buffer)
        self._subs.setdefault(cluster, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.cluster)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.cluster]

    def publish(self, event: CacheEvent) -> None:
        for sub in list(self._subs.get(event["cluster"], ())):
            if sub.wants(event) and sub.offer(event):
                self._on_drop(event["cluster"], event["kind"])

    def close_cluster(self, cluster: str) -> None:
        for sub in self._subs.pop(cluster, set()):
            sub.close()

    def count(self) -> int:
        return sum(len(s) for s in self._subs.values())
