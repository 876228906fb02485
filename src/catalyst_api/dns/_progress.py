"""DNS progress events shared by the pool backends."""

from __future__ import annotations

from ..events import Emit, Event
from ._http import RetryHook

__all__ = ["retry_event"]


def retry_event(emit: Emit, what: str) -> RetryHook:
    """A `RetryHook` that reports each retry as a `dns` warn event."""

    def hook(attempt: int, attempts: int, delay: float, reason: str) -> None:
        emit(
            Event(
                phase="dns",
                level="warn",
                message=f"{what} failed (attempt {attempt}/{attempts}): {reason} — retrying in "
                f"{delay:g}s",
            )
        )

    return hook
