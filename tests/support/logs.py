"""Reading the service's JSON log lines from a test's captured output."""

from __future__ import annotations

import json
from typing import Any


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` that is a JSON object."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def audit_records(text: str) -> list[dict[str, Any]]:
    """The audit log records (`catalyst_api.audit`, event `audit`)."""
    return [r for r in json_lines(text) if r.get("event") == "audit"]
