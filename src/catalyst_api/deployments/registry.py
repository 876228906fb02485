"""The in-memory index of deployments: lookup, uniqueness claims and paged listing."""

from __future__ import annotations

import base64
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from ..errors import InvalidRequest
from .models import Deployment, Status

__all__ = ["HOLDS_FQDN", "HOLDS_POOL_SUBDOMAIN", "IN_PROGRESS", "Registry", "fqdn_key"]

# The statuses of a deployment whose run (provision or destroy) has not finished.
IN_PROGRESS = frozenset(
    {
        Status.PENDING,
        Status.PROVISIONING,
        Status.TOFU_APPLYING,
        Status.FLUX_BOOTSTRAPPING,
        Status.PHASE1_WATCHING,
        Status.DESTROYING,
    }
)
# DESIGN item 6: a deployment holds its FQDN from create until it is destroyed, or failed with
# nothing in its OpenTofu state: these statuses hold it whatever the state says (a `failed`
# one holds it only while its state has resources, which the service asks the provisioner).
HOLDS_FQDN = IN_PROGRESS | {Status.READY}
# Embedded pool mode: a non-terminal or ready deployment holds its pool subdomain.
HOLDS_POOL_SUBDOMAIN = IN_PROGRESS | {Status.READY}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def fqdn_key(fqdn: str) -> str:
    """The form FQDNs are compared in: trimmed, lower-case, no trailing dot (records written
    by earlier versions and the original may hold `K8s.Acme.Example.`)."""
    return fqdn.strip().lower().removesuffix(".")


def _sort_key(dep: Deployment) -> tuple[int, str]:
    return ((dep.started_at - _EPOCH) // timedelta(microseconds=1), dep.id)


def _order(dep: Deployment) -> tuple[datetime, str]:
    # The same order as `_sort_key`, without the per-item arithmetic (a page ranks them all).
    return (dep.started_at, dep.id)


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
        # (startedAt, id) of every deployment, ascending: pages walk it from the newest end.
        # `started_at` never changes after a deployment is created, so the order holds.
        self._order: list[tuple[datetime, str]] = []
        self._claimed_fqdns: dict[str, str] = {}  # fqdn key → id of the create claiming it
        self._claimed_pool: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Deployment]:
        return iter(list(self._by_id.values()))

    def get(self, deployment_id: str) -> Deployment | None:
        return self._by_id.get(deployment_id)

    def add(self, dep: Deployment) -> None:
        old = self._by_id.get(dep.id)
        if old is not None:
            at = bisect_left(self._order, _order(old))
            if at < len(self._order) and self._order[at] == _order(old):
                del self._order[at]
        insort(self._order, _order(dep))
        self._by_id[dep.id] = dep

    def fqdn_holder(
        self,
        fqdn: str,
        holds_state: Callable[[Deployment], bool],
        *,
        exclude: Deployment | None = None,
    ) -> str | None:
        """Id of the deployment (or create in progress) that holds `fqdn`, or None.

        `holds_state(dep)` says whether a failed deployment's OpenTofu state has resources; it
        is asked only for failed deployments with this FQDN. The newest holder is named.
        """
        key = fqdn_key(fqdn)
        claimed = self._claimed_fqdns.get(key)
        if claimed is not None:
            return claimed
        candidates = sorted(
            (
                d
                for d in self._by_id.values()
                if d is not exclude and fqdn_key(d.request.sovereign_fqdn) == key
            ),
            key=_sort_key,
            reverse=True,
        )
        for dep in candidates:
            if dep.status in HOLDS_FQDN or (dep.status is Status.FAILED and holds_state(dep)):
                return dep.id
        return None

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

    def claim(self, fqdn: str, pool_key: tuple[str, str] | None, deployment_id: str) -> None:
        self._claimed_fqdns[fqdn_key(fqdn)] = deployment_id
        if pool_key is not None:
            self._claimed_pool.add((pool_key[0].strip().lower(), pool_key[1].strip().lower()))

    def unclaim(self, fqdn: str, pool_key: tuple[str, str] | None) -> None:
        self._claimed_fqdns.pop(fqdn_key(fqdn), None)
        if pool_key is not None:
            self._claimed_pool.discard((pool_key[0].strip().lower(), pool_key[1].strip().lower()))

    def page(
        self, *, status: str | None, limit: int, cursor: str | None, owner: str | None = None
    ) -> tuple[list[Deployment], str | None]:
        """Newest first; `cursor` continues after the last item of the previous page.

        Walks the (startedAt, id) order from the newest end: O(page) without a status filter.
        `owner` (not None): only the deployments that principal created.
        """
        end = len(self._order)
        if cursor:
            micros, after_id = _decode_cursor(cursor)
            end = bisect_left(self._order, (_EPOCH + timedelta(microseconds=micros), after_id))
        found: list[Deployment] = []
        for _, dep_id in reversed(self._order[:end]):
            dep = self._by_id[dep_id]
            if (status is None or dep.status == status) and (owner is None or dep.owner == owner):
                found.append(dep)
                if len(found) > limit:
                    break
        page = found[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(found) > limit and page else None
        return page, next_cursor
