"""Fault injection for tests: dropped watches, failing requests, slow responses."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import KubeApiError
from .store import ObjectStore

__all__ = ["Faults"]

_REASONS = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    503: ("ServiceUnavailable", "The server is currently unable to handle the request"),
    504: ("Timeout", "The server was unable to return a response in the time allotted"),
}


@dataclass
class _FailRule:
    remaining: int
    status: int
    path_contains: str | None
    retry_after: int


class Faults:
    """Switches a test flips on a running fake (thread-safe)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._rules: list[_FailRule] = []
        self.delay_seconds: float = 0.0
        """Extra latency added before every response."""

    def drop_watches(self, abort: bool = False) -> int:
        """End every open watch now; `abort=True` cuts the TCP stream mid-body instead of
        finishing it cleanly. Returns how many watches were open."""
        return self._store.drop_watches(abort=abort)

    def fail_next(
        self, n: int, status: int = 500, path_contains: str | None = None, retry_after: int = 1
    ) -> None:
        """Answer the next `n` requests (whose path contains `path_contains`, if given) with
        `status` and a Status body; 429 and 503 carry `Retry-After: retry_after`."""
        with self._lock:
            self._rules.append(_FailRule(n, status, path_contains, retry_after))

    def clear(self) -> None:
        """Forget pending failures and the delay."""
        with self._lock:
            self._rules.clear()
        self.delay_seconds = 0.0

    def take_failure(self, path: str) -> KubeApiError | None:
        """The injected error for this request, if one is due (consumes it)."""
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and (
                    rule.path_contains is None or rule.path_contains in path
                ):
                    rule.remaining -= 1
                    self._rules = [r for r in self._rules if r.remaining > 0]
                    return _error(rule)
        return None


def _error(rule: _FailRule) -> KubeApiError:
    reason, message = _REASONS.get(rule.status, ("InternalError", "injected fault"))
    headers: dict[str, str] = {}
    details = None
    if rule.status in (429, 503):
        headers["Retry-After"] = str(rule.retry_after)
        details = {"retryAfterSeconds": rule.retry_after}
    return KubeApiError(rule.status, reason, message, details, headers)
