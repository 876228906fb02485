"""`WizardService`: the rules behind the wizard helper endpoints (spec §3.3–3.5, §7.4).

Routers hand it request bytes and map its `Reply` / `Relay` / `CatalystError` to responses.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from ..config import Settings
from ..dns import ManagedDomains, PdmClient
from ..errors import InternalError, InvalidBody, InvalidRequest
from ._decode import BodyDecodeError, FieldTypeError, decode_string_fields
from .hetzner import HetznerTokenCheck
from .models import Relay, Reply
from .registrar import RegistrarProxy
from .sshkeys import comment_for, generate_keypair
from .subdomains import HeldCheck, Resolver, SubdomainChecker, system_resolver

__all__ = ["SMALL_BODY_MAX_BYTES", "InvalidCredentialsBody", "WizardService"]

log = structlog.get_logger(__name__)

SMALL_BODY_MAX_BYTES = 64 << 10


class InvalidCredentialsBody(InvalidRequest):
    """The original's `http.Error(w, "invalid request body", 400)`: text/plain."""

    content_type = "text/plain; charset=utf-8"

    def __init__(self) -> None:
        super().__init__("invalid-request-body", "invalid request body")

    def text(self) -> str:
        return "invalid request body\n"


def invalid_subdomain_body() -> InvalidRequest:
    """400 for a subdomain-check body that is not JSON (or too large to be one)."""
    return InvalidRequest(
        "invalid-format",
        body={
            "available": False,
            "reason": "invalid-format",
            "detail": "request body could not be parsed as JSON",
        },
    )


class WizardService:
    """Credential check, subdomain availability, SSH keys and the registrar proxy."""

    def __init__(
        self,
        *,
        settings: Settings,
        http: httpx.AsyncClient,
        managed_domains: ManagedDomains,
        pool_subdomain_held: HeldCheck,
        resolver: Resolver = system_resolver,
    ) -> None:
        pdm = (
            PdmClient(http, settings.pool_domain_manager_url)
            if settings.pool_domain_manager_url
            else None
        )
        self.credentials = HetznerTokenCheck(http, api_url=settings.hetzner_api_url)
        self.subdomains = SubdomainChecker(
            managed=managed_domains, pdm=pdm, held=pool_subdomain_held, resolver=resolver
        )
        self.registrar = RegistrarProxy(pdm)

    async def validate_credentials(self, body: bytes) -> Reply:
        """§3.3; an undecodable body is `InvalidCredentialsBody` (400 text/plain)."""
        try:
            fields = decode_string_fields(body, ("token", "provider"))
        except BodyDecodeError:
            raise InvalidCredentialsBody() from None
        return await self.credentials.validate(fields["token"])

    async def check_subdomain(self, body: bytes) -> Reply:
        """§3.4; an undecodable body is 400 `invalid-format`."""
        try:
            fields = decode_string_fields(body, ("subdomain", "poolDomain"))
        except BodyDecodeError:
            raise invalid_subdomain_body() from None
        return await self.subdomains.check(fields["subdomain"], fields["poolDomain"])

    def generate_ssh_key(self, body: bytes) -> Reply:
        """§3.5; the optional `{"fqdn"}` only sets the comment, garbage counts as absent.

        Issue 10: a JSON object whose `fqdn` is not a string is 400 `invalid request body: …`
        like every other mistyped body; a body that is not a JSON object stays "no fqdn".
        """
        fqdn = ""
        if body:
            try:
                fqdn = decode_string_fields(body, ("fqdn",))["fqdn"]
            except FieldTypeError as exc:
                raise InvalidBody(str(exc)) from None
            except BodyDecodeError:
                fqdn = ""
        try:
            pair = generate_keypair(comment_for(fqdn))
        except Exception:
            log.exception("ssh keypair generation failed")
            raise InternalError(
                "keygen-failed", body={"error": "could not generate Ed25519 keypair"}
            ) from None
        log.info("ssh keypair generated", fingerprint=pair.fingerprint)
        wire: dict[str, Any] = pair.to_wire()
        return Reply(200, wire)

    async def registrar_validate(self, registrar: str, body: bytes) -> Relay:
        return await self.registrar.validate(registrar, body)

    async def registrar_set_ns(self, registrar: str, body: bytes) -> Relay:
        return await self.registrar.set_ns(registrar, body)
