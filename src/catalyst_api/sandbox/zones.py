"""The sandbox's DNS provider: the fake Dynadot, served in-process, zones kept on disk.

`SandboxDns` holds a `FakeDynadot` for the managed pool domains with the sandbox's own
credentials. Its ASGI app is mounted at `/sandbox/dynadot` (so `DYNADOT_API_URL` is
`<api>/sandbox/dynadot/api3.json`); after every request the zones are written to
`dynadot.json` in the sandbox directory and they are loaded back on start.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from starlette.types import ASGIApp

from .fake_dynadot import FakeDynadot, FakeRecord
from .persistence import SandboxFiles
from .routes import PersistAfterRequest

__all__ = ["SandboxDns"]

log = structlog.get_logger(__name__)


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
