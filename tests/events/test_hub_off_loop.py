"""Issue 11, "event hub off the loop": counts come from the log's index, loading and catch-up
read from an offset in a worker thread, a lagging subscriber reads only what it missed.

The checks record which thread opens a log or decodes an event (deterministic: no timing)."""

from __future__ import annotations

import os
import pathlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from catalyst_api.events import Event, EventHub
from catalyst_api.store import EventLog


def _ids(n: int) -> list[str]:
    return [f"{i:016x}" for i in range(1, n + 1)]


def _write_log(directory: Path, deployment_id: str, count: int, size: int = 40) -> Path:
    path = directory / f"{deployment_id}.events.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps(
                {"time": "2026-01-01T00:00:00Z", "phase": "tofu", "level": "info", "seq": i}
                | {"message": f"{i} " + "m" * size}
            )
            + b"\n"
            for i in range(1, count + 1)
        )
    )
    return path


@dataclass
class LoopIO:
    """What the event-loop thread did with event logs while recording."""

    loop_thread: int
    opened: list[str] = field(default_factory=list)  # log paths opened on the loop thread
    bytes_read: int = 0  # bytes of logs read, any thread
    decoded_on_loop: int = 0  # events decoded on the loop thread


@pytest.fixture
def loop_io(monkeypatch: pytest.MonkeyPatch) -> LoopIO:
    record = LoopIO(threading.get_ident())
    real_open, real_pread, real_read_bytes = os.open, os.pread, pathlib.Path.read_bytes
    real_from_dict = Event.from_dict.__func__  # type: ignore[attr-defined]

    def on_loop() -> bool:
        return threading.get_ident() == record.loop_thread

    def fake_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if ".events." in str(path) and on_loop():
            record.opened.append(str(path))
        return real_open(path, *args, **kwargs)

    def fake_pread(fd: int, n: int, offset: int) -> bytes:
        data = real_pread(fd, n, offset)
        record.bytes_read += len(data)
        return data

    def fake_read_bytes(self: pathlib.Path) -> bytes:
        data = real_read_bytes(self)
        if ".events.jsonl" in self.name:
            record.bytes_read += len(data)
            if on_loop():
                record.opened.append(str(self))
        return data

    def fake_from_dict(cls: type[Event], raw: dict[str, Any]) -> Event:
        if on_loop():
            record.decoded_on_loop += 1
        return real_from_dict(cls, raw)  # type: ignore[no-any-return]

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "pread", fake_pread)
    monkeypatch.setattr(pathlib.Path, "read_bytes", fake_read_bytes)
    monkeypatch.setattr(Event, "from_dict", classmethod(fake_from_dict))
    return record


async def _indexed(hub: EventHub) -> None:
    ready = getattr(hub, "counts_ready", None)  # absent before issue 11
    if ready is not None:
        await ready()


async def test_counting_a_500_deployment_page_reads_no_log_on_the_loop(
    tmp_path: Path, loop_io: LoopIO
) -> None:
    ids = _ids(500)
    for n, dep in enumerate(ids):
        _write_log(tmp_path, dep, 20 + n % 7)
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log)
    await _indexed(hub)
    loop_io.opened.clear()
    assert [hub.count(dep) for dep in ids] == [20 + n % 7 for n in range(500)]
    assert loop_io.opened == []
    await log.aclose()


async def test_a_page_before_the_startup_index_counts_its_logs_in_a_worker(
    tmp_path: Path, loop_io: LoopIO
) -> None:
    """What the list route does when its page's logs are not indexed yet (no waiting for the
    whole store): counts deferred, the page's logs indexed in one worker thread, asked again."""
    ids = _ids(500)
    for n, dep in enumerate(ids):
        _write_log(tmp_path, dep, 1 + n % 11)
    log = EventLog(tmp_path)  # not started: no start-up indexing at all
    hub = EventHub(log)
    loop_io.opened.clear()
    with hub.deferred_counts() as missing:
        first = [hub.count(dep) for dep in ids]
    assert missing == ids and first == [0] * 500
    await hub.index_logs(missing)
    with hub.deferred_counts() as missing:
        counts = [hub.count(dep) for dep in ids]
    assert missing == []
    assert counts == [1 + n % 11 for n in range(500)]
    assert loop_io.opened == []


