"""Server-sent events: frame parsing and a resuming follower for `GET .../logs`.

`parse_frames(lines)` turns SSE lines into frames (a frame is dispatched only at its blank line,
so a frame cut off by a broken connection is never half-delivered). `follow_log()` reads the
stream until `event: done`; when the connection drops it reconnects with backoff and sends
`Last-Event-ID: <last seq seen>` so the server resumes right after it. The server's `retry:`
field (milliseconds, sent first) replaces the backoff's initial delay, as an EventSource
would use it. Events whose `seq` was
already delivered are skipped, so the callback sees every event once, in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from ..wire.shapes import DeploymentState, WireEvent
from .api import ApiClient, ApiError, ClientError, StreamInterrupted, Unreachable

__all__ = ["Backoff", "SseFrame", "StreamLost", "follow_log", "parse_frames"]


@dataclass(frozen=True, slots=True)
class SseFrame:
    """One dispatched SSE frame: `event` (default `message`), `id` and joined `data`."""

    event: str
    data: str
    id: str = ""


def parse_frames(
    lines: Iterable[str], on_retry: Callable[[int], None] | None = None
) -> Iterator[SseFrame]:
    """Frames from SSE lines (HTML living standard rules: comments and unknown fields ignored;
    a `retry:` field of ASCII digits is handed to `on_retry` in milliseconds)."""
    event, ident = "", ""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if data or event:
                yield SseFrame(event or "message", "\n".join(data), ident)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            ident = value
        elif name == "retry" and value.isascii() and value.isdigit() and on_retry is not None:
            on_retry(int(value))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: `initial` (or the server's `retry:`) doubling up to `maximum`; give
    up after `attempts` in a row without receiving anything (about two minutes by default,
    enough to ride out a server restart, docs/API.md)."""

    initial: float = 0.25
    maximum: float = 5.0
    attempts: int = 26

    def delay(self, failures: int, initial: float | None = None) -> float:
        """The wait before reconnect number `failures`; `initial` (the server's `retry:`)
        replaces `self.initial`."""
        first = self.initial if initial is None else initial
        return float(min(self.maximum, first * (2 ** max(failures - 1, 0))))


class StreamLost(ClientError):
    """The stream could not be resumed within the backoff budget."""


OnEvent = Callable[[WireEvent], None]
OnReconnect = Callable[[str, int, float], None]
"""`(reason, last_seq, delay_seconds)`: called before each reconnect attempt."""


def _event_seq(event: dict[str, Any], frame: SseFrame) -> int:
    seq = event.get("seq")
    if isinstance(seq, int) and not isinstance(seq, bool):
        return seq
    return int(frame.id) if frame.id.isdigit() else 0


def follow_log(
    client: ApiClient,
    deployment_id: str,
    on_event: OnEvent,
    *,
    after_seq: int = 0,
    backoff: Backoff | None = None,
    on_reconnect: OnReconnect | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeploymentState:
    """Deliver every event with `seq > after_seq` to `on_event` until `event: done`; return
    the final state. Dropped connections, timeouts and 5xx answers are retried with backoff
    starting at the server's `retry:` (resuming after the last seen `seq`); a 4xx answer raises
    `ApiError`, an exhausted budget `StreamLost`."""
    policy = backoff or Backoff()
    last_seq = after_seq
    failures = 0
    server_retry: list[float] = []  # the last `retry:` the server sent, in seconds

    def on_retry(milliseconds: int) -> None:
        server_retry[:] = [milliseconds / 1000]

    while True:
        try:
            with client.log_lines(deployment_id, last_event_id=last_seq) as lines:
                for frame in parse_frames(lines, on_retry):
                    if frame.event == "done":
                        return cast(DeploymentState, json.loads(frame.data))
                    if frame.event != "message" or not frame.data:
                        continue
                    event = json.loads(frame.data)
                    if not isinstance(event, dict):
                        continue
                    seq = _event_seq(event, frame)
                    if seq and seq <= last_seq:
                        continue  # already delivered before a reconnect
                    on_event(cast(WireEvent, event))
                    failures = 0
                    if seq:
                        last_seq = seq
            reason = "stream closed before the run finished"
        except (StreamInterrupted, Unreachable) as exc:
            reason = str(exc)
        except ApiError as exc:
            if exc.status < 500:
                raise
            reason = str(exc)
        except ValueError as exc:  # a frame whose data is not JSON
            reason = f"malformed frame: {exc}"
        failures += 1
        if failures > policy.attempts:
            raise StreamLost(
                f"lost the event stream of {deployment_id} after event #{last_seq}: {reason}"
            )
        delay = policy.delay(failures, server_retry[0] if server_retry else None)
        if on_reconnect is not None:
            on_reconnect(reason, last_seq, delay)
        sleep(delay)
