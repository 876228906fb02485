"""Watch streams: newline-delimited `{"type", "object"}` events with apiserver semantics.

- No resourceVersion (or "0"), or `sendInitialEvents=true`: synthetic ADDED for every current
  object first; otherwise the retained history after the given version is replayed, and a
  version older than that history gets one `ERROR` event carrying a 410 `Expired` Status.
- Selectors apply to transitions: an object that stops matching is sent as DELETED, one that
  starts matching as ADDED.
- `allowWatchBookmarks=true`: a BOOKMARK every `bookmark_interval` seconds of silence, carrying
  only `metadata.resourceVersion` (the newest version this watcher has caught up with).
- `timeoutSeconds` ends the response cleanly; `Faults.drop_watches()` ends it early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import KubeApiError
from .resources import ResourceType
from .selectors import Selector
from .store import ObjectStore
from .subscriptions import Control, EventRecord, Subscription

__all__ = ["ConnectionAborted", "WatchOptions", "watch_events"]

Render = Callable[[str, dict[str, Any]], dict[str, Any]]


class ConnectionAborted(Exception):
    """Raised inside a stream to cut the connection without finishing the body."""


@dataclass(frozen=True)
class WatchOptions:
    """What the watch request asked for."""

    resource_version: str | None
    timeout_seconds: float
    bookmarks: bool
    bookmark_interval: float
    send_initial_events: bool = False


def _transition(rec: EventRecord, selector: Selector) -> str | None:
    """The event type this watcher sees for `rec`, or None when it sees nothing."""
    if rec.type == "ADDED":
        return "ADDED" if selector.matches(rec.obj) else None
    if rec.type == "DELETED":
        return "DELETED" if selector.matches(rec.prev or rec.obj) else None
    was, now = selector.matches(rec.prev), selector.matches(rec.obj)
    if was and now:
        return "MODIFIED"
    if was:
        return "DELETED"
    return "ADDED" if now else None


def _line(etype: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": etype, "object": obj}) + b"\n"


async def watch_events(
    store: ObjectStore,
    rt: ResourceType,
    selector: Selector,
    opts: WatchOptions,
    render: Render,
) -> AsyncIterator[bytes]:
    """Yield encoded watch events until timeout, drop, shutdown or client disconnect."""
    sub = Subscription(asyncio.get_running_loop())
    initial = opts.send_initial_events or opts.resource_version in (None, "", "0")
    try:
        first, position = store.start_watch(rt, sub, opts.resource_version, initial)
    except KubeApiError as exc:
        yield _line("ERROR", exc.status())
        return
    deadline = time.monotonic() + opts.timeout_seconds

    def bookmark(extra: dict[str, Any] | None = None) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(position), **(extra or {})}
        return _line("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta})

    try:
        for rec in first:
            if initial:
                etype = "ADDED" if selector.matches(rec.obj) else None
            else:
                etype = _transition(rec, selector)
            if etype:
                yield _line(etype, render(etype, store.present(rt, rec.obj)))
        if opts.send_initial_events and opts.bookmarks:
            yield bookmark({"annotations": {"k8s.io/initial-events-end": "true"}})
        next_bookmark = time.monotonic() + opts.bookmark_interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            wait = deadline - now
            if opts.bookmarks:
                wait = min(wait, max(0.0, next_bookmark - now))
            item = await sub.get(wait)
            if item is None:
                if opts.bookmarks and time.monotonic() >= next_bookmark:
                    yield bookmark()
                    next_bookmark = time.monotonic() + opts.bookmark_interval
                continue
            if item is Control.CLOSE:
                return
            if item is Control.ABORT:
                raise ConnectionAborted("watch dropped by fault injection")
            rec = item
            position = rec.rv
            if rec.key != rt.key:
                continue
            etype = _transition(rec, selector)
            if etype:
                yield _line(etype, render(etype, store.present(rt, rec.obj)))
                next_bookmark = time.monotonic() + opts.bookmark_interval
    finally:
        store.stop_watch(sub)
