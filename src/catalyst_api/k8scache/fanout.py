"""Fan-out of cache events to stream subscribers, never blocking the informers.

Each subscriber has a bounded buffer (4096 events by default). When it is full the oldest event
is dropped, the drop is counted, and (beyond the original) the subscriber is told to resync:
its next read returns `RESYNC` before the events still buffered, so the HTTP layer can send an
`event: resync` frame and the client refetches instead of silently missing a change.

An event is wrapped once per publish in a `Published`, whose SSE frame is encoded on first use
and shared by every subscriber: 200 streams of one cluster cost one encode per change, not 200.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, Literal

import orjson

from .types import CacheEvent

__all__ = ["RESYNC", "Fanout", "Published", "Subscriber"]

RESYNC: Final = "resync"
DEFAULT_BUFFER = 4096


class Published:
    """One published change, shared by every subscriber it was offered to."""

    __slots__ = ("_frame", "event")

    def __init__(self, event: CacheEvent) -> None:
        self.event = event
        self._frame: bytes | None = None

    @property
    def kind(self) -> str:
        return self.event["kind"]

    @property
    def namespace(self) -> str:
        meta = self.event["object"].get("metadata")
        return str(meta.get("namespace") or "") if isinstance(meta, dict) else ""

    def frame(self) -> bytes:
        """`data: <CacheEvent JSON>` plus the blank line, encoded once for all readers."""
        if self._frame is None:
            self._frame = b"data: " + orjson.dumps(self.event) + b"\n\n"
        return self._frame


class Subscriber:
    """One stream's view: its cluster, kinds filter (empty = all), user and buffer."""

    def __init__(self, cluster: str, kinds: frozenset[str], user: str, maxlen: int) -> None:
        self.cluster = cluster
        self.kinds = kinds
        self.user = user
        self._buffer: deque[Published] = deque()
        self._maxlen = maxlen
        self._wake = asyncio.Event()
        self.dropped = 0
        self._resync = False
        self.closed = False

    def wants(self, event: CacheEvent) -> bool:
        return not self.kinds or event["kind"] in self.kinds

    def offer(self, event: Published) -> bool:
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

    async def next(self, timeout: float) -> Published | Literal["resync"] | None:
        """The next event, `RESYNC` after drops, or None after `timeout` seconds / when closed."""
        batch = await self.next_batch(timeout, limit=1)
        return batch if batch is None or batch == RESYNC else batch[0]

    async def next_batch(
        self, timeout: float, *, limit: int = 256, linger: float = 0.0
    ) -> list[Published] | Literal["resync"] | None:
        """Up to `limit` buffered events at once (a reader that fell behind catches up in one
        write instead of one per event), `RESYNC` after drops, or None after `timeout` seconds
        / when closed. After a wake-up with an empty buffer, waits `linger` seconds for more
        events so a busy stream goes out in fewer, larger writes."""
        if not self._buffer and not self._resync and not self.closed:
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return None
            if linger > 0 and not self._resync and not self.closed:
                await asyncio.sleep(linger)
        if self._resync:
            self._resync = False
            return RESYNC
        if not self._buffer:
            return None
        buffer = self._buffer
        return [buffer.popleft() for _ in range(min(limit, len(buffer)))]


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
        subs = self._subs.get(event["cluster"])
        if not subs:
            return
        shared = Published(event)
        for sub in list(subs):
            if sub.wants(event) and sub.offer(shared):
                self._on_drop(event["cluster"], event["kind"])

    def close_cluster(self, cluster: str) -> None:
        for sub in self._subs.pop(cluster, set()):
            sub.close()

    def count(self) -> int:
        return sum(len(s) for s in self._subs.values())
