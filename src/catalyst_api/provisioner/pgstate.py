"""OpenTofu state in PostgreSQL (`backend "pg"`), when catalyst-api has a database.

Each deployment's state lives in its own schema, `tofu_<deployment id>`, of the service's
database, so any replica can retry or destroy a deployment whatever replica ran it before; the
backend's advisory locks keep two runs of one deployment from writing the state together. The
workdir is then scratch space: the backend file is written into it for each run, the connection
string travels only in the child's environment (`PG_CONN_STR`, scrubbed from events like every
secret), and the tfvars file is removed after the run.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import psycopg
from psycopg import sql

__all__ = ["BACKEND_FILE", "StateDatabase", "deployment_id_of"]

BACKEND_FILE = "catalyst_backend.tf"
_BACKEND_TF = b"""# Written by catalyst-api for this run: the OpenTofu state lives in PostgreSQL
# (PG_CONN_STR, PG_SCHEMA_NAME in the environment), one schema per deployment.
terraform {
  backend "pg" {}
}
"""
_ID = re.compile(r"^[0-9a-f]{16}$")


def deployment_id_of(workdir_name: str) -> str | None:
    """The deployment id a workdir name ends with (`<fqdn>.<id>`); None for legacy names."""
    _, dot, tail = workdir_name.rpartition(".")
    return tail if dot and _ID.match(tail) else None


class StateDatabase:
    """Where the states are: the service's database URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def schema(deployment_id: str) -> str:
        if not _ID.match(deployment_id):
            raise ValueError(f"invalid deployment id for a state schema: {deployment_id!r}")
        return f"tofu_{deployment_id}"

    def prepare(self, workdir: Path, deployment_id: str) -> dict[str, str]:
        """Write the backend file; returns the environment the run needs."""
        path = workdir / BACKEND_FILE
        path.write_bytes(_BACKEND_TF)
        path.chmod(0o600)
        # The backend settings cached by a previous init (another URL, another replica's run)
        # would make init refuse to continue: the backend is configured anew each run.
        with contextlib.suppress(FileNotFoundError):
            (workdir / ".terraform" / "terraform.tfstate").unlink()
        return {"PG_CONN_STR": self.url, "PG_SCHEMA_NAME": self.schema(deployment_id)}

    def has_resources(self, deployment_id: str) -> bool:
        """Whether the deployment's state records at least one managed resource instance."""
        schema = self.schema(deployment_id)
        try:
            with psycopg.connect(self.url, connect_timeout=5) as conn:
                exists = conn.execute(
                    "SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.states",)
                ).fetchone()
                if not exists or not exists[0]:
                    return False
                row = conn.execute(
                    sql.SQL("SELECT data FROM {}.states WHERE name = 'default'").format(
                        sql.Identifier(schema)
                    )
                ).fetchone()
        except psycopg.Error:
            return False
        if row is None:
            return False
        try:
            state = json.loads(row[0])
        except (TypeError, ValueError):
            return False
        resources = state.get("resources") if isinstance(state, dict) else None
        return isinstance(resources, list) and any(
            isinstance(r, dict) and r.get("mode") == "managed" and r.get("instances")
            for r in resources
        )

    def drop(self, deployment_id: str) -> None:
        """Remove the deployment's state schema (after a destroy emptied it)."""
        with psycopg.connect(self.url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(self.schema(deployment_id))
                )
            )
