"""The append-only event log: ordering, group commit, torn lines."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson

from catalyst_api.store import EventLog

DEP = "0123456789abcdef"


async def test_appended_lines_are_durable_after_flush_in_order(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    for i in range(500):
        log.append(DEP, orjson.dumps({"seq": i + 1, "message": f"line {i}"}))
    await log.flush()
    events = log.read_sync(DEP)
    assert [e["seq"] for e in events] == list(range(1, 501))
    await log.aclose()


async def test_lines_reach_disk_within_the_group_commit_window(tmp_path: Path) -> None:
    log = EventLog(tmp_path, flush_interval=0.05)
    await log.start()
    log.append(DEP, b'{"seq":1}')
    start = time.monotonic()
    while not log.read_sync(DEP):
        # 10 s, not the 50 ms window: this proves the timer commits, not how fast a busy
        # machine runs it.
        assert time.monotonic() - start < 10.0, "event not durable within 10 s"
        await asyncio.sleep(0.01)
    await log.aclose()


async def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / f"{DEP}.events.jsonl"
    path.write_bytes(b'{"seq":1}\n{"seq":2}\n{"se')
    log = EventLog(tmp_path)
    assert [e["seq"] for e in log.read_sync(DEP)] == [1, 2]
    await log.start()
    log.append(DEP, b'{"seq":3}')
    await log.flush()
    assert path.read_bytes() == b'{"seq":1}\n{"seq":2}\n{"seq":3}\n'
    await log.aclose()


async def test_disabled_log_writes_nothing(tmp_path: Path) -> None:
    log = EventLog(tmp_path, enabled=False)
    await log.start()
    log.append(DEP, b'{"seq":1}')
    await log.flush()
    await log.aclose()
    assert list(tmp_path.iterdir()) == []
