"""Pod log buffers and their followers (guarded by the object store's lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .subscriptions import Control, Subscription

__all__ = ["LogLine", "PodLogs"]

LogLine = tuple[datetime, str]
MAX_LINES = 100_000


class PodLogs:
    """Lines appended per (namespace, pod); followers get every later line."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._lines: dict[tuple[str, str], list[LogLine]] = {}
        self._followers: dict[tuple[str, str], list[Subscription]] = {}

    def append(self, namespace: str, pod: str, line: str) -> None:
        """Record `line` (one trailing newline is dropped) and push it to followers."""
        with self._lock:
            self._append(namespace, pod, line)

    def _append(self, namespace: str, pod: str, line: str) -> None:
        entry = (datetime.now(UTC), line[:-1] if line.endswith("\n") else line)
        buf = self._lines.setdefault((namespace, pod), [])
        buf.append(entry)
        del buf[:-MAX_LINES]
        subs = self._followers.get((namespace, pod), [])
        self._followers[(namespace, pod)] = [s for s in subs if s.deliver(entry)]

    def open(
        self,
        namespace: str,
        pod: str,
        sub: Subscription | None,
        get_pod: Callable[[], dict[str, Any]],
    ) -> tuple[dict[str, Any], list[LogLine]]:
        """Atomically fetch the pod (`get_pod` raises 404) and its lines so far; with `sub`,
        also register it for every later line until the pod is deleted."""
        with self._lock:
            obj = get_pod()
            if sub is not None:
                self._followers.setdefault((namespace, pod), []).append(sub)
            return obj, list(self._lines.get((namespace, pod), []))

    def follower_count(self, namespace: str, pod: str) -> int:
        """How many streams follow the pod's log now (tests wait on it instead of sleeping)."""
        with self._lock:
            return len(self._followers.get((namespace, pod), []))

    def unfollow(self, namespace: str, pod: str, sub: Subscription) -> None:
        """Stop feeding `sub`."""
        with self._lock:
            subs = self._followers.get((namespace, pod), [])
            if sub in subs:
                subs.remove(sub)

    def forget(self, namespace: str, pod: str) -> None:
        """The pod is gone: end every follower and drop its lines (caller holds the lock)."""
        self._lines.pop((namespace, pod), None)
        for sub in self._followers.pop((namespace, pod), []):
            sub.deliver(Control.CLOSE)

    def close_all(self) -> None:
        """End every follower (server shutdown)."""
        with self._lock:
            self._close_all()

    def _close_all(self) -> None:
        for subs in self._followers.values():
            for sub in subs:
                sub.deliver(Control.CLOSE)
        self._followers.clear()
