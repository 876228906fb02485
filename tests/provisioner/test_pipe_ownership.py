"""The runner's pipes have one owner: no descriptor is ever closed twice (uvloop regression).

Handing our pipe end to the loop as `connect_read_pipe(os.fdopen(fd))` gave it two owners:
uvloop closed the descriptor and the file object closed the same number right after. A file or
socket another thread opened in between (a record save, an event-log append, a client socket)
was closed under it. Sentinel threads keep opening files while commands run and check that
every one of them is still open when they look again.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest
import uvloop

from catalyst_api.provisioner.process import run_command

pytestmark = pytest.mark.timeout(180)  # many real OpenTofu runs under uvloop; the default is 15 s


def test_no_descriptor_is_closed_twice_under_uvloop(tmp_path: Path) -> None:
    target = tmp_path / "sentinel"
    target.write_bytes(b"x")
    stop = threading.Event()
    closed_under_us: list[str] = []

    def sentinel() -> None:
        while not stop.is_set():
            mine = [os.open(target, os.O_RDONLY) for _ in range(4)]
            for fd in mine:
                try:
                    os.fstat(fd)
                    os.close(fd)
                except OSError as exc:
                    closed_under_us.append(repr(exc))

    async def commands() -> None:
        loop = asyncio.get_running_loop()
        for _ in range(120):
            await asyncio.gather(
                *(
                    run_command(
                        ("/bin/sh", "-c", "echo out; echo err >&2"),
                        cwd=tmp_path,
                        env={"PATH": "/usr/bin:/bin"},
                        on_line=lambda stream, text: None,
                        deadline=loop.time() + 30,
                        kill_grace=1,
                    )
                    for _ in range(6)
                )
            )

    threads = [threading.Thread(target=sentinel) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        uvloop.run(commands())
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert closed_under_us == []
