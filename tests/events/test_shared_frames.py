"""Issue 16, cheaper fan-out: subscribers moving in step get the frames the stream encoded
once for their cursor (one encoding per event, not one per subscriber); a lagging one still
gets exactly what it missed, in order."""

from __future__ import annotations

from pathlib import Path

from catalyst_api.events import Event, EventHub, StoredEvent
from catalyst_api.store import EventLog

DEP = "0123456789abcdef"


def _encode(batch: list[StoredEvent]) -> bytes:
    calls.append(len(batch))
    return b"".join(b"%d;" % item.seq for item in batch)


calls: list[int] = []


async def test_subscribers_at_one_cursor_share_one_encoding(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    try:
        hub = EventHub(log)
        stream = hub.new_stream(DEP)
        subs = [stream.subscribe() for _ in range(100)]
        calls.clear()
        stream.emit(Event(phase="tofu", message="one"))
        frames = [await sub.next_frames(_encode) for sub in subs]
        assert frames[0] == b"1;" and all(f is frames[0] for f in frames)
        assert calls == [1]  # encoded once for the hundred
        stream.emit(Event(phase="tofu", message="two"))
        stream.emit(Event(phase="tofu", message="three"))
        assert await subs[0].next_frames(_encode) == b"2;3;"
        assert await subs[0].next_frames(_encode) == b""  # caught up
        assert [await sub.next_frames(_encode) for sub in subs[1:]] == [b"2;3;"] * 99
        assert calls == [1, 2]
        late = stream.subscribe(after_seq=2)  # another cursor: its own encoding
        assert await late.next_frames(_encode) == b"3;"
        assert calls == [1, 2, 1]
        for sub in [*subs, late]:
            sub.close()
    finally:
        await log.aclose()


async def test_a_cursor_behind_the_window_catches_up_from_the_log(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    try:
        hub = EventHub(log, capacity=10)
        stream = hub.new_stream(DEP)
        sub = stream.subscribe()
        for i in range(30):
            stream.emit(Event(phase="tofu", message=f"e{i}"))
        await log.flush()
        got: list[bytes] = []
        while frames := await sub.next_frames(_encode, limit=7):
            got.append(frames)
        seqs = [int(s) for s in b"".join(got).decode().split(";") if s]
        assert seqs == list(range(1, 31))
        sub.close()
    finally:
        await log.aclose()
