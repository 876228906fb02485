"""A JSON object whose bulk is a list of already-encoded values, sent in bounded chunks.

`GET /events` answers up to 10,000 events (~5 MB): encoded whole, every client that does not
read would pin a full copy until the write timeout. Streamed, a connection holds one chunk
plus the transport's high-water mark; the events themselves are the window's own bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

__all__ = ["CHUNK_BYTES", "json_with_raw_array"]

CHUNK_BYTES = 16 << 10


async def json_with_raw_array(
    before: dict[str, Any], key: str, items: list[bytes], after: dict[str, Any]
) -> AsyncIterator[bytes]:
    """`{**before, key: [items...], **after}` + newline, as chunks of about `CHUNK_BYTES`."""
    head = orjson.dumps(before)[:-1]
    yield head + (b"," if before else b"") + orjson.dumps(key) + b":["
    batch: list[bytes] = []
    size = 0
    separator = b""
    for item in items:
        batch.append(item)
        size += len(item) + 1
        if size >= CHUNK_BYTES:
            yield separator + b",".join(batch)
            separator, batch, size = b",", [], 0
    if batch:
        yield separator + b",".join(batch)
    tail = orjson.dumps(after)[1:] if after else b"}"
    yield b"]" + (b"," if after else b"") + tail + b"\n"
