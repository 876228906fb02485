"""One entry point: the principal behind a request's credentials, from whichever source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ..config import Settings
from .oidc import OidcVerifier, TokenRejected
from .principal import Principal
from .proxy import TrustedProxy
from .tokens import TokenFile

__all__ = ["Authenticator", "Credentials", "InvalidCredential", "build_authenticator"]


class InvalidCredential(Exception):
    """A credential was presented and is not valid (unknown token, bad JWT)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request carries: its bearer (`Authorization` or, on SSE routes,
    `?access_token=`), the client address and a header reader (for the trusted proxy)."""

    bearer: str | None
    client_host: str | None
    header: Callable[[str], str | None]


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class Authenticator:
    """Tokens file, OIDC and trusted proxy, each optional. A bearer is checked against the
    tokens (or OIDC when it is a JWT) and never falls through to the proxy headers."""

    def __init__(
        self,
        *,
        tokens: TokenFile | None = None,
        oidc: OidcVerifier | None = None,
        proxy: TrustedProxy | None = None,
    ) -> None:
        self.tokens = tokens
        self.oidc = oidc
        self.proxy = proxy

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        """The principal, None when no credential was presented; `InvalidCredential` when
        one was and it is not valid."""
        bearer = credentials.bearer
        if bearer:
            if self.oidc is not None and _looks_like_jwt(bearer):
                try:
                    return await self.oidc.verify(bearer)
                except TokenRejected as exc:
                    raise InvalidCredential(str(exc)) from None
            principal = self.tokens.lookup(bearer) if self.tokens is not None else None
            if principal is None:
                raise InvalidCredential("unknown token")
            return principal
        if self.proxy is not None:
            return self.proxy.principal(credentials.client_host, credentials.header)
        return None


def bearer_of(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (case-insensitive scheme)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def build_authenticator(settings: Settings, http: httpx.AsyncClient) -> Authenticator | None:
    """The authenticator of `CATALYST_AUTH_MODE=required`; None in `open` mode."""
    if settings.auth_mode != "required":
        return None
    tokens = TokenFile(settings.auth_tokens_file) if settings.auth_tokens_file else None
    oidc = (
        OidcVerifier(
            issuer=settings.auth_oidc_issuer,
            audience=settings.auth_oidc_audience.strip(),
            roles_claim=settings.auth_oidc_roles_claim.strip() or "groups",
            http=http,
        )
        if settings.auth_oidc_issuer
        else None
    )
    proxy = (
        TrustedProxy(
            cidrs=settings.auth_trusted_proxies,
            user_header=settings.auth_proxy_user_header.strip() or settings.k8scache_user_header,
            groups_header=settings.auth_proxy_groups_header,
        )
        if settings.auth_trusted_proxies.strip()
        else None
    )
    return Authenticator(tokens=tokens, oidc=oidc, proxy=proxy)
