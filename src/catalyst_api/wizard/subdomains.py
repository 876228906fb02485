"""`POST /api/v1/subdomains/check` (spec §3.4): may the wizard use `<sub>.<pool>`?

Routing: the label rule first (no lookups for a bad label); then a managed pool (the allowlist)
asks pool-domain-manager (5 s) — or, in embedded mode, the deployments this catalyst-api holds —
and NEVER does a DNS lookup (a wildcard parking record would make every name look taken); any
other domain (BYO) is resolved (A/AAAA, 2 s) and NEVER reaches PDM.

The resolver is a seam (`Resolver`): production uses the system resolver through
`loop.getaddrinfo`; tests pass a local function. A pool domain that is not a DNS name at all is
answered `invalid-format` (the original would have looked up garbage).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable

import structlog

from ..dns import ManagedDomains, PdmClient, PdmError, is_dns_label
from .models import Reply

__all__ = [
    "HeldCheck",
    "NameNotFound",
    "Resolver",
    "SubdomainChecker",
    "system_resolver",
]

log = structlog.get_logger(__name__)

LOOKUP_TIMEOUT = 2.0

INVALID_LABEL = "subdomain must be a-z, 0-9 and hyphens, start with a letter, max 63 characters"
INVALID_POOL = "poolDomain must be a domain name such as example.com"
PDM_UNREACHABLE = "pool-domain-manager is temporarily unreachable — try again"
HELD = "this subdomain has been reserved or activated for the chosen pool — pick a different name"
EXISTS = "this subdomain already resolves in DNS — pick a different name"

_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

Resolver = Callable[[str], Awaitable[list[str]]]
"""Resolve a host name to its addresses; raise `NameNotFound` for NXDOMAIN / no data."""

HeldCheck = Callable[[str, str], Awaitable[bool]]
"""Embedded mode: does a deployment of this catalyst-api (any replica) hold (pool, subdomain)?"""


class NameNotFound(Exception):
    """The name does not exist (NXDOMAIN) or has no address records."""


_NOT_FOUND_CODES = {
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
}


async def system_resolver(host: str) -> list[str]:
    """A/AAAA through the system resolver (`getaddrinfo` in the loop's executor)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in _NOT_FOUND_CODES:
            raise NameNotFound(host) from None
        raise
    return sorted({str(info[4][0]) for info in infos})


def is_domain_name(name: str) -> bool:
    """At least two labels of `a-z 0-9 -` (no leading/trailing hyphen), ≤ 253 characters."""
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
    )


class SubdomainChecker:
    """Availability of `<sub>.<pool>` for the wizard."""

    def __init__(
        self,
        *,
        managed: ManagedDomains,
        pdm: PdmClient | None,
        held: HeldCheck,
        resolver: Resolver = system_resolver,
        lookup_timeout: float = LOOKUP_TIMEOUT,
    ) -> None:
        self.managed = managed
        self.pdm = pdm
        self.held = held
        self.resolver = resolver
        self.lookup_timeout = lookup_timeout

    async def check(self, subdomain: str, pool_domain: str) -> Reply:
        """Always 200 with `{available, reason?, detail?, fqdn?}` (the 400 is the router's)."""
        sub = subdomain.strip().lower()
        pool = pool_domain.strip().lower()
        if not is_dns_label(sub):
            return Reply(
                200, {"available": False, "reason": "invalid-format", "detail": INVALID_LABEL}
            )
        if not is_domain_name(pool):
            return Reply(
                200, {"available": False, "reason": "invalid-format", "detail": INVALID_POOL}
            )
        fqdn = f"{sub}.{pool}"
        if self.managed.is_managed(pool):
            reply = await self._managed(sub, pool, fqdn)
            route = "managed"
        else:
            reply = await self._byo(fqdn)
            route = "byo"
        log.info(
            "subdomain check",
            fqdn=fqdn,
            route=route,
            available=reply.body.get("available"),
            reason=reply.body.get("reason", ""),
        )
        return reply

    async def _managed(self, sub: str, pool: str, fqdn: str) -> Reply:
        if self.pdm is None:
            if await self.held(pool, sub):
                body = {"available": False, "reason": "reserved", "detail": HELD, "fqdn": fqdn}
                return Reply(200, body)
            return Reply(200, {"available": True, "fqdn": fqdn})
        try:
            verdict = await self.pdm.check(pool, sub)
        except PdmError as exc:
            log.warning("pool-domain-manager check failed", fqdn=fqdn, error=str(exc))
            body = {
                "available": False,
                "reason": "pdm-unavailable",
                "detail": PDM_UNREACHABLE,
                "fqdn": fqdn,
            }
            return Reply(200, body)
        return Reply(200, verdict.to_wire())

    async def _byo(self, fqdn: str) -> Reply:
        try:
            async with asyncio.timeout(self.lookup_timeout):
                addresses = await self.resolver(fqdn)
        except NameNotFound:
            return Reply(200, {"available": True, "fqdn": fqdn})
        except TimeoutError:
            return self._lookup_error(fqdn, "i/o timeout")
        except Exception as exc:
            return self._lookup_error(fqdn, _describe(exc))
        if not addresses:
            return Reply(200, {"available": True, "fqdn": fqdn})
        return Reply(200, {"available": False, "reason": "exists", "detail": EXISTS, "fqdn": fqdn})

    @staticmethod
    def _lookup_error(fqdn: str, why: str) -> Reply:
        detail = f"DNS lookup failed: lookup {fqdn}: {why}"
        return Reply(
            200, {"available": False, "reason": "lookup-error", "detail": detail, "fqdn": fqdn}
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, socket.gaierror) and len(exc.args) > 1:
        return str(exc.args[1])
    return str(exc) or type(exc).__name__
