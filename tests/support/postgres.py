"""The throwaway PostgreSQL cluster of the tests (the sandbox's, shared with `make run-ha`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from catalyst_api.store.pg import migrate
from catalyst_sandbox.postgres import PostgresServer, find_pg_bin

__all__ = ["PostgresServer", "find_pg_bin", "running_cluster"]


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresServer]:
    """A started cluster with a migrated template database; destroyed on exit."""
    server = PostgresServer()
    try:
        server.init()
        server.start()
        server.prepare_template(migrate)
        yield server
    finally:
        server.destroy()
