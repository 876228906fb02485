"""List pages: stable ordering, `limit`, and opaque `continue` tokens."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import bad_request

__all__ = ["ListPage", "decode_continue", "encode_continue", "object_key", "paginate"]


def object_key(namespace: str, name: str) -> str:
    """Storage key: `namespace/name`, or just `name` for cluster-scoped objects (etcd order)."""
    return f"{namespace}/{name}" if namespace else name


def encode_continue(rv: int, start_after: str) -> str:
    """Opaque token naming the list's snapshot resourceVersion and the last key returned."""
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_after + "\x00"})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(snapshot rv, last key returned); a malformed token is a 400 BadRequest."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        rv, start = int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise bad_request("continue key is not valid: invalid continue token") from None
    if data.get("v") != "meta.k8s.io/v1" or not start.endswith("\x00"):
        raise bad_request("continue key is not valid: incorrect encoded start resourceVersion")
    return rv, start[:-1]


@dataclass(frozen=True)
class ListPage:
    """One page of a list response."""

    items: list[dict[str, Any]]
    resource_version: int
    continue_token: str | None
    remaining: int | None


def paginate(
    keyed: Iterable[tuple[str, dict[str, Any]]],
    snapshot_rv: int,
    limit: int,
    start_after: str | None,
    count_remaining: bool,
) -> ListPage:
    """Take up to `limit` (0 = all) objects with key > `start_after` from key-sorted input."""
    rows = [(k, o) for k, o in keyed if start_after is None or k > start_after]
    if limit <= 0 or len(rows) <= limit:
        return ListPage([o for _, o in rows], snapshot_rv, None, None)
    page = rows[:limit]
    token = encode_continue(snapshot_rv, page[-1][0])
    remaining = len(rows) - limit if count_remaining else None
    return ListPage([o for _, o in page], snapshot_rv, token, remaining)
