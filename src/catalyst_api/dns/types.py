"""What the deployment service and the pool-domain backends exchange: the `PoolDomains`
protocol, a `Reservation`, and `DnsError` (a failed DNS / PDM step)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..events import Emit

__all__ = ["DnsError", "PoolDomains", "Reservation"]


@dataclass(frozen=True, slots=True)
class Reservation:
    """A held pool subdomain (PDM's reservation, or our embedded one)."""

    pool_domain: str
    subdomain: str
    token: str = ""


class DnsError(Exception):
    """A DNS / PDM step failed; the message is shown to the user as the deployment error."""


class PoolDomains(Protocol):
    """Reserve → commit (write DNS) → release a managed pool subdomain."""

    async def reserve(
        self, *, deployment_id: str, pool_domain: str, subdomain: str
    ) -> Reservation: ...

    async def commit(
        self,
        reservation: Reservation,
        *,
        sovereign_fqdn: str,
        load_balancer_ip: str,
        emit: Emit,
    ) -> None: ...

    async def release(self, reservation: Reservation, *, committed: bool, emit: Emit) -> None: ...
