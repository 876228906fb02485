"""What the event history costs in memory: ≤ 1 KiB per event, idle streams unloaded by bytes."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from catalyst_api.events import Event, EventHub
from catalyst_api.store import EventLog

# A Phase 1 manual-retry event is ~519 bytes of JSON: the size the flood in issue 10 appended.
_MESSAGE = "m" * 430


def _ids(n: int) -> list[str]:
    return [f"{i:016x}" for i in range(n)]


async def test_an_in_memory_event_costs_at_most_one_kib(tmp_path: Path) -> None:
    log = EventLog(tmp_path, enabled=False)
    hub = EventHub(log)
    stream = hub.new_stream(_ids(1)[0])
    count = 5000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            stream.emit(Event(phase="cilium", message=f"{_MESSAGE} {i}"))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_event = (after - before) / count
    assert len(stream.snapshot()[0].json) > 500
    assert per_event <= 1024, f"{per_event:.0f} bytes per in-memory event"


async def test_idle_streams_are_unloaded_by_memory_budget_and_reload_intact(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    await log.start()
    budget = 400_000
    hub = EventHub(log, memory_budget=budget)
    ids = _ids(10)
    for dep in ids:  # 10 streams of ~150 KB each: 1.5 MB if all stayed resident
        stream = hub.new_stream(dep)
        for i in range(300):
            stream.emit(Event(phase="tofu", message=f"{dep} {_MESSAGE[:400]} {i}"))
        await log.flush()
        stream.end_run()
    for dep in ids:  # `GET /events` on each, as after a restart
        assert len(hub.stream(dep).snapshot()) == 300
        assert hub.resident_bytes() <= budget + 200_000  # the budget plus the stream in use
    first = hub.stream(ids[0])
    events = [stored.event for stored in first.snapshot()]
    assert [e.seq for e in events] == list(range(1, 301))
    assert events[-1].message == f"{ids[0]} {_MESSAGE[:400]} 299"
    assert hub.count(ids[0]) == 300
    await log.aclose()


async def test_a_stream_with_subscribers_is_never_unloaded(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log, memory_budget=1)
    watched = hub.new_stream(_ids(1)[0])
    watched.emit(Event(phase="tofu", message="one"))
    await log.flush()
    watched.end_run()
    sub = watched.subscribe(0)
    for dep in _ids(5)[1:]:
        other = hub.new_stream(dep)
        other.emit(Event(phase="tofu", message=dep))
        await log.flush()
        other.end_run()
        hub.stream(dep).snapshot()
    assert watched.loaded
    watched.emit(Event(phase="tofu", message="two"))
    assert [e.seq for e in sub.pending()] == [1, 2]
    sub.close()
    await log.aclose()
