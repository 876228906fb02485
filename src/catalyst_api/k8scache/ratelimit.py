"""Client-side rate limit per cluster (QPS 50, burst 100, as upstream sets on client-go).

client-go's default 5/10 starves a cold multi-kind LIST; 50/100 lets ~25 informers start at
once while still protecting a small apiserver. Every request of one cluster's informers and SAR
checks shares one bucket: `LimitedKubeClient` takes a token before each list, get, review and
watch request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator

from ..kube import KubeClient, ResourceRef, WatchEvent
from ..kube.resources import ObjectList

__all__ = ["LimitedKubeClient", "TokenBucket"]


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `acquire()` waits for one."""

    def __init__(self, rate: float = 50.0, burst: int = 100) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class LimitedKubeClient(KubeClient):
    """A `KubeClient` whose requests share one `TokenBucket` (set `bucket` after building)."""

    bucket: TokenBucket | None = None

    async def _take(self) -> None:
        if self.bucket is not None:
            await self.bucket.acquire()

    async def list_objects(
        self, ref: ResourceRef, *, namespace: str | None, labels: dict[str, str] | None = None
    ) -> ObjectList:
        await self._take()
        return await super().list_objects(ref, namespace=namespace, labels=labels)

    async def get_object(self, ref: ResourceRef, *, namespace: str | None, name: str) -> dict:  # type: ignore[type-arg]
        await self._take()
        return await super().get_object(ref, namespace=namespace, name=name)

    async def access_allowed(
        self, *, user: str, verb: str, group: str, resource: str, namespace: str
    ) -> bool:
        await self._take()
        return await super().access_allowed(
            user=user, verb=verb, group=group, resource=resource, namespace=namespace
        )

    async def watch(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None,
        resource_version: str,
        timeout_seconds: int,
        inactivity: float,
        bookmarks: bool = True,
    ) -> AsyncGenerator[WatchEvent, None]:
        await self._take()
        inner = super().watch(
            ref,
            namespace=namespace,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            inactivity=inactivity,
            bookmarks=bookmarks,
        )
        # Close the inner stream with ours: left to the GC, its response would stay open.
        async with contextlib.aclosing(inner):
            async for event in inner:
                yield event
