"""What the wizard helpers answer: a status code and a JSON body (or relayed raw bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Relay", "Reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A JSON answer whose status is part of the contract (not an error shape)."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Relay:
    """PDM's answer relayed verbatim: status and raw body bytes (`application/json`)."""

    status: int
    body: bytes
