"""`POST /api/v1/registrar/{registrar}/validate|set-ns` (spec §7.4): the BYO registrar proxy.

The registrar name is checked (lower-cased, trimmed, one of five) before the body is read; the
body is capped at 16 KiB; `validate` also insists on `{domain, token}`; then the raw bytes go to
pool-domain-manager and its status and body come back verbatim. Only registrar, domain and
status are logged — never the token or the body.

Decision (embedded mode, `POOL_DOMAIN_MANAGER_URL` unset): there is no PDM to relay to, so a
well-formed request is answered 503 `{"error": "pdm-not-configured", ...}` (a 502 would claim an
upstream answered badly; here there is no upstream at all). Bad input still gets its 4xx first.
"""

from __future__ import annotations

import structlog

from ..dns import PdmClient, PdmError
from ..errors import (
    BadGateway,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from ._decode import BodyDecodeError, decode_string_fields
from .models import Relay

__all__ = ["MAX_BODY_BYTES", "SUPPORTED_REGISTRARS", "RegistrarProxy"]

log = structlog.get_logger(__name__)

SUPPORTED_REGISTRARS = ("cloudflare", "namecheap", "godaddy", "ovh", "dynadot")
MAX_BODY_BYTES = 16384
VALIDATE_TIMEOUT = 15.0
SET_NS_TIMEOUT = 30.0


class RegistrarProxy:
    """Relays BYO registrar calls to PDM (`pdm=None`: embedded mode, nothing to relay to)."""

    def __init__(self, pdm: PdmClient | None) -> None:
        self.pdm = pdm

    @staticmethod
    def resolve(registrar: str) -> str:
        """The supported registrar name, or 404 `unsupported-registrar`."""
        name = registrar.strip().lower()
        if name not in SUPPORTED_REGISTRARS:
            raise NotFound("unsupported-registrar", "registrar adapter not available")
        return name

    @staticmethod
    def too_large(action: str) -> InvalidRequest:
        """400 for a body over 16 KiB (`validation` / `set-ns` wording of the original)."""
        what = "validation" if action == "validate" else "set-ns"
        return InvalidRequest("request-too-large", f"{what} request body must be under 16KB")

    async def validate(self, registrar: str, body: bytes) -> Relay:
        """Shape-check `{domain, token}`, then relay to PDM (15 s)."""
        try:
            fields = decode_string_fields(body, ("domain", "token"))
        except BodyDecodeError:
            raise InvalidRequest(
                "invalid-body", "request body must be JSON {domain, token}"
            ) from None
        if not fields["domain"].strip():
            raise Unprocessable("missing-domain", "domain is required")
        if fields["token"] == "":
            raise Unprocessable("missing-token", "registrar API credentials are required")
        return await self._relay(registrar, "validate", body, fields["domain"].strip())

    async def set_ns(self, registrar: str, body: bytes) -> Relay:
        """Relay as-is (no shape validation) to PDM (30 s)."""
        try:
            domain = decode_string_fields(body, ("domain",))["domain"].strip()
        except BodyDecodeError:
            domain = ""
        return await self._relay(registrar, "set-ns", body, domain)

    async def _relay(self, registrar: str, action: str, body: bytes, domain: str) -> Relay:
        domain = domain[:253]
        if self.pdm is None:
            log.info(
                "registrar proxy",
                registrar=registrar,
                action=action,
                domain=domain,
                outcome="pdm-not-configured",
            )
            raise ServiceUnavailable(
                "pdm-not-configured",
                "BYO registrar checks are answered by pool-domain-manager, which this "
                "catalyst-api is not configured to use (POOL_DOMAIN_MANAGER_URL is unset)",
            )
        timeout = VALIDATE_TIMEOUT if action == "validate" else SET_NS_TIMEOUT
        try:
            status, payload = await self.pdm.forward_registrar(
                registrar, action, body, timeout=timeout
            )
        except PdmError as exc:
            log.warning(
                "registrar proxy",
                registrar=registrar,
                action=action,
                domain=domain,
                outcome="pdm-unreachable",
                error=str(exc),
            )
            raise BadGateway(
                "pdm-unreachable", "pool-domain-manager is temporarily unreachable"
            ) from None
        log.info(
            "registrar proxy", registrar=registrar, action=action, domain=domain, status=status
        )
        return Relay(status, payload)
