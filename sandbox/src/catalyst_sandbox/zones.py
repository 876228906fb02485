"""The sandbox's DNS provider: the fake Dynadot, served in-process, zones kept on disk.

`SandboxDns` holds a `FakeDynadot` for the managed pool domains with the sandbox's own
credentials. Its ASGI app is mounted at `/sandbox/dynadot` (so `DYNADOT_API_URL` is
`<api>/sandbox/dynadot/api3.json`); after every request the zones are written to
`dynadot.json` in the sandbox directory and they are loaded back on start.

A zone the sandbox has never saved starts with the apex records a real pool domain has (an
A record and a TXT record for the domain itself): a destroy removes the Sovereign's records
by rewriting the zone without them, which `dns.records.plan_removal` refuses when nothing
else is left (a real pool domain is never empty), so a fresh sandbox must not be empty either.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from starlette.types import ASGIApp

from .fake_dynadot import FakeDynadot, FakeRecord
from .persistence import SandboxFiles
from .routes import PersistAfterRequest

__all__ = ["APEX_RECORDS", "SandboxDns"]

log = structlog.get_logger(__name__)

APEX_RECORDS = (
    FakeRecord("", "a", "198.18.0.1", ""),
    FakeRecord("", "txt", "catalyst-api sandbox pool domain", ""),
)
"""What a fresh sandbox zone holds before any Sovereign (documentation-range address)."""


class SandboxDns:
    """Fake Dynadot zones for `domains`, persisted through `files`."""

    def __init__(self, *, files: SandboxFiles, domains: Iterable[str], key: str, secret: str):
        self.files = files
        self.domains = sorted({d.lower() for d in domains})
        self.fake = FakeDynadot(key=key, secret=secret, domains=self.domains)
        self.app: ASGIApp = PersistAfterRequest(self.fake.app, self.save)

    def load(self) -> None:
        """Put the persisted records back into the zones."""
        raw = self.files.read("dynadot") or {}
        zones = raw.get("zones") or {}
        for domain in self.domains:
            if domain not in zones:
                self.fake.seed(domain, *APEX_RECORDS)
        for domain, records in zones.items():
            if not isinstance(records, list):
                continue
            self.fake.seed(
                domain,
                *(
                    FakeRecord(
                        str(r.get("subdomain", "")),
                        str(r.get("type", "")),
                        str(r.get("value", "")),
                        str(r.get("value2", "")),
                    )
                    for r in records
                    if isinstance(r, dict)
                ),
            )

    def _snapshot(self) -> dict[str, object]:
        zones = {
            domain: [
                {"subdomain": r.subdomain, "type": r.type, "value": r.value, "value2": r.value2}
                for r in self.fake.zone(domain)
            ]
            for domain in self.domains
        }
        return {"zones": zones}

    async def save(self) -> None:
        """Write the zones (and forget the fake's request log, which only tests read)."""
        self.fake.requests.clear()
        try:
            await self.files.awrite("dynadot", self._snapshot())
        except OSError as exc:
            log.warning("sandbox DNS zones not saved", error=str(exc))
