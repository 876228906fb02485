"""Baseline for the SSE benchmark: the floor of Python networking on this machine.

A bare asyncio HTTP/1.1 server that waits for N subscribers on any path, then broadcasts the
same frames catalyst-api sends (`id:`/`data:` with a JSON event, chunked) at RATE events/s for
DURATION s, then `event: done`. No framework, no store, no cursors: what we compare against.
`python -m bench._sse_raw_server PORT N RATE DURATION`
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import time

import orjson


async def main_async(port: int, n: int, rate: float, duration: float) -> None:
    writers: list[asyncio.StreamWriter] = []
    all_in = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        writers.append(writer)
        if len(writers) == n:
            all_in.set()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    await all_in.wait()
    start = time.monotonic()
    total = int(rate * duration)
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        body = orjson.dumps(
            {
                "time": "",
                "phase": "tofu",
                "level": "info",
                "message": f"{time.time():.6f}",
                "seq": i + 1,
            }
        )
        frame = b"id: %d\ndata: %s\n\n" % (i + 1, body)
        chunk = b"%x\r\n%s\r\n" % (len(frame), frame)
        for w in writers:
            w.write(chunk)
    done = b"event: done\ndata: {}\n\n"
    for w in writers:
        w.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
        with contextlib.suppress(ConnectionError):
            await w.drain()
        w.close()
    server.close()


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port, n, rate, duration = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        float(sys.argv[3]),
        float(sys.argv[4]),
    )
    asyncio.run(main_async(port, n, rate, duration))


if __name__ == "__main__":
    main()
