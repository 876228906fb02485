"""`EmbeddedPoolDomains`: pool subdomains without PDM (DESIGN item 8).

The deployment service enforces uniqueness in its own store; this backend mints a reservation
token and writes / removes the Sovereign's six A records through Dynadot, only for allowlisted
domains, refusing anything unsafe before the first HTTP call. Record removal is a guarded zone
rewrite (see `records.plan_removal`): writes to one domain are serialised, the rewrite is
refused when anything in the zone could be lost, and afterwards the zone is read back and any
unrelated record Dynadot no longer lists is appended again. Every step emits `phase: "dns"`
events.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid

from ..events import Emit, Event
from ._progress import retry_event
from .allowlist import ManagedDomains
from .dynadot import DynadotClient, DynadotError
from .records import (
    DEFAULT_TTL,
    SOVEREIGN_HOSTS,
    UnsafeZoneError,
    is_dns_label,
    plan_removal,
    sovereign_record_names,
    sovereign_records,
)
from .types import DnsError, Reservation

__all__ = ["EmbeddedPoolDomains"]


class EmbeddedPoolDomains:
    """Pool subdomains without PDM: local reservation token, A records through Dynadot."""

    def __init__(self, client: DynadotClient, *, managed: ManagedDomains) -> None:
        self.client = client
        self.managed = managed
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, domain: str) -> asyncio.Lock:
        return self._locks.setdefault(domain, asyncio.Lock())

    def _checked(self, reservation: Reservation) -> tuple[str, str]:
        """(domain, subdomain) once both are safe to write; `DnsError` before any HTTP call."""
        domain = reservation.pool_domain.strip().lower()
        sub = reservation.subdomain.strip().lower()
        if not self.managed.is_managed(domain):
            raise DnsError(
                f'DOMAIN "{domain}" is not in the managed-domain allowlist; refusing to write '
                "records"
            )
        if not is_dns_label(sub):
            raise DnsError(f"subdomain {sub!r} is not a valid DNS label; refusing to write records")
        if not self.client.has_credentials():
            raise DnsError(
                "DYNADOT_API_KEY and DYNADOT_API_SECRET must be set to write the records of "
                f"{sub}.{domain}"
            )
        return domain, sub

    async def reserve(self, *, deployment_id: str, pool_domain: str, subdomain: str) -> Reservation:
        """A local reservation; the deployment service has already refused a held name."""
        return Reservation(
            pool_domain.strip().lower(), subdomain.strip().lower(), str(uuid.uuid4())
        )

    async def commit(
        self,
        reservation: Reservation,
        *,
        sovereign_fqdn: str,
        load_balancer_ip: str,
        emit: Emit,
    ) -> None:
        """Append the six A records (TTL 300), one event each; stops at the first failure."""
        domain, sub = self._checked(reservation)
        try:
            ip = str(ipaddress.IPv4Address(load_balancer_ip.strip()))
        except ValueError:
            raise DnsError(
                f"Phase 0 reported no usable load balancer IPv4 ({load_balancer_ip!r}); cannot "
                f"write the records of {sub}.{domain}"
            ) from None
        emit(
            Event(
                phase="dns",
                message=f"Writing {len(SOVEREIGN_HOSTS)} A records for *.{sub}.{domain} → {ip} "
                "via Dynadot",
            )
        )
        hook = retry_event(emit, "Dynadot set_dns2")
        async with self._lock(domain):
            for record in sovereign_records(sub, ip):
                try:
                    await self.client.add_record(domain, record, ttl=DEFAULT_TTL, on_retry=hook)
                except DynadotError as exc:
                    raise DnsError(f"writing {record.describe(domain)} failed: {exc}") from None
                emit(
                    Event(
                        phase="dns",
                        message=f"{record.describe(domain)} (TTL {DEFAULT_TTL}) written",
                    )
                )
        emit(
            Event(
                phase="dns",
                message=f"✓ Wrote {len(SOVEREIGN_HOSTS)} A records for *.{sub}.{domain} → {ip} "
                "via Dynadot",
            )
        )

    async def release(self, reservation: Reservation, *, committed: bool, emit: Emit) -> None:
        """Uncommitted: nothing remote. Committed: remove our A records, keep everything else."""
        if not committed:
            emit(
                Event(
                    phase="dns",
                    message=f"Released {reservation.subdomain}.{reservation.pool_domain} (no DNS "
                    "records had been written)",
                )
            )
            return
        domain, sub = self._checked(reservation)
        async with self._lock(domain):
            await self._remove(domain, sub, emit)

    async def _remove(self, domain: str, sub: str, emit: Emit) -> None:
        names = sovereign_record_names(sub)
        hook = retry_event(emit, "Dynadot")
        left_in_place = (
            f"the A records of {sub}.{domain} were left in place; remove "
            + ", ".join(f"{n}.{domain}" for n in names)
            + " by hand in Dynadot"
        )
        try:
            zone = await self.client.get_zone(domain, on_retry=hook)
            plan = plan_removal(zone, names)
        except DynadotError as exc:
            raise DnsError(f"reading zone {domain} failed: {exc}; {left_in_place}") from None
        except UnsafeZoneError as exc:
            raise DnsError(f"{exc}; {left_in_place}") from None
        if not plan.remove:
            emit(
                Event(
                    phase="dns",
                    message=f"No A records of {sub}.{domain} in zone {domain} — nothing to remove",
                )
            )
            return
        failure: DynadotError | None = None
        try:
            await self.client.replace_zone(domain, plan.keep, ttl=zone.ttl, on_retry=hook)
        except DynadotError as exc:
            failure = exc
        # Read back whatever happened, and put back any unrelated record that is missing.
        try:
            after = await self.client.get_zone(domain, on_retry=hook)
            missing = [r for r in plan.keep if r not in after.records]
            for record in missing:
                await self.client.add_record(domain, record, ttl=None, on_retry=hook)
        except DynadotError as exc:
            raise DnsError(
                f"verifying zone {domain} after removing the records of {sub}.{domain} failed: "
                f"{exc}"
            ) from None
        if missing:
            emit(
                Event(
                    phase="dns",
                    level="warn",
                    message=f"Re-added {len(missing)} unrelated record(s) that zone {domain} "
                    "no longer listed after the rewrite",
                )
            )
        if failure is not None:
            raise DnsError(f"removing the records of {sub}.{domain} failed: {failure}")
        leftover = [r for r in plan.remove if r in after.records]
        if leftover:
            raise DnsError(
                f"Dynadot still lists {len(leftover)} record(s) of {sub}.{domain} after the "
                f"rewrite; {left_in_place}"
            )
        for record in plan.remove:
            emit(Event(phase="dns", message=f"{record.describe(domain)} removed"))
        emit(
            Event(
                phase="dns",
                message=f"✓ Removed {len(plan.remove)} A record(s) of *.{sub}.{domain} via Dynadot",
            )
        )
