"""What the services need from the durable store, whichever backend holds it.

Two implementations: flat files (`RecordStore`, `EventLog`: the embedded default) and
PostgreSQL (`pg.PgRecordStore`, `pg.PgEventLog`), chosen by `CATALYST_DATABASE_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from .eventlog import LogInfo

__all__ = ["EventStorage", "RecordStorage"]

OnSkip = Callable[[Any, str], None]


class RecordStorage(Protocol):
    """One record (the original's JSON object) per deployment, replaced on state changes."""

    writable: bool
    problem: str | None

    def open(self) -> bool: ...

    def check_writable(self) -> tuple[bool, str | None]:
        """Probe the store now (blocking: `/readyz` runs it in a worker thread)."""
        ...

    def describe(self) -> dict[str, str]:
        """Where the records live, for `/readyz` and logs (never a credential)."""
        ...

    async def save(self, deployment_id: str, record: dict[str, Any]) -> bool: ...

    def save_sync(self, deployment_id: str, record: dict[str, Any]) -> None: ...

    def iter_records(
        self, on_skip: OnSkip
    ) -> Iterator[tuple[os.PathLike[str] | str, dict[str, Any]]]: ...

    def remove_stale_temp_files(self) -> int: ...


class EventStorage(Protocol):
    """Per-deployment append-only event history with a `seq` per deployment."""

    enabled: bool
    on_durable: Callable[[int], None] | None
    bytes_read: int

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def indexed(self) -> None: ...

    def info(self, deployment_id: str) -> LogInfo | None: ...

    def info_sync(self, deployment_id: str) -> LogInfo: ...

    async def index(self, deployment_id: str) -> LogInfo: ...

    async def index_many(self, deployment_ids: list[str]) -> None: ...

    def count(self, deployment_id: str) -> int | None: ...

    def append(self, deployment_id: str, line: bytes, *, seq: int | None = None) -> None: ...

    def has_pending(self, deployment_id: str) -> bool: ...

    async def flush(self) -> None: ...

    def has_log(self, deployment_id: str) -> bool:
        """Whether any event of this deployment is stored (blocking)."""
        ...

    def replace_sync(self, deployment_id: str, lines: Iterable[bytes]) -> None: ...

    def read_sync(self, deployment_id: str) -> list[dict[str, Any]]: ...

    def iter_from(
        self, deployment_id: str, after_line: int
    ) -> tuple[int, Iterator[dict[str, Any]]]: ...

    async def read_after(self, deployment_id: str, after_seq: int) -> list[tuple[int, bytes]]:
        """Stored events with `seq > after_seq`, as (seq, event JSON), oldest first."""
        ...
