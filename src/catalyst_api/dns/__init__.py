"""DNS for managed pool domains: the allowlist, the PDM and Dynadot clients, and the two
`PoolDomains` backends the deployment service drives.

What: with `POOL_DOMAIN_MANAGER_URL` set, pool subdomains are reserved, committed and released
through pool-domain-manager (`PdmPoolDomains`), which writes DNS itself. Unset (the embedded
default), catalyst-api reserves in its own store and writes the Sovereign's A records through
Dynadot (`EmbeddedPoolDomains`), only for allowlisted domains.
Setup: `wiring.build_services` calls `build_pool_domains(settings, managed, http)` with the
process-wide `httpx.AsyncClient`; the wizard helpers reuse `PdmClient` for checks and the
registrar proxy.
Trade-offs: Dynadot has no per-record delete, so removal is a guarded read-rewrite-verify of the
zone (`records.plan_removal`); Dynadot credentials ride in query strings, so no URL is ever
logged or put into an error.
"""

from ._http import Backoff
from .allowlist import DEFAULT_MANAGED_DOMAINS, ManagedDomains, parse_domain_list
from .dynadot import DynadotClient, DynadotError
from .pdm import CheckVerdict, PdmClient, PdmConflict, PdmError, PdmNotFound, PdmReservation
from .pool import EmbeddedPoolDomains, PdmPoolDomains, build_pool_domains
from .records import (
    DEFAULT_TTL,
    SOVEREIGN_HOSTS,
    DnsRecord,
    RemovalPlan,
    UnsafeZoneError,
    Zone,
    is_dns_label,
    plan_removal,
    sovereign_record_names,
    sovereign_records,
)

__all__ = [
    "DEFAULT_MANAGED_DOMAINS",
    "DEFAULT_TTL",
    "SOVEREIGN_HOSTS",
    "Backoff",
    "CheckVerdict",
    "DnsRecord",
    "DynadotClient",
    "DynadotError",
    "EmbeddedPoolDomains",
    "ManagedDomains",
    "PdmClient",
    "PdmConflict",
    "PdmError",
    "PdmNotFound",
    "PdmPoolDomains",
    "PdmReservation",
    "RemovalPlan",
    "UnsafeZoneError",
    "Zone",
    "build_pool_domains",
    "is_dns_label",
    "parse_domain_list",
    "plan_removal",
    "sovereign_record_names",
    "sovereign_records",
]
