"""Reads what the service stored, from whichever backend a test runs on (files or PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["StoredRecords"]


class StoredRecords:
    """The deployment records at rest: `<dir>/<id>.json` files, or the `deployments` table."""

    def __init__(self, directory: Path, database_url: str = "") -> None:
        self.directory = directory
        self.database_url = database_url

    def text(self, deployment_id: str) -> str | None:
        """The stored record as text (None when absent)."""
        if not self.database_url:
            path = self.directory / f"{deployment_id}.json"
            return path.read_text() if path.exists() else None
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "SELECT record::text FROM deployments WHERE id = %s", (deployment_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def get(self, deployment_id: str) -> dict[str, Any]:
        """The stored record (fails when absent)."""
        text = self.text(deployment_id)
        assert text is not None, f"no stored record for {deployment_id}"
        record: dict[str, Any] = json.loads(text)
        return record

    def ids(self) -> list[str]:
        """Every stored record's id."""
        if not self.database_url:
            return sorted(p.stem for p in self.directory.glob("*.json"))
        with psycopg.connect(self.database_url) as conn:
            return [r[0] for r in conn.execute("SELECT id FROM deployments ORDER BY id")]
