"""Per-deployment event streams with replay cursors and fan-out to any number of subscribers.

Every emitted event gets the next `seq`, joins an in-memory window (the original's 10000-event
buffer), is queued for the durable log and wakes the subscribers. Subscribers never receive
pushed data: each keeps a cursor (last `seq` delivered) and pulls what is newer when woken, so
a slow or stalled client costs one wake-up flag, never blocks an emitter and never loses an
event (a client that fell behind the window is caught up from the log on disk).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from ..store import EventLog
from .models import Event, rfc3339_now

__all__ = ["DeploymentStream", "EventHub", "StoredEvent", "Subscription"]

log = structlog.get_logger(__name__)

DEFAULT_CAPACITY = 10_000
# Finished streams nobody reads are dropped from memory beyond this many (they reload from the
# log on demand); each can hold up to 10,000 events, so the bound matters for the 1 GiB limit.
_MAX_IDLE_STREAMS = 32


@dataclass(slots=True, frozen=True)
class StoredEvent:
    """An emitted event with its encoded JSON (encoded once, sent to every subscriber)."""

    seq: int
    event: Event
    json: bytes


class Subscription:
    """One reader's cursor on a stream: `pending()` then `wait()` in a loop; always `close()`."""

    def __init__(self, stream: DeploymentStream, cursor: int) -> None:
        self.stream = stream
        self.cursor = cursor
        self._wake = asyncio.Event()
        self._wake.set()

    def pending(self, limit: int = 1000) -> list[StoredEvent]:
        """Events after the cursor (at most `limit`), advancing the cursor past them."""
        self._wake.clear()
        batch = self.stream.events_after(self.cursor, limit)
        if batch:
            self.cursor = batch[-1].seq
            if len(batch) == limit:
                self._wake.set()
        return batch

    def notify(self) -> None:
        self._wake.set()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for new events or an end of run; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.stream.unsubscribe(self)


