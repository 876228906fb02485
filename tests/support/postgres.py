"""The throwaway PostgreSQL cluster of the tests (the sandbox's, shared with `make run-ha`)."""

from catalyst_sandbox.postgres import PostgresServer, find_pg_bin

__all__ = ["PostgresServer", "find_pg_bin"]
