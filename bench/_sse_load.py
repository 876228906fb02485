"""SSE load generator (its own process): N raw-socket subscribers on one stream.

`python -m bench._sse_load HOST PORT PATH N` → prints one JSON line: connected, loss/dup per
client, latency percentiles (each event's message is its wall-clock emit time).
The hot path only timestamps received bytes (asyncio Protocol, no parsing); frames are decoded
after the stream ends, so the client costs far less CPU than the server it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import resource
import sys
import time

_FRAME = re.compile(rb"id: (\d+)\ndata: [^\n]*?\"message\":\"([0-9.]+)\"")


class _Subscriber(asyncio.Protocol):
    def __init__(self, request: bytes, done: asyncio.Future[None]) -> None:
        self.request = request
        self.done = done
        self.chunks: list[tuple[float, bytes]] = []
        self.headers_seen = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))
        if b"event: done" in data and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def decode(self) -> tuple[list[int], list[float]]:
        """(seqs, latencies): a frame's receive time is that of the bytes completing it."""
        seqs: list[int] = []
        latencies: list[float] = []
        buf = b""
        for received, data in self.chunks:
            buf += data
            last = 0
            for match in _FRAME.finditer(buf):
                seqs.append(int(match.group(1)))
                latencies.append(received - float(match.group(2)))
                last = match.end()
            buf = buf[last:]
        return seqs, latencies


async def run(host: str, port: int, path: str, n: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n").encode()
    subs: list[_Subscriber] = []
    errors: list[str] = []
    for i in range(n):
        done: asyncio.Future[None] = loop.create_future()
        try:
            _, proto = await loop.create_connection(
                lambda d=done: _Subscriber(request, d), host, port
            )
            subs.append(proto)
        except OSError as exc:
            errors.append(repr(exc))
        if i % 100 == 99:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(asyncio.gather(*(s.done for s in subs)), timeout=900)
    all_lat: list[float] = []
    per_client: list[list[int]] = []
    for sub in subs:
        seqs, lat = sub.decode()
        per_client.append(seqs)
        all_lat.extend(lat)
    all_lat.sort()
    expected_max = max((s[-1] for s in per_client if s), default=0)
    bad = sum(1 for s in per_client if s != list(range(1, expected_max + 1)))

    def pct(p: float) -> float:
        return all_lat[min(len(all_lat) - 1, int(p * len(all_lat)))] * 1000 if all_lat else -1.0

    return {
        "clients": n,
        "connected": len(subs),
        "errors": errors[:3],
        "error_count": len(errors),
        "deliveries": len(all_lat),
        "events_per_client": expected_max,
        "clients_with_loss_or_dup": bad,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": all_lat[-1] * 1000 if all_lat else -1.0,
    }


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    print(json.dumps(asyncio.run(run(host, port, path, n))), flush=True)


if __name__ == "__main__":
    main()
