"""DNS record shapes, the Sovereign's record set, and the plan for removing it safely.

Pure data and functions (no I/O): the Dynadot client reads and writes these shapes, the embedded
pool backend decides with `plan_removal` what a destroy may take out of a zone.

Why removal is guarded so heavily: Dynadot's API3 has no "delete record" command. `set_dns2`
either appends (`add_dns_to_current_setting=yes`) or *replaces the whole zone* with the records
in the request. Removing our records therefore means reading the zone (`get_dns`) and writing
back everything else. `plan_removal` refuses (raises `UnsafeZoneError`, nothing is written)
whenever that rewrite could lose anything it does not fully understand: a zone not served by
Dynadot DNS, an entry it could not parse exactly, more records than one `set_dns2` call can
carry, or a rewrite that would leave the zone empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TTL",
    "DYNADOT_DNS_TYPE",
    "MAX_MAIN_RECORDS",
    "MAX_SUB_RECORDS",
    "SOVEREIGN_HOSTS",
    "DnsRecord",
    "RemovalPlan",
    "UnsafeZoneError",
    "Zone",
    "is_dns_label",
    "plan_removal",
    "sovereign_record_names",
    "sovereign_records",
]

DEFAULT_TTL = 300
DYNADOT_DNS_TYPE = "Dynadot DNS"
# Slots of one set_dns2 request (main_record0..19, subdomain0..99).
MAX_MAIN_RECORDS = 20
MAX_SUB_RECORDS = 100
# The Sovereign's A records under `<sub>.<pool>`, in the order they are written (spec §7.3).
SOVEREIGN_HOSTS = ("*", "console", "gitea", "harbor", "admin", "api")

_LABEL = re.compile(r"[a-z][a-z0-9-]{0,62}")


def is_dns_label(label: str) -> bool:
    """The subdomain rule of spec §3.4: 1–63 of `a-z 0-9 -`, starts with a letter, does not end
    with a hyphen. Callers lower-case and trim first."""
    return _LABEL.fullmatch(label) is not None and not label.endswith("-")


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One record of a Dynadot zone. `subdomain` is relative to the zone ("" = apex);
    `type` is lower-case (`a`, `cname`, `txt`…); `value2` is Dynadot's `recordx` column."""

    subdomain: str
    type: str
    value: str
    value2: str = ""

    @property
    def is_apex(self) -> bool:
        return self.subdomain in ("", "@")

    def describe(self, domain: str) -> str:
        name = domain if self.is_apex else f"{self.subdomain}.{domain}"
        return f"{self.type.upper()} {name} → {self.value}"


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone as `get_dns` reported it. `unparsed` names entries that could not be read
    exactly (they make any rewrite unsafe)."""

    domain: str
    dns_type: str
    records: tuple[DnsRecord, ...]
    ttl: str = ""
    unparsed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    """What a guarded rewrite keeps and what it removes."""

    keep: tuple[DnsRecord, ...]
    remove: tuple[DnsRecord, ...]


class UnsafeZoneError(Exception):
    """Rewriting the zone could lose records we do not own; nothing was written."""


def sovereign_record_names(subdomain: str) -> list[str]:
    """`*.<sub>`, `console.<sub>`, … relative to the pool zone, in write order."""
    sub = subdomain.strip().lower()
    return [f"{host}.{sub}" for host in SOVEREIGN_HOSTS]


def sovereign_records(subdomain: str, load_balancer_ip: str) -> list[DnsRecord]:
    """The six A records that point a Sovereign's names at its load balancer."""
    return [DnsRecord(name, "a", load_balancer_ip) for name in sovereign_record_names(subdomain)]


def plan_removal(zone: Zone, names: Iterable[str]) -> RemovalPlan:
    """Split `zone` into the A records at `names` (ours) and everything else.

    Raises `UnsafeZoneError` when writing back "everything else" could lose data; returns an
    empty `remove` when there is nothing of ours in the zone (no write needed).
    """
    wanted = {name.strip().lower() for name in names}
    remove = tuple(r for r in zone.records if r.type == "a" and r.subdomain.lower() in wanted)
    keep = tuple(r for r in zone.records if r not in remove)
    if not remove:
        return RemovalPlan(keep=keep, remove=())
    if zone.dns_type.strip().lower() != DYNADOT_DNS_TYPE.lower():
        raise UnsafeZoneError(
            f"zone {zone.domain} is not served by Dynadot DNS (type {zone.dns_type!r})"
        )
    if zone.unparsed:
        raise UnsafeZoneError(
            f"zone {zone.domain} holds entries catalyst-api cannot rewrite exactly: "
            + "; ".join(zone.unparsed[:5])
        )
    if not keep:
        raise UnsafeZoneError(
            f"zone {zone.domain} holds only this Sovereign's records; rewriting it would leave "
            "the zone empty"
        )
    mains = sum(1 for r in keep if r.is_apex)
    subs = len(keep) - mains
    if mains > MAX_MAIN_RECORDS or subs > MAX_SUB_RECORDS:
        raise UnsafeZoneError(
            f"zone {zone.domain} has {mains} apex and {subs} subdomain records; one set_dns2 "
            f"call carries at most {MAX_MAIN_RECORDS} and {MAX_SUB_RECORDS}"
        )
    return RemovalPlan(keep=keep, remove=remove)
