"""Finished streams nobody reads are unloaded and reload from the durable log intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalyst_api.events import Event, EventHub
from catalyst_api.store import EventLog

pytestmark = pytest.mark.timeout(60)  # waits for idle windows; the default is 15 s


async def test_idle_finished_streams_unload_and_reload_from_the_log(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    await log.start()
    hub = EventHub(log)
    ids = [f"{n:016x}" for n in range(200)]
    for dep in ids:
        stream = hub.new_stream(dep)
        for i in range(3):
            stream.emit(Event(phase="tofu", message=f"{dep} line {i}"))
        await log.flush()
    assert len(hub._streams) < 100  # bounded, not one per deployment ever touched
    first = hub.stream(ids[0])
    assert [e.event.message for e in first.snapshot()] == [f"{ids[0]} line {i}" for i in range(3)]
    assert [e.seq for e in first.snapshot()] == [1, 2, 3]
    await log.aclose()
