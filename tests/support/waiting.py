"""Polling helpers for tests against live servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from catalyst_api.client.sse import SseFrame, parse_frames


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until `condition()` is truthy; return its value or fail with a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


async def until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Async `wait_for`: poll `condition()` on the running loop until truthy (or fail)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {timeout}s")
        await asyncio.sleep(0.01)


def wait_status(
    base: str, dep_id: str, statuses: set[str], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll `GET /deployments/{id}` until its status is one of `statuses`."""

    def check() -> dict[str, Any] | None:
        state = httpx.get(f"{base}/api/v1/deployments/{dep_id}").json()
        return state if state["status"] in statuses else None

    result: dict[str, Any] = wait_for(check, timeout)
    return result


def read_sse(
    base: str,
    dep_id: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    timeout: float = 20.0,
    on_frame: Callable[[SseFrame], None] | None = None,
) -> list[tuple[str, str, str]]:
    """Read a whole SSE stream until the server closes it: list of (event, id, data), parsed
    by the client's own parser. `on_frame` sees each frame as it arrives (e.g. to open a gate
    once the stream is known to be connected)."""
    frames: list[tuple[str, str, str]] = []
    with httpx.stream(
        "GET",
        f"{base}/api/v1/deployments/{dep_id}/logs",
        headers=headers,
        params=params,
        timeout=timeout,
    ) as resp:
        assert resp.status_code == 200, resp.read()
        for frame in parse_frames(resp.iter_lines()):
            frames.append((frame.event, frame.id, frame.data))
            if on_frame is not None:
                on_frame(frame)
    return frames
