"""The event log's index: counts known at append time and after a restart without re-reading
every log, and reads that start at a byte offset instead of the top of the file."""

from __future__ import annotations

from pathlib import Path

import orjson

from catalyst_api.store import EventLog
from catalyst_api.store.eventlog import MARK_EVERY

DEP = "0123456789abcdef"


def _write_log(directory: Path, deployment_id: str, count: int) -> Path:
    path = directory / f"{deployment_id}.events.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps({"seq": i, "message": f"line {i}"}) + b"\n" for i in range(1, count + 1)
        )
    )
    return path


async def test_count_is_maintained_at_append_time_and_survives_a_restart(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    await log.indexed()
    for i in range(1, 1001):
        log.append(DEP, orjson.dumps({"seq": i}), seq=i)
    assert log.count(DEP) == 1000  # before the group commit: counted when queued
    await log.flush()
    assert log.count(DEP) == 1000
    await log.aclose()

    again = EventLog(tmp_path)
    await again.start()
    await again.indexed()
    assert again.count(DEP) == 1000
    info = again.info(DEP)
    assert info is not None and info.last_seq == 1000
    assert again.bytes_read < 10_000  # the sidecar and the last line, not the 1000 lines
    again.append(DEP, orjson.dumps({"seq": 1001}), seq=1001)
    await again.flush()
    assert again.count(DEP) == 1001
    assert [e["seq"] for e in again.read_sync(DEP)][-2:] == [1000, 1001]
    await again.aclose()


async def test_a_stale_sidecar_is_completed_by_counting_the_lines_after_it(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    for i in range(1, 11):
        log.append(DEP, orjson.dumps({"seq": i}), seq=i)
    await log.aclose()
    # Another process (or a crash before the sidecar was saved) appended more lines.
    with (tmp_path / f"{DEP}.events.jsonl").open("ab") as f:
        f.write(b'{"seq":11}\n{"seq":12}\n{"se')
    again = EventLog(tmp_path)
    await again.start()
    await again.indexed()
    assert again.count(DEP) == 12
    await again.aclose()


async def test_logs_without_sidecar_are_indexed_in_a_worker_at_start(tmp_path: Path) -> None:
    _write_log(tmp_path, DEP, 1000)
    log = EventLog(tmp_path)
    await log.start()
    await log.indexed()
    assert log.count(DEP) == 1000
    info = log.info(DEP)
    assert info is not None and len(info.marks) == 1000 // MARK_EVERY
    await log.aclose()


async def test_iter_from_seeks_to_a_mark_and_reads_only_what_follows(tmp_path: Path) -> None:
    path = _write_log(tmp_path, DEP, 5000)
    log = EventLog(tmp_path)
    await log.indexed()
    before = log.bytes_read
    skip, events = log.iter_from(DEP, 4990)
    seqs = [e["seq"] for e in events]
    assert skip <= 4990 < skip + MARK_EVERY
    assert seqs[0] == skip + 1 and seqs[-1] == 5000
    assert log.bytes_read - before < path.stat().st_size // 10
    await log.aclose()


async def test_a_replaced_log_is_indexed_from_what_was_written(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.replace_sync(DEP, [orjson.dumps({"seq": i}) for i in range(1, 4)])
    assert log.count(DEP) == 3
    info = log.info(DEP)
    assert info is not None and info.last_seq == 3
