"""List, then watch from the list's resourceVersion; resume after drops, list again on 410.

`Reflector.events()` yields `Listed` (the full set: first, and again after a 410 or a failed
resume) and `Changed` (one watch event). Bookmarks move the resume point and reset the
inactivity deadline but are not yielded. Failures are retried forever with capped, jittered
backoff; the caller owns the deadline (cancel the iteration to stop) and can read
`last_error` to explain why nothing arrived.

A resource that can be listed but not watched (the apiserver answers the watch with 405, as
metrics-server's `metrics.k8s.io` PodMetrics do) is polled instead: listed again every
`WatchTiming.poll_interval`, each list yielded as a `Listed` (the consumer diffs it).

No event is lost across reconnects: a resumed watch replays everything after the last
resourceVersion seen, and a re-list returns the current state of every object. A consumer that
acts on *changes* of what it derives (Phase 1 emits on state change) therefore never
duplicates either.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import structlog

from .client import KubeClient
from .errors import KubeError, KubeExpired, KubeStatusError
from .resources import ResourceRef

__all__ = ["Changed", "Listed", "Reflector", "WatchTiming"]

log = structlog.get_logger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WatchTiming:
    """Timings of a list+watch loop (seconds)."""

    server_timeout: int = 290
    """`timeoutSeconds` of each watch request: the server ends it cleanly, we resume."""
    inactivity: float = 320.0
    """No event and no bookmark for this long: the stream is presumed dead, reconnect."""
    backoff_initial: float = 0.5
    """First retry delay after a failure (doubles per consecutive failure)."""
    backoff_max: float = 30.0
    """Cap of the retry delay."""
    poll_interval: float = 15.0
    """How often a resource whose watch answers 405 is listed again (metrics-server's
    default resolution is 15 s)."""


@dataclass(frozen=True, slots=True)
class Listed:
    """Every object at `resource_version` (`initial` only for the first list)."""

    items: list[Obj]
    resource_version: str
    initial: bool


@dataclass(frozen=True, slots=True)
class Changed:
    """One watch event: `ADDED`, `MODIFIED` or `DELETED`."""

    type: str
    object: Obj


class Reflector:
    """One resource type in one namespace of one cluster, as a stream of changes."""

    def __init__(
        self,
        client: KubeClient,
        ref: ResourceRef,
        *,
        namespace: str | None,
        timing: WatchTiming | None = None,
        stop_on: tuple[type[KubeError], ...] = (),
    ) -> None:
        """`stop_on`: list errors that end the iteration (raised) instead of being retried,
        e.g. `KubeNotFound` for a resource type the cluster does not serve."""
        self.client = client
        self.ref = ref
        self.namespace = namespace
        self.timing = timing or WatchTiming()
        self.stop_on = stop_on
        self.last_error: KubeError | None = None
        self.lists = 0
        self.watches = 0
        self.polling = False
        """True once the watch answered 405: the resource is polled by listing."""

    async def events(self) -> AsyncGenerator[Listed | Changed, None]:
        """Run until cancelled (see the module docstring)."""
        rv = ""
        failures = 0
        while True:
            if not rv:
                try:
                    listed = await self.client.list_objects(self.ref, namespace=self.namespace)
                except KubeError as exc:
                    if isinstance(exc, self.stop_on):
                        self.last_error = exc
                        raise
                    failures += 1
                    await self._failed(exc, failures, "list")
                    continue
                failures = 0
                rv = listed.resource_version
                self.lists += 1
                yield Listed(listed.items, rv, initial=self.lists == 1)
            received = 0
            try:
                self.watches += 1
                stream = self.client.watch(
                    self.ref,
                    namespace=self.namespace,
                    resource_version=rv,
                    timeout_seconds=self.timing.server_timeout,
                    inactivity=self.timing.inactivity,
                )
                async with contextlib.aclosing(stream):
                    async for event in stream:
                        received += 1
                        failures = 0
                        if event.resource_version:
                            rv = event.resource_version
                        if event.type != "BOOKMARK":
                            yield Changed(event.type, event.object)
            except KubeExpired:
                log.info("watch expired, listing again", resource=self.ref.plural)
                rv = ""
                continue
            except KubeStatusError as exc:
                if exc.code != 405:
                    failures += 1
                    await self._failed(exc, failures, "watch")
                    continue
                if not self.polling:
                    self.polling = True
                    log.info(
                        "resource cannot be watched, polling it",
                        resource=self.ref.plural,
                        every=self.timing.poll_interval,
                    )
                rv = ""
                await asyncio.sleep(self.timing.poll_interval)
                continue
            except KubeError as exc:
                failures += 1
                await self._failed(exc, failures, "watch")
                continue
            if received == 0:
                # A stream that ended without even a bookmark: do not spin on a flapping server.
                await asyncio.sleep(self._delay(1))

    def _delay(self, failures: int) -> float:
        t = self.timing
        base = min(t.backoff_max, t.backoff_initial * (2 ** min(failures - 1, 16)))
        return float(base * random.uniform(0.8, 1.2))

    async def _failed(self, exc: KubeError, failures: int, what: str) -> None:
        self.last_error = exc
        delay = self._delay(failures)
        log.warning(
            "kube request failed, retrying",
            request=what,
            resource=self.ref.plural,
            error=str(exc),
            attempt=failures,
            retry_in=round(delay, 2),
        )
        await asyncio.sleep(delay)
