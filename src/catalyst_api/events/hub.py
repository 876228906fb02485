"""Per-deployment event streams with replay cursors and fan-out to any number of subscribers.

Every emitted event gets the next `seq`, joins an in-memory window (the original's 10000-event
buffer), is queued for the durable log and wakes the subscribers. Subscribers never receive
pushed data: each keeps a cursor (last `seq` delivered) and pulls what is newer when woken, so
a slow or stalled client costs one wake-up flag, never blocks an emitter and never loses an
event (a client that fell behind the window is caught up from the log on disk, read from the
nearest indexed offset before its cursor in a worker thread: only what it missed).

Memory: the window holds only each event's encoded JSON (seqs are consecutive, so the first
one locates every other); `StoredEvent.event` decodes on demand. Finished streams nobody reads
release their window, least recently used first, once all windows together exceed the hub's
byte budget; they reload from the log when read again.

Off the loop: `count()` answers from the log's index (maintained at append time, built at start
in a worker thread), `aload()` reads a stream's last `capacity` events from the nearest indexed
offset in a worker thread, and `Subscription.next_batch()` catches a lagging reader up the same
way. `emit()` never loads: a stream that is not loaded takes its next `seq` from the index and
keeps what it emits until it is loaded. The sync readers (`snapshot()`, `pending()`, …) still
load in place when called on a stream that is not loaded: callers on the loop `await aload()`
first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from ..store.ports import EventStorage
from .models import Event, rfc3339_now

__all__ = ["DeploymentStream", "Encoder", "EventHub", "StoredEvent", "Subscription"]

log = structlog.get_logger(__name__)

DEFAULT_CAPACITY = 10_000
# Bytes of event JSON that idle finished streams may keep resident (they reload from the log on
# demand). 20 deployments × 11,000 events of ~0.5 KiB would be ~110 MiB; the chart allows 1 GiB.
DEFAULT_MEMORY_BUDGET = 48 << 20
# Beyond this many stream objects, idle unloaded ones are forgotten entirely.
_MAX_IDLE_STREAMS = 32
# Per-event bookkeeping on top of the JSON bytes (bytes object header + list slot), for the budget.
EVENT_OVERHEAD = 48
# Replay chunks are cut at about this many bytes, so one send never queues more than this.
DEFAULT_CHUNK_BYTES = 16 << 10

_ticks = itertools.count()


@dataclass(slots=True, frozen=True)
class StoredEvent:
    """An emitted event as the window keeps it: its `seq` and encoded JSON (sent as is)."""

    seq: int
    json: bytes

    @property
    def event(self) -> Event:
        """The decoded event (built on each access; the window keeps only the bytes)."""
        return Event.from_dict(orjson.loads(self.json))


Encoder = Callable[[list["StoredEvent"]], bytes]
"""Encodes a batch of events for the wire (the SSE route's frames)."""


def _decode(raw_events: Iterator[dict[str, Any]], seq: int, keep: int) -> tuple[list[bytes], int]:
    """The last `keep` events' JSON and the last seq (legacy events without `seq` get the one
    after the previous event's; `seq` starts as the count of events before the first)."""
    window: list[bytes] = []
    for raw in raw_events:
        event = Event.from_dict(raw)
        seq = event.seq if event.seq > seq else seq + 1
        event.seq = seq
        window.append(event.to_json())
        if len(window) > keep + keep // 10:
            del window[: len(window) - keep]
    return (window[-keep:] if len(window) > keep else window), seq


class Subscription:
    """One reader's cursor on a stream: `pending()` then `wait()` in a loop; always `close()`."""

    def __init__(self, stream: DeploymentStream, cursor: int) -> None:
        self.stream = stream
        self.cursor = cursor
        self._wake = asyncio.Event()
        self._wake.set()

    async def next_batch(
        self, limit: int = 1000, max_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> list[StoredEvent]:
        """Like `pending()`, with every read from disk in a worker thread: loading the stream,
        and the catch-up of a cursor that fell behind the window (from the nearest offset)."""
        stream = self.stream
        await stream.aload()
        first = stream.first_seq
        if self.cursor + 1 < first and stream.durable:
            self._wake.clear()
            batch = await stream.read_missed(self.cursor, first, limit, max_bytes)
            self._wake.set()  # the rest (disk or window) on the next call
            if batch:
                self.cursor = batch[-1].seq
                return batch
            self.cursor = first - 1  # nothing on disk before the window: go on from it
        return self.pending(limit, max_bytes)

    async def next_frames(
        self, encode: Encoder, limit: int = 1000, max_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> bytes:
        """`next_batch()` encoded by `encode` (b"" when nothing is new). A cursor inside the
        window gets the frames the stream encoded once for every subscriber at that cursor
        (the live case: they move in step), so the fan-out costs one encoding per event,
        not one per subscriber."""
        stream = self.stream
        await stream.aload()
        if self.cursor + 1 < stream.first_seq:
            batch = await self.next_batch(limit, max_bytes)
            return encode(batch) if batch else b""
        self._wake.clear()
        end, frames = stream.frames_after(self.cursor, encode, limit, max_bytes)
        if frames:
            self.cursor = end
            if end < stream.last_seq:
                self._wake.set()
        return frames

    def pending(self, limit: int = 1000, max_bytes: int = DEFAULT_CHUNK_BYTES) -> list[StoredEvent]:
        """Events after the cursor (at most `limit`, cut after `max_bytes` of JSON), advancing
        the cursor past them (loads the stream and reads a lagging cursor's catch-up in place:
        on the loop, use `next_batch()`)."""
        self._wake.clear()
        batch = self.stream.events_after(self.cursor, limit, max_bytes=max_bytes)
        if batch:
            self.cursor = batch[-1].seq
            if self.cursor < self.stream.last_seq:
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
        eventlog: EventStorage,
        capacity: int = DEFAULT_CAPACITY,
        on_emit: Callable[[Event], None] | None = None,
        on_resize: Callable[[DeploymentStream, int], None] | None = None,
    ) -> None:
        self.deployment_id = deployment_id
        self.capacity = capacity
        self._log = eventlog
        self._on_emit = on_emit
        self._on_resize = on_resize
        self._window: list[bytes] = []
        self._first_seq = 1
        self._subscribers: set[Subscription] = set()
        # The last frames encoded for a cursor: (cursor, next_seq, limit, max_bytes, encoder),
        # the seq they end at, the bytes (shared by the subscribers at that cursor).
        self._shared: tuple[tuple[Any, ...], int, bytes] | None = None
        self.next_seq = 1
        self._seq_known = False  # next_seq is right (loaded once, or learnt from the index)
        self._loading: asyncio.Future[None] | None = None
        self.done = True
        self.loaded = False
        self.resident_bytes = 0
        self.last_used = next(_ticks)

    # --- loading ---------------------------------------------------------------------------------

    def load(self, raw_events: list[dict[str, Any]]) -> None:
        """Fill the window from stored events (assigning `seq` to legacy ones without it)."""
        self._install(*_decode(iter(raw_events), 0, self.capacity))

    @property
    def durable(self) -> bool:
        """Whether events beyond the window can be read back from the log."""
        return self._log.enabled

    @property
    def loading(self) -> bool:
        """A load runs in a worker thread (the stream is in use: never unloaded meanwhile)."""
        return self._loading is not None

    @property
    def first_seq(self) -> int:
        """The seq of the oldest event in memory."""
        return self._first_seq

    def _read_window(self, last_seq: int) -> tuple[list[bytes], int]:
        """The last `capacity` events on disk, read from the indexed offset before them (seq
        never exceeds the line number, so the lines skipped are all older). Thread-safe."""
        skip, raw = self._log.iter_from(self.deployment_id, max(0, last_seq - self.capacity))
        return _decode(raw, skip, self.capacity)

    def _install(self, window: list[bytes], seq: int) -> None:
        """Become loaded with `window` (events up to `seq`, from disk), keeping the events
        emitted while the stream was not loaded (the disk may hold them already, or not yet)."""
        tail, first = self._window, self._first_seq
        if tail:
            older = max(0, min(len(window), first - 1 - (seq - len(window))))
            start = seq - len(window) + 1
            if older and start + older - 1 == first - 1:
                window = window[:older] + tail
                first = start
            else:
                window = tail
            if len(window) > self.capacity:
                first += len(window) - self.capacity
                window = window[-self.capacity :]
        else:
            first = seq - len(window) + 1
            self.next_seq = seq + 1
        self._window, self._first_seq = window, first
        self._seq_known = True
        self.loaded = True
        self._resized(sum(len(j) for j in window) + EVENT_OVERHEAD * len(window))

    def ensure_loaded(self) -> None:
        """Load in place (on the caller's thread): for sync callers only, see `aload()`."""
        self.last_used = next(_ticks)
        if not self.loaded:
            if not self._log.enabled:
                self._install([], 0)
                return
            last_seq = self._log.info_sync(self.deployment_id).last_seq
            self._install(*self._read_window(last_seq))

    async def aload(self) -> None:
        """Load the window in a worker thread (once, however many callers wait)."""
        self.last_used = next(_ticks)
        while not self.loaded:
            if not self._log.enabled:
                self._install([], 0)
                return
            if self._loading is None:
                self._loading = asyncio.ensure_future(self._load_in_worker())
            await asyncio.shield(self._loading)

    async def _load_in_worker(self) -> None:
        try:
            info = await self._log.index(self.deployment_id)
            window, seq = await asyncio.to_thread(self._read_window, info.last_seq)
            if not self.loaded:
                self._install(window, seq)
        finally:
            self._loading = None

    async def read_missed(
        self, after: int, before: int, limit: int, max_bytes: int | None
    ) -> list[StoredEvent]:
        """Events with `after < seq < before` from the log, read in a worker thread from the
        indexed offset nearest before `after` (at most `limit`, cut after `max_bytes`)."""
        if self._log.has_pending(self.deployment_id):
            await self._log.flush()  # events trimmed from the window may still be queued
        return await asyncio.to_thread(self._read_missed, after, before, limit, max_bytes)

    def _read_missed(
        self, after: int, before: int, limit: int, max_bytes: int | None
    ) -> list[StoredEvent]:
        skip, raw_events = self._log.iter_from(self.deployment_id, after)
        out: list[StoredEvent] = []
        size, seq = 0, skip
        for raw in raw_events:
            event = Event.from_dict(raw)
            seq = event.seq if event.seq > seq else seq + 1
            if seq >= before:
                break
            if seq <= after:
                continue
            event.seq = seq
            out.append(StoredEvent(seq, event.to_json()))
            size += len(out[-1].json)
            if len(out) >= limit or (max_bytes is not None and size >= max_bytes):
                break
        return out

    def release(self) -> None:
        """Drop the window (only for an idle stream whose events are all on disk)."""
        self._shared = None
        self._window = []
        self._first_seq = self.next_seq
        self.loaded = False
        self._resized(0)

    def _resized(self, resident: int) -> None:
        delta, self.resident_bytes = resident - self.resident_bytes, resident
        if self._on_resize is not None and delta:
            self._on_resize(self, delta)

    # --- writing ---------------------------------------------------------------------------------

    def emit(self, event: Event) -> Event:
        """Stamp `seq` (and `time` if empty), record durably, wake every subscriber. Never
        reads the log: a stream not loaded takes its next seq from the log's index."""
        self.last_used = next(_ticks)
        if not self._seq_known:
            if self._log.enabled:
                self.next_seq = self._log.info_sync(self.deployment_id).last_seq + 1
                self._first_seq = self.next_seq
                self._seq_known = True
            else:
                self.ensure_loaded()
        event.seq = self.next_seq
        self.next_seq += 1
        if not event.time:
            event.time = rfc3339_now()
        data = event.to_json()
        window = self._window
        if not window:
            self._first_seq = event.seq
        window.append(data)
        grown = len(data) + EVENT_OVERHEAD
        if len(window) > self.capacity + self.capacity // 10:
            cut = len(window) - self.capacity
            grown -= sum(len(j) for j in window[:cut]) + EVENT_OVERHEAD * cut
            del window[:cut]
            self._first_seq += cut
        self._resized(self.resident_bytes + grown)
        self._log.append(self.deployment_id, data, seq=event.seq)
        for sub in self._subscribers:
            sub.notify()
        if self._on_emit is not None:
            self._on_emit(event)
        return event

    def absorb(self, items: list[tuple[int, bytes]]) -> int:
        """Events another replica emitted and committed, in seq order: they join the window
        (never written again) and wake the subscribers. A stream that is not loaded only
        forgets its next seq (it reads the log when used). Returns how many joined."""
        if not self.loaded:
            self._seq_known = False
            return 0
        joined = grown = 0
        window = self._window
        for seq, data in items:
            if seq < self.next_seq:
                continue
            if seq > self.next_seq:  # a gap: read the window again from the log when used
                self.release()
                self._seq_known = False
                break
            if not window:
                self._first_seq = seq
            window.append(data)
            self.next_seq = seq + 1
            grown += len(data) + EVENT_OVERHEAD
            joined += 1
        if joined and self.loaded:
            if len(window) > self.capacity + self.capacity // 10:
                cut = len(window) - self.capacity
                grown -= sum(len(j) for j in window[:cut]) + EVENT_OVERHEAD * cut
                del window[:cut]
                self._first_seq += cut
            self._resized(self.resident_bytes + grown)
        self._wake_all()
        return joined

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

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    def snapshot(self) -> list[StoredEvent]:
        """The buffered events (at most `capacity`, oldest first): the original's buffer."""
        return [StoredEvent(seq, data) for seq, data in self._buffered()]

    def snapshot_json(self) -> list[bytes]:
        """The buffered events' JSON, oldest first (no decoding, no copies)."""
        self.ensure_loaded()
        return self._window[-self.capacity :]

    def _buffered(self) -> Iterator[tuple[int, bytes]]:
        self.ensure_loaded()
        window = self._window
        skip = max(0, len(window) - self.capacity)
        return zip(itertools.count(self._first_seq + skip), window[skip:], strict=False)

    @property
    def num_events(self) -> int:
        self.ensure_loaded()
        return min(len(self._window), self.capacity)

    def events_after(
        self, seq: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]:
        """Events with `seq` greater than `seq`, oldest first, at most `limit` (and cut after
        the event that reaches `max_bytes` of JSON)."""
        self.ensure_loaded()
        window = self._window
        if not window or seq >= self.last_seq:
            return []
        first = self._first_seq
        out: list[StoredEvent] = []
        if seq + 1 < first:
            # Fell behind the in-memory window: catch up from the log on disk (in place; on
            # the loop `Subscription.next_batch()` reads it in a worker thread).
            out = self._read_missed(seq, first, limit, max_bytes)
            size = sum(len(item.json) for item in out)
            if len(out) >= limit or (max_bytes is not None and size >= max_bytes):
                return out
            seq = first - 1
        size = sum(len(item.json) for item in out)
        start = seq + 1 - first
        for offset, data in enumerate(window[start : start + limit - len(out)]):
            if max_bytes is not None and out and size >= max_bytes:
                break
            out.append(StoredEvent(seq + 1 + offset, data))
            size += len(data)
        return out

    def frames_after(
        self, seq: int, encode: Encoder, limit: int, max_bytes: int
    ) -> tuple[int, bytes]:
        """(last seq, `encode(events_after(seq, …))`), encoded once per cursor and stream
        position: every subscriber at `seq` gets the same bytes object."""
        key = (seq, self.next_seq, limit, max_bytes, encode)
        shared = self._shared
        if shared is not None and shared[0] == key:
            return shared[1], shared[2]
        batch = self.events_after(seq, limit, max_bytes=max_bytes)
        if not batch:
            return seq, b""
        frames = encode(batch)
        self._shared = (key, batch[-1].seq, frames)
        return batch[-1].seq, frames

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
        eventlog: EventStorage,
        *,
        capacity: int = DEFAULT_CAPACITY,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        on_emit: Callable[[str, Event], None] | None = None,
    ) -> None:
        self.eventlog = eventlog
        self.capacity = capacity
        self.memory_budget = memory_budget
        self._on_emit = on_emit
        self._streams: dict[str, DeploymentStream] = {}
        self._loaded: set[DeploymentStream] = set()
        self._resident = 0
        self._missing: list[str] | None = None

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
                deployment_id,
                eventlog=self.eventlog,
                capacity=self.capacity,
                on_emit=callback,
                on_resize=self._resized,
            )
            self._streams[deployment_id] = stream
            self._forget_idle(keep=stream)
        return stream

    def new_stream(self, deployment_id: str) -> DeploymentStream:
        """A stream for a brand-new deployment: nothing to load."""
        stream = self.stream(deployment_id)
        if not stream.loaded:
            stream.load([])
        return stream

    def emitter(self, deployment_id: str) -> Callable[[Event], None]:
        """An `Emit` bound to one deployment (it looks the stream up on each call, so a stream
        forgotten while idle is never written to behind the hub's back)."""
        self.stream(deployment_id)

        def emit(event: Event) -> None:
            self.stream(deployment_id).emit(event)

        return emit

    async def pull(self, deployment_id: str) -> int:
        """Another replica committed events of this deployment: read those newer than the
        stream's last seq from the log (worker thread) and hand them to its subscribers."""
        stream = self._streams.get(deployment_id)
        if stream is None:
            return 0
        if not stream.loaded:
            return stream.absorb([])
        items = await self.eventlog.read_after(deployment_id, stream.last_seq)
        return stream.absorb(items)

    def count(self, deployment_id: str) -> int:
        """`numEvents` without loading a stream: from the log's index (no I/O once the index
        is built, see `counts_ready()`; before that, this one log's sidecar and tail)."""
        stream = self._streams.get(deployment_id)
        if stream is not None and stream.loaded:
            return stream.num_events
        if not self.eventlog.enabled:
            return 0
        total = self.eventlog.count(deployment_id)
        if total is None:
            if self._missing is not None:
                self._missing.append(deployment_id)
                return 0
            total = self.eventlog.info_sync(deployment_id).lines
        return min(total, self.capacity)

    @contextlib.contextmanager
    def deferred_counts(self) -> Iterator[list[str]]:
        """Within it, `count()` of a log not indexed yet reads nothing: it answers 0 and adds
        the id to the list yielded; `await index_logs(ids)` then ask again (what a list page
        does while the start-up indexing has not reached its deployments)."""
        missing: list[str] = []
        self._missing = missing
        try:
            yield missing
        finally:
            self._missing = None

    async def index_logs(self, deployment_ids: list[str]) -> None:
        """Index these logs in one worker thread (then `count()` of each does no I/O)."""
        await self.eventlog.index_many(deployment_ids)

    async def counts_ready(self) -> None:
        """Wait until every log on disk at start is indexed: `count()` does no I/O after."""
        await self.eventlog.indexed()

    def subscriber_total(self) -> int:
        return sum(s.subscriber_count for s in self._loaded)

    def resident_bytes(self) -> int:
        """Bytes of event JSON (plus per-event overhead) held by every loaded window."""
        return self._resident

    def _resized(self, stream: DeploymentStream, delta: int) -> None:
        self._resident += delta
        if stream.loaded or stream.resident_bytes:
            self._loaded.add(stream)
        else:
            self._loaded.discard(stream)
        if delta > 0 and self._resident > self.memory_budget:
            self._release_idle(keep=stream)

    def _idle(self, stream: DeploymentStream) -> bool:
        return (
            stream.done
            and stream.subscriber_count == 0
            and not stream.loading
            and not self.eventlog.has_pending(stream.deployment_id)
        )

    def _release_idle(self, *, keep: DeploymentStream) -> None:
        """Release idle windows, least recently used first, until under the budget."""
        # Without a durable log the window is the only copy: never unload then.
        if not self.eventlog.enabled:
            return
        victims = sorted(
            (s for s in self._loaded if s is not keep and self._idle(s)),
            key=lambda s: s.last_used,
        )
        for stream in victims:
            if self._resident <= self.memory_budget:
                break
            stream.release()

    def _forget_idle(self, *, keep: DeploymentStream) -> None:
        """Beyond `_MAX_IDLE_STREAMS * 2` stream objects, drop idle ones entirely (oldest
        first; they are rebuilt from the log when asked for again)."""
        if len(self._streams) <= _MAX_IDLE_STREAMS * 2 or not self.eventlog.enabled:
            return
        idle = [key for key, s in self._streams.items() if s is not keep and self._idle(s)]
        for key in idle[: len(self._streams) - _MAX_IDLE_STREAMS]:
            self._streams.pop(key).release()
