"""Deployment id rules shared by every store that builds a path from an id."""

from __future__ import annotations

import re
import secrets

__all__ = ["is_deployment_id", "is_safe_id", "new_deployment_id"]

_DEPLOYMENT_ID = re.compile(r"[0-9a-f]{16}")


def new_deployment_id() -> str:
    """8 random bytes as 16 lowercase hex characters (the original's format)."""
    return secrets.token_hex(8)


def is_deployment_id(value: str) -> bool:
    """True for ids this service mints (16 lowercase hex)."""
    return _DEPLOYMENT_ID.fullmatch(value) is not None


def is_safe_id(value: str) -> bool:
    """The original's path guard: not empty, `.` or `..`, no `/`, `\\` or NUL.

    Records written by the original may carry any id that passes this guard, so loading
    accepts these; everything that builds a path checks it.
    """
    if value in ("", ".", ".."):
        return False
    return not any(ch in value for ch in "/\\\x00") and not value.startswith(".")
