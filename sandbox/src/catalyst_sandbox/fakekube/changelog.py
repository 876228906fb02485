"""The bounded change history and the watch subscriptions it feeds (used under the store lock)."""

from __future__ import annotations

from collections import deque
from typing import Any

from .errors import expired
from .listing import object_key
from .resources import TypeKey
from .subscriptions import Control, EventRecord, Subscription

__all__ = ["ChangeLog"]

Obj = dict[str, Any]


class ChangeLog:
    """The last `limit` committed changes, in resourceVersion order, plus live subscribers."""

    def __init__(self, limit: int) -> None:
        self._records: deque[EventRecord] = deque(maxlen=max(1, limit))
        self._evicted_rv = 0
        self._subscribers: list[Subscription] = []

    def _check(self, rv: int) -> None:
        if rv < self._evicted_rv:
            raise expired(f"too old resource version: {rv} ({self._evicted_rv + 1})")

    def record(self, rec: EventRecord) -> None:
        """Retain `rec` (evicting the oldest when full) and hand it to every subscriber."""
        if len(self._records) == self._records.maxlen:
            self._evicted_rv = self._records[0].rv
        self._records.append(rec)
        self._subscribers = [s for s in self._subscribers if s.deliver(rec)]

    def since(self, rv: int, key: TypeKey) -> list[EventRecord]:
        """Changes of one type after `rv`; 410 Expired when some were already evicted."""
        self._check(rv)
        return [r for r in self._records if r.rv > rv and r.key == key]

    def rewind(self, objects: dict[str, Obj], key: TypeKey, rv: int) -> dict[str, Obj]:
        """`objects` (the type's current state) as it was at `rv`; 410 when out of reach."""
        self._check(rv)
        past = dict(objects)
        for rec in reversed(self._records):
            if rec.rv <= rv:
                break
            if rec.key != key:
                continue
            meta = rec.obj["metadata"]
            okey = object_key(meta.get("namespace", ""), meta["name"])
            if rec.type == "ADDED":
                past.pop(okey, None)
            elif rec.prev is not None:
                past[okey] = rec.prev
        return past

    def subscribe(self, sub: Subscription) -> None:
        """Feed `sub` every later change."""
        self._subscribers.append(sub)

    def subscriber_count(self) -> int:
        """How many subscriptions are live."""
        return len(self._subscribers)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop feeding `sub`."""
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def drop_all(self, abort: bool) -> int:
        """End every subscription (cleanly or by aborting its connection); returns the count."""
        subs, self._subscribers = self._subscribers, []
        for sub in subs:
            sub.deliver(Control.ABORT if abort else Control.CLOSE)
        return len(subs)
