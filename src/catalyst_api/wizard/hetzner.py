"""`POST /api/v1/credentials/validate` (spec §3.3): is this Hetzner Cloud token usable?

A read-only `GET {CATALYST_HETZNER_API_URL}/servers` with the token as bearer (10 s). The token
is never logged, stored or echoed. A token that cannot even be sent as an HTTP header (control
or non-ASCII characters) is answered as rejected without a call: no Hetzner token looks like
that, and the alternative would be the misleading "could not reach Hetzner API".
"""

from __future__ import annotations

import httpx
import structlog

from .models import Reply

__all__ = ["MIN_TOKEN_LENGTH", "HetznerTokenCheck"]

log = structlog.get_logger(__name__)

MIN_TOKEN_LENGTH = 64
TIMEOUT = 10.0

TOO_SHORT = "token too short — Hetzner API tokens are at least 64 characters"
CONFIRMED = "read/write access confirmed"
REJECTED = "token rejected — ensure it has Read & Write permissions"
UNREACHABLE = "could not reach Hetzner API — check network connectivity"


def _sendable(token: str) -> bool:
    return token.isascii() and token.isprintable()


class HetznerTokenCheck:
    """Checks tokens against one Hetzner Cloud API base URL."""

    def __init__(self, http: httpx.AsyncClient, *, api_url: str, timeout: float = TIMEOUT) -> None:
        self._http = http
        self._servers_url = api_url.rstrip("/") + "/servers"
        self._timeout = timeout

    async def validate(self, token: str) -> Reply:
        """400 too short; 200 valid / rejected; 503 when Hetzner cannot be asked."""
        token = token.strip()
        if len(token) < MIN_TOKEN_LENGTH:
            return Reply(400, {"valid": False, "message": TOO_SHORT})
        if not _sendable(token):
            log.info("hetzner token check", outcome="rejected", reason="unsendable-characters")
            return Reply(200, {"valid": False, "message": REJECTED})
        try:
            response = await self._http.get(
                self._servers_url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            log.warning("hetzner token check failed", error=type(exc).__name__)
            return Reply(503, {"valid": False, "message": UNREACHABLE})
        status = response.status_code
        if status == 200:
            log.info("hetzner token check", outcome="valid")
            return Reply(200, {"valid": True, "message": CONFIRMED})
        if status in (401, 403):
            log.info("hetzner token check", outcome="rejected", status=status)
            return Reply(200, {"valid": False, "message": REJECTED})
        log.warning("hetzner token check failed", status=status)
        return Reply(503, {"valid": False, "message": UNREACHABLE})
