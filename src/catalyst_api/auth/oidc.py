"""OIDC bearer tokens: discovery, a cached JWKS that follows key rotation, PyJWT verification.

The issuer's `/.well-known/openid-configuration` names the JWKS; the key set is cached for
`JWKS_TTL` and fetched again when a token names a key id it does not hold (key rotation), at
most `REFETCH_BURST` times per `REFETCH_WINDOW` so forged key ids cannot hammer the issuer.
Only asymmetric algorithms are accepted; `iss`, `aud`, `exp` are required, `nbf` is checked
when present, all with `LEEWAY` seconds of clock skew.

A verified token is remembered (by its SHA-256, at most `VERIFIED_MAX` of them) for
`VERIFIED_TTL` seconds, never past its `exp`, and forgotten whenever the key set changes: a
signature check costs more than the rest of a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import structlog

from .principal import Principal, role_from_names

__all__ = ["OidcVerifier", "TokenRejected"]

log = structlog.get_logger(__name__)

LEEWAY = 30
JWKS_TTL = 3600.0
REFETCH_WINDOW = 10.0
REFETCH_BURST = 3
VERIFIED_TTL = 60.0
VERIFIED_MAX = 4096
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class TokenRejected(Exception):
    """The JWT is not acceptable; the message says why (never the token)."""


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class OidcVerifier:
    """Verifies JWTs of one issuer for one audience."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        roles_claim: str,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.roles_claim = roles_claim
        self._http = http
        self._clock = clock
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._refetches: deque[float] = deque()
        self._lock = asyncio.Lock()
        # sha256(token) → (principal, remembered until (monotonic), exp (epoch seconds))
        self._verified: OrderedDict[bytes, tuple[Principal, float, float]] = OrderedDict()

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, timeout=10.0)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc: fetch failed", url=url, error=str(exc))
            raise TokenRejected("the issuer's keys could not be fetched") from None
        if not isinstance(body, dict):
            raise TokenRejected("the issuer answered an unexpected document")
        return body

    async def _fetch_keys(self) -> None:
        if self._jwks_uri is None:
            discovery = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            uri = discovery.get("jwks_uri")
            if not isinstance(uri, str) or not uri:
                raise TokenRejected("the issuer's discovery document names no jwks_uri")
            self._jwks_uri = uri
        jwks = await self._get_json(self._jwks_uri)
        keys: dict[str, jwt.PyJWK] = {}
        for raw in jwks.get("keys", []):
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK.from_dict(raw)
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                continue
            keys[str(raw.get("kid", ""))] = key
        self._keys = keys
        self._verified.clear()
        self._fetched_at = self._clock()
        log.info("oidc: signing keys loaded", issuer=self.issuer, keys=len(keys))

    def _may_refetch(self) -> bool:
        now = self._clock()
        while self._refetches and now - self._refetches[0] > REFETCH_WINDOW:
            self._refetches.popleft()
        return len(self._refetches) < REFETCH_BURST

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            stale = self._fetched_at is None or self._clock() - self._fetched_at > JWKS_TTL
            if stale or (kid not in self._keys and self._may_refetch()):
                self._refetches.append(self._clock())
                await self._fetch_keys()
            key = self._keys.get(kid)
        if key is None:
            raise TokenRejected("the token's signing key is not one of the issuer's")
        return key

    def _remembered(self, digest: bytes) -> Principal | None:
        hit = self._verified.get(digest)
        if hit is None:
            return None
        principal, until, exp = hit
        if until < self._clock() or time.time() > exp + LEEWAY:
            del self._verified[digest]
            return None
        self._verified.move_to_end(digest)
        return principal

    def _remember(self, digest: bytes, principal: Principal, exp: Any) -> None:
        if not isinstance(exp, int | float):
            return
        self._verified[digest] = (principal, self._clock() + VERIFIED_TTL, float(exp))
        while len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; `TokenRejected` otherwise."""
        digest = hashlib.sha256(token.encode()).digest()
        known = self._remembered(digest)
        if known is not None:
            return known
        principal, exp = await self._verify(token)
        self._remember(digest, principal, exp)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("not a JWT") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRejected(f"algorithm {alg!r} is not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token: {type(exc).__name__}") from None
        name = claims.get("preferred_username") or claims.get("sub")
        if not isinstance(name, str) or not name.strip():
            raise TokenRejected("the token names no subject")
        role = role_from_names(_names(_claim(claims, self.roles_claim)))
        return Principal(name.strip(), role, "oidc"), claims.get("exp")
