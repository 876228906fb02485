"""Remembers keys seen within a time window: makes a repeated request answer without side effects.

Used by the Phase 1 manual retry: the same phase retried again within the window gets the same
answer and appends no new event, so a client looping on the endpoint cannot flood the history.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["MANUAL_RETRY_WINDOW", "RecentKeys"]

MANUAL_RETRY_WINDOW = 60.0


class RecentKeys:
    """`first_in_window(key)` is True once per key per `window` seconds; at most `max_keys`."""

    def __init__(
        self,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()

    def first_in_window(self, key: Hashable) -> bool:
        """True (and remember `key`) unless `key` was first seen less than `window` ago."""
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.window:
                return
            del self._seen[key]
