"""`json_with_raw_array`: the streamed `GET /events` document is the JSON it replaces."""

from __future__ import annotations

import orjson
import pytest

from catalyst_api.api.json_stream import CHUNK_BYTES, json_with_raw_array


async def _collect(*args: object) -> list[bytes]:
    return [chunk async for chunk in json_with_raw_array(*args)]  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [0, 1, 2, 500])
async def test_chunks_join_to_the_same_document(count: int) -> None:
    items = [orjson.dumps({"seq": i, "message": "m" * 100}) for i in range(count)]
    chunks = await _collect({"state": {"id": "x"}}, "events", items, {"done": True})
    body = b"".join(chunks)
    assert body.endswith(b"}\n")
    assert orjson.loads(body) == {
        "state": {"id": "x"},
        "events": [orjson.loads(item) for item in items],
        "done": True,
    }
    assert list(orjson.loads(body)) == ["state", "events", "done"]
    assert max(len(chunk) for chunk in chunks) <= CHUNK_BYTES + 200
