"""`PdmPoolDomains`: pool subdomains through pool-domain-manager (`POOL_DOMAIN_MANAGER_URL`).

PDM owns uniqueness and writes DNS. A reserve conflict is 409 `subdomain-conflict`, any other
reserve failure 503 `pdm-unavailable` (spec §3.6 step 8). Commit runs right after Phase 0 with
the load-balancer IP. Decision: a commit that PDM refuses, or that keeps failing after retries,
FAILS the deployment (`DnsError`) instead of being only logged as in the original: a Sovereign
reported `ready` whose name was never activated loses its reservation at PDM's TTL and its FQDN
can be taken by another tenant; a failed deployment says so, and a Phase 0 retry commits again
with the stored token. PDM's 202 ("DB ok, DNS retry") is success with a warning event; 409 on
commit ("already active") is taken as an earlier commit of ours that succeeded. Transient
failures (transport errors, 5xx) of commit and release are retried with back-off. Release
ignores 404. Every step emits `phase: "dns"` events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import Conflict, ServiceUnavailable
from ..events import Emit, Event
from ._http import Backoff, RetryHook
from ._progress import retry_event
from .pdm import PdmClient, PdmConflict, PdmError, PdmNotFound
from .types import DnsError, Reservation

__all__ = ["SUBDOMAIN_CONFLICT_DETAIL", "PdmPoolDomains"]

T = TypeVar("T")

SUBDOMAIN_CONFLICT_DETAIL = (
    "this subdomain has been reserved or activated for the chosen pool — pick a different name"
)


class PdmPoolDomains:
    """Pool subdomains through pool-domain-manager."""

    def __init__(self, client: PdmClient, *, backoff: Backoff | None = None) -> None:
        self.client = client
        self._backoff = backoff or Backoff(attempts=3)

    async def reserve(self, *, deployment_id: str, pool_domain: str, subdomain: str) -> Reservation:
        """PDM reserve (10 s); `Conflict` (409) or `ServiceUnavailable` (503) on failure."""
        try:
            held = await self.client.reserve(
                pool_domain, subdomain, f"catalyst-api/deployment-{deployment_id}"
            )
        except PdmConflict:
            raise Conflict("subdomain-conflict", SUBDOMAIN_CONFLICT_DETAIL) from None
        except PdmError as exc:
            raise ServiceUnavailable(
                "pdm-unavailable", f"pool-domain-manager is temporarily unreachable: {exc}"
            ) from None
        return Reservation(held.pool_domain, held.subdomain, held.reservation_token)

    async def _retrying(self, call: Callable[[], Awaitable[T]], hook: RetryHook) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except PdmError as exc:
                if not exc.transient or attempt >= self._backoff.attempts:
                    raise
                delay = self._backoff.delay(attempt)
                hook(attempt, self._backoff.attempts, delay, str(exc))
                await self._backoff.sleep(delay)

    async def commit(
        self,
        reservation: Reservation,
        *,
        sovereign_fqdn: str,
        load_balancer_ip: str,
        emit: Emit,
    ) -> None:
        """Activate the reservation with the load-balancer IP; PDM writes the DNS records."""
        pool, sub = reservation.pool_domain, reservation.subdomain
        name = f"{sub}.{pool}"
        if not load_balancer_ip:
            raise DnsError(
                f"Phase 0 reported no load balancer IP; cannot activate {name} in "
                "pool-domain-manager"
            )
        emit(
            Event(
                phase="dns",
                message=f"Activating {name} in pool-domain-manager → {load_balancer_ip}",
            )
        )
        try:
            status = await self._retrying(
                lambda: self.client.commit(
                    pool,
                    subdomain=sub,
                    reservation_token=reservation.token,
                    sovereign_fqdn=sovereign_fqdn,
                    load_balancer_ip=load_balancer_ip,
                ),
                retry_event(emit, "pool-domain-manager commit"),
            )
        except PdmConflict:
            emit(
                Event(
                    phase="dns",
                    level="warn",
                    message=f"pool-domain-manager reports {name} already active — keeping it",
                )
            )
            return
        except PdmError as exc:
            raise DnsError(f"pool-domain-manager commit of {name} failed: {exc}") from None
        if status == 202:
            emit(
                Event(
                    phase="dns",
                    level="warn",
                    message=f"pool-domain-manager activated {name}; its DNS write is pending and "
                    "will be retried by pool-domain-manager",
                )
            )
        else:
            emit(
                Event(
                    phase="dns",
                    message=f"pool-domain-manager activated {name} → {load_balancer_ip}",
                )
            )

    async def release(self, reservation: Reservation, *, committed: bool, emit: Emit) -> None:
        """Free the name in PDM (PDM removes its DNS records for an active one); 404 is fine."""
        pool, sub = reservation.pool_domain, reservation.subdomain
        name = f"{sub}.{pool}"
        try:
            await self._retrying(
                lambda: self.client.release(pool, sub),
                retry_event(emit, "pool-domain-manager release"),
            )
        except PdmNotFound:
            emit(
                Event(
                    phase="dns",
                    message=f"pool-domain-manager holds nothing for {name} — nothing to release",
                )
            )
            return
        except PdmError as exc:
            raise DnsError(f"pool-domain-manager release of {name} failed: {exc}") from None
        emit(Event(phase="dns", message=f"Released {name} in pool-domain-manager"))