class DeploymentStream:
    """The event history and live fan-out of one deployment."""

    def __init__(
        self,
        deployment_id: str,
        *,
        eventlog: EventLog,
        capacity: int = DEFAULT_CAPACITY,
        on_emit: Callable[[Event], None] | None = None,
    ) -> None:
        self.deployment_id = deployment_id
        self.capacity = capacity
        self._log = eventlog
        self._on_emit = on_emit
        self._window: list[StoredEvent] = []
        self._subscribers: set[Subscription] = set()
        self.next_seq = 1
        self.done = True
        self.loaded = False

    # --- loading ---------------------------------------------------------------------------------

    def load(self, raw_events: list[dict[str, Any]]) -> None:
        """Fill the window from stored events (assigning `seq` to legacy ones without it)."""
        seq = 0
        window: list[StoredEvent] = []
        for raw in raw_events:
            event = Event.from_dict(raw)
            seq = event.seq if event.seq > seq else seq + 1
            event.seq = seq
            window.append(StoredEvent(seq, event, event.to_json()))
        self._window = window[-self.capacity :]
        self.next_seq = seq + 1
        self.loaded = True

    def ensure_loaded(self) -> None:
        if not self.loaded:
            self.load(self._log.read_sync(self.deployment_id))

    # --- writing ---------------------------------------------------------------------------------

    def emit(self, event: Event) -> Event:
        """Stamp `seq` (and `time` if empty), record durably, wake every subscriber."""
        self.ensure_loaded()
        event.seq = self.next_seq
        self.next_seq += 1
        if not event.time:
            event.time = rfc3339_now()
        stored = StoredEvent(event.seq, event, event.to_json())
        self._window.append(stored)
        if len(self._window) > self.capacity + self.capacity // 10:
            del self._window[: len(self._window) - self.capacity]
        self._log.append(self.deployment_id, stored.json)
        for sub in self._subscribers:
            sub.notify()
        if self._on_emit is not None:
            self._on_emit(event)
        return event

    def begin_run(self) -> None:
        """A run (Phase 0/1, retry, destroy) is active: SSE clients stay attached."""
        self.done = False
        self._wake_all()

    def end_run(self) -> None:
        """The run ended: subscribers drain what is left, then get `event: done`."""
        self.done = True
        self._wake_all()

    def _wake_all(self) -> None:
        for sub in self._subscribers:
            sub.notify()

    # --- reading ---------------------------------------------------------------------------------

    def snapshot(self) -> list[StoredEvent]:
        """The buffered events (at most `capacity`, oldest first): the original's buffer."""
        self.ensure_loaded()
        return self._window[-self.capacity :]

    @property
    def num_events(self) -> int:
        self.ensure_loaded()
        return min(len(self._window), self.capacity)

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Events with `seq` greater than `seq`, oldest first, at most `limit`."""
        self.ensure_loaded()
        window = self._window
        if not window or seq >= window[-1].seq:
            return []
        first = window[0].seq
        if seq + 1 >= first:
            start = seq + 1 - first
            return window[start : start + limit]
        # Fell behind the in-memory window: catch up from the log on disk.
        older = [
            StoredEvent(e.seq, e, e.to_json())
            for raw in self._log.read_sync(self.deployment_id)
            if (e := Event.from_dict(raw)).seq > seq and e.seq < first
        ]
        return (older + window)[:limit]

    def subscribe(self, after_seq: int = 0) -> Subscription:
        """A cursor that will receive every event with `seq > after_seq`."""
        self.ensure_loaded()
        sub = Subscription(self, after_seq)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class EventHub:
    """All deployment streams, created lazily; idle finished streams are unloaded."""

    def __init__(
        self,
        eventlog: EventLog,
        *,
        capacity: int = DEFAULT_CAPACITY,
        on_emit: Callable[[str, Event], None] | None = None,
    ) -> None:
        self.eventlog = eventlog
        self.capacity = capacity
        self._on_emit = on_emit
        self._streams: dict[str, DeploymentStream] = {}

    def stream(self, deployment_id: str) -> DeploymentStream:
        """The stream of a deployment (not yet loaded from disk)."""
        stream = self._streams.get(deployment_id)
        if stream is None:
            callback = None
            if self._on_emit is not None:
                hook = self._on_emit

                def callback(event: Event, _id: str = deployment_id) -> None:
                    hook(_id, event)

            stream = DeploymentStream(
                deployment_id, eventlog=self.eventlog, capacity=self.capacity, on_emit=callback
            )
            self._streams[deployment_id] = stream
            self._unload_idle()
        return stream

    def new_stream(self, deployment_id: str) -> DeploymentStream:
        """A stream for a brand-new deployment: nothing to load."""
        stream = self.stream(deployment_id)
        if not stream.loaded:
            stream.load([])
        return stream

    def emitter(self, deployment_id: str) -> Callable[[Event], None]:
        """An `Emit` bound to one deployment."""
        stream = self.stream(deployment_id)

        def emit(event: Event) -> None:
            stream.emit(event)

        return emit

    def count(self, deployment_id: str) -> int:
        """`numEvents` without loading a stream that is not in memory."""
        stream = self._streams.get(deployment_id)
        if stream is not None and stream.loaded:
            return stream.num_events
        if not self.eventlog.enabled:
            return 0
        total = count_lines(lambda: self.eventlog.path_for(deployment_id).read_bytes())
        return min(total, self.capacity)

    def subscriber_total(self) -> int:
        return sum(s.subscriber_count for s in self._streams.values())

    def _unload_idle(self) -> None:
        # Without a durable log the window is the only copy: never unload then.
        if len(self._streams) <= _MAX_IDLE_STREAMS * 2 or not self.eventlog.enabled:
            return
        idle = [
            key
            for key, s in self._streams.items()
            if s.done
            and s.subscriber_count == 0
            and s.loaded
            and not self.eventlog.has_pending(key)
        ]
        for key in idle[: len(self._streams) - _MAX_IDLE_STREAMS]:
            del self._streams[key]


def count_lines(path_reader: Callable[[], bytes]) -> int:
    """Complete lines in a log, unparsed (a torn tail has no newline, so it is not counted)."""
    try:
        return path_reader().count(b"\n")
    except (OSError, ValueError):
        return 0
