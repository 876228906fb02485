"""Shared helpers for the outbound DNS / PDM HTTP clients: error text that never carries a URL
(Dynadot credentials travel in the query string), body truncation and retry back-off."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

__all__ = [
    "Backoff",
    "RetryHook",
    "Sleep",
    "describe_transport_error",
    "is_transient_transport_error",
    "scrub",
    "truncate",
]

Sleep = Callable[[float], Awaitable[None]]
# (attempt that failed, max attempts, delay before the next one, why)
RetryHook = Callable[[int, int, float, str], None]


def truncate(text: str, limit: int = 256) -> str:
    """First `limit` characters plus `...` when longer (the original's truncation helper)."""
    return text if len(text) <= limit else text[:limit] + "..."


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value (4+ characters) in `text` with `<redacted>`."""
    for value in secrets:
        if len(value) >= 4 and value in text:
            text = text.replace(value, "<redacted>")
    return text


def describe_transport_error(exc: Exception) -> str:
    """A short description of an httpx failure, built without `exc.request` (no URL)."""
    if isinstance(exc, httpx.TimeoutException):
        return "request timed out"
    detail = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name


def is_transient_transport_error(exc: Exception) -> bool:
    """Timeouts and connection-level failures may succeed on a later try."""
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: `base * 2**(n-1)` seconds after the n-th failure, capped."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 30.0
    sleep: Sleep = asyncio.sleep

    def delay(self, failed_attempt: int) -> float:
        return float(min(self.cap, self.base * (2 ** (failed_attempt - 1))))
