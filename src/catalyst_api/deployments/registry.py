"""The in-memory index of deployments: lookup, uniqueness claims and paged listing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from ..errors import InvalidRequest
from .models import Deployment, Status

__all__ = ["HOLDS_FQDN", "HOLDS_POOL_SUBDOMAIN", "Registry"]

# DESIGN item 6: a non-terminal deployment holds its FQDN.
HOLDS_FQDN = frozenset(
    {
        Status.PENDING,
        Status.PROVISIONING,
        Status.TOFU_APPLYING,
        Status.FLUX_BOOTSTRAPPING,
        Status.PHASE1_WATCHING,
        Status.DESTROYING,
    }
)
# Embedded pool mode: a non-terminal or ready deployment holds its pool subdomain.
HOLDS_POOL_SUBDOMAIN = HOLDS_FQDN | {Status.READY}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _sort_key(dep: Deployment) -> tuple[int, str]:
    return ((dep.started_at - _EPOCH) // timedelta(microseconds=1), dep.id)


def _encode_cursor(dep: Deployment) -> str:
    micros, dep_id = _sort_key(dep)
    return base64.urlsafe_b64encode(f"{micros}:{dep_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, sep, dep_id = base64.urlsafe_b64decode(padded).decode().partition(":")
        if not sep:
            raise ValueError("no separator")
        return int(stamp), dep_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("invalid-cursor", "cursor is not one this server issued") from None


class Registry:
    """All known deployments plus the FQDN / pool-subdomain claims of creates in progress."""

    def __init__(self) -> None:
        self._by_id: dict[str, Deployment] = {}
        self._claimed_fqdns: set[str] = set()
        self._claimed_pool: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Deployment]:
        return iter(list(self._by_id.values()))

    def get(self, deployment_id: str) -> Deployment | None:
        return self._by_id.get(deployment_id)

    def add(self, dep: Deployment) -> None:
        self._by_id[dep.id] = dep

    def fqdn_in_use(self, fqdn: str) -> bool:
        key = fqdn.strip().lower()
        if key in self._claimed_fqdns:
            return True
        return any(
            d.status in HOLDS_FQDN and d.request.sovereign_fqdn.strip().lower() == key
            for d in self._by_id.values()
        )

    def pool_subdomain_held(
        self, pool: str, sub: str, *, exclude: Deployment | None = None
    ) -> bool:
        key = (pool.strip().lower(), sub.strip().lower())
        if key in self._claimed_pool:
            return True
        return any(
            d is not exclude
            and d.status in HOLDS_POOL_SUBDOMAIN
            and d.request.is_pool
            and (
                d.request.sovereign_pool_domain.strip().lower(),
                d.request.sovereign_subdomain.strip().lower(),
            )
            == key
            for d in self._by_id.values()
        )

    def claim(self, fqdn: str, pool_key: tuple[str, str] | None) -> None:
        self._claimed_fqdns.add(fqdn.strip().lower())
        if pool_key is not None:
            self._claimed_pool.add((pool_key[0].strip().lower(), pool_key[1].strip().lower()))

    def unclaim(self, fqdn: str, pool_key: tuple[str, str] | None) -> None:
        self._claimed_fqdns.discard(fqdn.strip().lower())
        if pool_key is not None:
            self._claimed_pool.discard((pool_key[0].strip().lower(), pool_key[1].strip().lower()))

    def page(
        self, *, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Deployment], str | None]:
        """Newest first; `cursor` continues after the last item of the previous page."""
        items = sorted(
            (d for d in self._by_id.values() if status is None or d.status == status),
            key=_sort_key,
            reverse=True,
        )
        if cursor:
            after = _decode_cursor(cursor)
            items = [d for d in items if _sort_key(d) < after]
        page = items[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(items) > limit and page else None
        return page, next_cursor
