"""pool-domain-manager (PDM) client (spec §7.2, platform §10).

Paths and status mapping are the original's: `check` (≥500 is an error, any other status is
parsed as the verdict), `reserve` (201 ok, 409 conflict), `commit` (200/202 ok, 404 not found),
`release` (200/202 ok, 404 not found), plus the raw registrar-proxy forward (§7.4). The pool
domain is path-escaped like Go's `url.PathEscape`, query values are escaped.

Timeouts: the original's HTTP client has a 15 s timeout and each call a context deadline
(check 5 s, reserve 10 s, commit/release 30 s); the shorter one wins, so commit and release
effectively get 15 s. Errors never include the PDM URL (it may carry Basic-auth userinfo).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from ._http import describe_transport_error, is_transient_transport_error, truncate

__all__ = [
    "CLIENT_TIMEOUT",
    "CheckVerdict",
    "PdmClient",
    "PdmConflict",
    "PdmError",
    "PdmNotFound",
    "PdmReservation",
]

CLIENT_TIMEOUT = 15.0
CHECK_TIMEOUT = 5.0
RESERVE_TIMEOUT = 10.0
COMMIT_TIMEOUT = 30.0
RELEASE_TIMEOUT = 30.0

_PATH_SAFE = "!$&'()*+,;=:@"


class PdmError(Exception):
    """A PDM call failed; `status` is the HTTP status (0 for a transport error)."""

    def __init__(self, message: str, *, status: int = 0, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


class PdmConflict(PdmError):
    """409: the subdomain is reserved or active (reserve), or already active (commit)."""


class PdmNotFound(PdmError):
    """404: no such allocation."""


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    """PDM's availability answer, passed through to the wizard verbatim."""

    available: bool
    reason: str = ""
    detail: str = ""
    fqdn: str = ""

    def to_wire(self) -> dict[str, Any]:
        """`{"available", "reason"?, "detail"?, "fqdn"?}` with empty strings omitted."""
        out: dict[str, Any] = {"available": self.available}
        for key in ("reason", "detail", "fqdn"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class PdmReservation:
    """The 201 body of `reserve`."""

    pool_domain: str
    subdomain: str
    state: str
    reserved_at: str
    expires_at: str
    reservation_token: str
    created_by: str


class PdmClient:
    """One PDM base URL (`POOL_DOMAIN_MANAGER_URL`, trailing `/` trimmed)."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, *, timeout: float = CLIENT_TIMEOUT
    ) -> None:
        self._http = http
        self.base_url = base_url.strip().rstrip("/")
        self._timeout = timeout

    def _pool_url(self, domain: str, action: str) -> str:
        return f"{self.base_url}/api/v1/pool/{quote(domain, safe=_PATH_SAFE)}/{action}"

    def _budget(self, call_timeout: float) -> float:
        return min(self._timeout, call_timeout)

    async def _send(
        self, what: str, method: str, url: str, timeout: float, **kwargs: Any
    ) -> httpx.Response:
        try:
            return await self._http.request(method, url, timeout=self._budget(timeout), **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise PdmError(
                f"pdm {what}: {describe_transport_error(exc)}",
                transient=is_transient_transport_error(exc),
            ) from None

    async def check(self, pool_domain: str, subdomain: str) -> CheckVerdict:
        """`GET /api/v1/pool/{domain}/check?sub=` (5 s)."""
        response = await self._send(
            "/check",
            "GET",
            self._pool_url(pool_domain, "check"),
            CHECK_TIMEOUT,
            params={"sub": subdomain},
        )
        if response.status_code >= 500:
            raise PdmError(
                f"pdm /check status {response.status_code}: {truncate(response.text)}",
                status=response.status_code,
                transient=True,
            )
        try:
            raw = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PdmError(
                "pdm /check: response is not JSON", status=response.status_code
            ) from None
        return _verdict(raw)

    async def reserve(self, pool_domain: str, subdomain: str, created_by: str) -> PdmReservation:
        """`POST /api/v1/pool/{domain}/reserve` (10 s); 201 or `PdmConflict` on 409."""
        response = await self._send(
            "reserve",
            "POST",
            self._pool_url(pool_domain, "reserve"),
            RESERVE_TIMEOUT,
            json={"subdomain": subdomain, "createdBy": created_by},
        )
        status = response.status_code
        if status == 409:
            raise PdmConflict("pdm reserve: subdomain is taken", status=409)
        if status != 201:
            raise PdmError(
                f"pdm reserve status {status}: {truncate(response.text)}",
                status=status,
                transient=status >= 500,
            )
        try:
            raw = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise PdmError("pdm reserve: response is not JSON", status=status) from None
        if not isinstance(raw, dict):
            raise PdmError("pdm reserve: response is not a JSON object", status=status)
        return PdmReservation(
            pool_domain=_text(raw.get("poolDomain")) or pool_domain,
            subdomain=_text(raw.get("subdomain")) or subdomain,
            state=_text(raw.get("state")),
            reserved_at=_text(raw.get("reservedAt")),
            expires_at=_text(raw.get("expiresAt")),
            reservation_token=_text(raw.get("reservationToken")),
            created_by=_text(raw.get("createdBy")),
        )

    async def commit(
        self,
        pool_domain: str,
        *,
        subdomain: str,
        reservation_token: str,
        sovereign_fqdn: str,
        load_balancer_ip: str,
    ) -> int:
        """`POST /api/v1/pool/{domain}/commit`; returns 200 or 202 (202: DNS write pending)."""
        response = await self._send(
            "commit",
            "POST",
            self._pool_url(pool_domain, "commit"),
            COMMIT_TIMEOUT,
            json={
                "subdomain": subdomain,
                "reservationToken": reservation_token,
                "sovereignFQDN": sovereign_fqdn,
                "loadBalancerIP": load_balancer_ip,
            },
        )
        return _ok_or_raise("commit", response)

    async def release(self, pool_domain: str, subdomain: str) -> int:
        """`DELETE /api/v1/pool/{domain}/release`; `PdmNotFound` on 404."""
        response = await self._send(
            "release",
            "DELETE",
            self._pool_url(pool_domain, "release"),
            RELEASE_TIMEOUT,
            content=orjson.dumps({"subdomain": subdomain}),
            headers={"Content-Type": "application/json"},
        )
        return _ok_or_raise("release", response)

    async def forward_registrar(
        self, registrar: str, action: str, body: bytes, *, timeout: float
    ) -> tuple[int, bytes]:
        """POST the raw body to `/api/v1/registrar/{registrar}/{action}`; (status, body).

        `registrar` must already be one of the supported names (no escaping needed).
        """
        response = await self._send(
            f"registrar {action}",
            "POST",
            f"{self.base_url}/api/v1/registrar/{registrar}/{action}",
            timeout,
            content=body,
            headers={"Content-Type": "application/json"},
        )
        return response.status_code, response.content


def _ok_or_raise(what: str, response: httpx.Response) -> int:
    status = response.status_code
    if status in (200, 202):
        return status
    message = f"pdm {what} status {status}: {truncate(response.text)}"
    if status == 404:
        raise PdmNotFound(message, status=404)
    if status == 409:
        raise PdmConflict(message, status=409)
    raise PdmError(message, status=status, transient=status >= 500)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _verdict(raw: Any) -> CheckVerdict:
    """Decode like Go's json into `{available bool, reason, detail, fqdn string}`."""
    if not isinstance(raw, dict):
        raise PdmError("pdm /check: response is not a JSON object")
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.lower()
        if name in ("available", "reason", "detail", "fqdn"):
            fields[name] = value
    available = fields.get("available")
    if available is not None and not isinstance(available, bool):
        raise PdmError("pdm /check: `available` is not a boolean")
    texts = {}
    for name in ("reason", "detail", "fqdn"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise PdmError(f"pdm /check: `{name}` is not a string")
        texts[name] = value or ""
    return CheckVerdict(available=bool(available), **texts)