async def test_count_is_right_after_a_restart_and_after_appends_without_loading(
    tmp_path: Path, loop_io: LoopIO
) -> None:
    dep = _ids(1)[0]
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log)
    stream = hub.new_stream(dep)
    for i in range(300):
        stream.emit(Event(phase="tofu", message=f"line {i}"))
    assert hub.count(dep) == 300
    await log.aclose()

    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log)
    await _indexed(hub)
    loop_io.opened.clear()
    assert hub.count(dep) == 300
    emit = hub.emitter(dep)
    for i in range(5):
        emit(Event(phase="tofu", message=f"after restart {i}"))
    assert hub.count(dep) == 305
    assert not hub.stream(dep).loaded  # emitting never loads the history
    assert loop_io.opened == [] and loop_io.decoded_on_loop == 0
    await log.flush()
    snapshot = hub.stream(dep).snapshot()
    assert [e.seq for e in snapshot] == list(range(1, 306))
    assert snapshot[299].event.message == "line 299"
    assert snapshot[300].event.message == "after restart 0"
    await log.aclose()


async def test_loading_a_10000_event_stream_decodes_nothing_on_the_loop(
    tmp_path: Path, loop_io: LoopIO
) -> None:
    dep = _ids(1)[0]
    _write_log(tmp_path, dep, 12_000, size=300)
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log)
    stream = hub.stream(dep)
    loop_io.opened.clear()
    load = getattr(stream, "aload", None)
    if load is not None:
        await load()
    else:  # before issue 11
        stream.ensure_loaded()
    assert loop_io.decoded_on_loop == 0
    assert loop_io.opened == []
    snapshot = stream.snapshot_json()
    assert len(snapshot) == 10_000
    assert orjson.loads(snapshot[0])["seq"] == 2001
    assert orjson.loads(snapshot[-1])["seq"] == 12_000
    await log.aclose()


async def test_a_lagging_subscriber_reads_only_what_it_missed_from_an_offset(
    tmp_path: Path, loop_io: LoopIO
) -> None:
    dep = _ids(1)[0]
    path = _write_log(tmp_path, dep, 30_000, size=100)
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log, capacity=1000)
    stream = hub.stream(dep)
    stream.ensure_loaded()
    sub = stream.subscribe(20_000)  # fell 9,000 events behind the 1,000-event window
    before = loop_io.bytes_read
    batch = sub.pending(limit=100, max_bytes=1 << 20)
    assert [e.seq for e in batch] == list(range(20_001, 20_101))
    assert loop_io.bytes_read - before < path.stat().st_size // 20

    # The async path reads it in a worker thread, and every event arrives once, in order.
    next_batch = getattr(sub, "next_batch", None)
    assert next_batch is not None, "no off-loop catch-up"
    loop_io.opened.clear()
    loop_io.decoded_on_loop = 0
    seqs = [e.seq for e in batch]
    while batch := await next_batch():
        seqs.extend(e.seq for e in batch)
    assert seqs == list(range(20_001, 30_001))
    assert loop_io.opened == [] and loop_io.decoded_on_loop == 0
    sub.close()
    await log.aclose()


async def test_events_emitted_while_loading_are_kept_once_in_order(tmp_path: Path) -> None:
    dep = _ids(1)[0]
    _write_log(tmp_path, dep, 5000)
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log)
    stream = hub.stream(dep)
    emit = hub.emitter(dep)
    emit(Event(phase="tofu", message="before load"))
    loading = stream.aload()
    emit(Event(phase="tofu", message="during load"))
    await loading
    emit(Event(phase="tofu", message="after load"))
    seqs = [e.seq for e in stream.snapshot()]
    assert seqs == list(range(1, 5004))
    assert [e.event.message for e in stream.snapshot()[-3:]] == [
        "before load",
        "during load",
        "after load",
    ]
    await log.flush()
    assert [e["seq"] for e in log.read_sync(dep)] == list(range(1, 5004))
    await log.aclose()
