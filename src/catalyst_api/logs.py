"""JSON logs through structlog, with a last-line-of-defence secret scrubber.

Code never logs secrets on purpose; the scrubber additionally replaces any registered secret
value that slips into a log line with `<redacted>`. Registered: the settings' secrets for the
life of the process (`wiring`), and each OpenTofu run's job secrets (Hetzner token, Dynadot
key/secret, GHCR token, kubeconfig bearer) while that run lasts (`provisioner`), so the set
stays as small as the work in flight.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

__all__ = ["SecretScrubber", "configure_logging", "scrubber"]


class SecretScrubber:
    """A structlog processor that masks known secret values anywhere in an event dict."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._permanent: set[str] = set()
        self._scoped: Counter[str] = Counter()
        self._lock = threading.Lock()

    @staticmethod
    def _worth_masking(values: tuple[str, ...]) -> list[str]:
        return [v for v in values if v and len(v) >= 6]

    def register(self, *values: str) -> None:
        """Mask these values for the life of the process."""
        with self._lock:
            self._permanent.update(self._worth_masking(values))
            self._values = self._permanent | set(self._scoped)

    @contextmanager
    def registered(self, *values: str) -> Iterator[None]:
        """Mask these values while the block runs (nested and concurrent blocks may share a
        value: it stays masked until the last of them ends)."""
        masked = self._worth_masking(values)
        with self._lock:
            self._scoped.update(masked)
            self._values = self._permanent | set(self._scoped)
        try:
            yield
        finally:
            with self._lock:
                self._scoped.subtract(masked)
                self._scoped = +self._scoped  # drop values no block holds any more
                self._values = self._permanent | set(self._scoped)

    def scrub_text(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, "<redacted>")
        return text

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(v) for v in value]
        return value

    def __call__(
        self, _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if not self._values:
            return event_dict
        for key, value in list(event_dict.items()):
            event_dict[key] = self._scrub(value)
        return event_dict


scrubber = SecretScrubber()


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines to stderr (or `stream`); stdlib logging (uvicorn, httpx) goes the same way."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    out = stream or sys.stderr
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrubber,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=structlog.processors.JSONRenderer(),
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                *shared,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our own middleware writes the access log (with request ids); silence uvicorn's.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
