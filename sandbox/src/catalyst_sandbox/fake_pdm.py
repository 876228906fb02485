"""A fake pool-domain-manager (platform §10) for tests and the sandbox.

Routes: `GET /healthz`, `GET /api/v1/reserved`, `GET /api/v1/pool/{domain}/check?sub=`,
`POST .../reserve`, `POST .../commit`, `DELETE .../release`, `GET .../list`,
`POST /api/v1/registrar/{registrar}/validate` and `.../set-ns`.

Like the real one it owns uniqueness: one allocation per (pool, subdomain), state `reserved` →
`active`; a reservation expires after `reservation_ttl` seconds unless committed (then check
reports it free again and commit answers 410). Commit checks the reservation token (403), and
answers 404 / 409 (already active) / 410 (expired); `commit_status=202` imitates "DB ok, DNS
retry". Pools outside `domains` are `unsupported-pool`. A registrar token is valid unless it
starts with `bad`.

`requests` records every call (method, path, route name, query, raw body); `fail_next(route,
...)` answers the next matching calls with a chosen status/body, or delays them.

One file on purpose (longer than most): the whole fake PDM reads top to bottom in one place.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._loopback import LoopbackFake, LoopbackServer

__all__ = ["Allocation", "FakePdm", "PdmFault", "RecordedRequest"]

SUPPORTED_REGISTRARS = ("cloudflare", "namecheap", "godaddy", "ovh", "dynadot")


@dataclass(slots=True)
class Allocation:
    pool_domain: str
    subdomain: str
    state: str
    reserved_at: float
    expires_at: float
    reservation_token: str
    created_by: str
    sovereign_fqdn: str = ""
    load_balancer_ip: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "poolDomain": self.pool_domain,
            "subdomain": self.subdomain,
            "state": self.state,
            "reservedAt": _iso(self.reserved_at),
            "expiresAt": _iso(self.expires_at),
            "reservationToken": self.reservation_token,
            "createdBy": self.created_by,
            "sovereignFQDN": self.sovereign_fqdn,
            "loadBalancerIP": self.load_balancer_ip,
        }


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    route: str
    query: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass(slots=True)
class PdmFault:
    route: str | None
    times: int = 1
    status: int = 500
    body: bytes = b'{"error":"injected"}'
    delay: float = 0.0


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _label_ok(sub: str) -> bool:
    return (
        0 < len(sub) <= 63
        and sub.isascii()
        and sub[0].isalpha()
        and sub[-1] != "-"
        and all(c.islower() or c.isdigit() or c == "-" for c in sub)
    )


@dataclass(slots=True)
class _State:
    allocations: dict[tuple[str, str], Allocation] = field(default_factory=dict)
    expired: dict[tuple[str, str], Allocation] = field(default_factory=dict)


Handler = Callable[[Request, bytes], Response]


class FakePdm(LoopbackFake):
    """In-memory PDM with a uniqueness constraint, TTL expiry, faults and a request log."""

    def __init__(
        self,
        *,
        domains: Iterable[str] = ("openova.io", "omani.works"),
        reservation_ttl: float = 600.0,
        reserved_names: Iterable[str] = ("www", "mail", "pool"),
        commit_status: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.domains = {d.lower() for d in domains}
        self.reservation_ttl = reservation_ttl
        self.reserved_names = set(reserved_names)
        self.commit_status = commit_status
        self.clock = clock
        self._lock = threading.Lock()
        self._state = _State()
        self._faults: list[PdmFault] = []
        self.requests: list[RecordedRequest] = []
        pool = "/api/v1/pool/{domain}"
        routes = [
            Route("/healthz", self._wrap("healthz", self._healthz), methods=["GET"]),
            Route("/api/v1/reserved", self._wrap("reserved", self._reserved), methods=["GET"]),
            Route(f"{pool}/check", self._wrap("check", self._check), methods=["GET"]),
            Route(f"{pool}/reserve", self._wrap("reserve", self._reserve), methods=["POST"]),
            Route(f"{pool}/commit", self._wrap("commit", self._commit), methods=["POST"]),
            Route(f"{pool}/release", self._wrap("release", self._release), methods=["DELETE"]),
            Route(f"{pool}/list", self._wrap("list", self._list), methods=["GET"]),
            Route(
                "/api/v1/registrar/{registrar}/validate",
                self._wrap("validate", self._validate),
                methods=["POST"],
            ),
            Route(
                "/api/v1/registrar/{registrar}/set-ns",
                self._wrap("set-ns", self._set_ns),
                methods=["POST"],
            ),
        ]
        self.app = Starlette(routes=routes)
        self.server = LoopbackServer(self.app, name="fake-pdm")

    # --- controls ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL for `POOL_DOMAIN_MANAGER_URL`."""
        return self.server.url

    def fail_next(
        self,
        route: str | None,
        *,
        status: int = 500,
        body: bytes | dict[str, Any] = b'{"error":"injected"}',
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` calls of `route` (e.g. `reserve`; None = any) with
        `status`/`body` after `delay` seconds; `status=0` only delays."""
        raw = orjson.dumps(body) if isinstance(body, dict) else body
        with self._lock:
            self._faults.append(PdmFault(route, times, status, raw, delay))

    def reset(self) -> None:
        """Forget allocations, faults and recorded requests."""
        with self._lock:
            self._state = _State()
            self._faults.clear()
            self.requests.clear()

    def calls(self, route: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if route is None or r.route == route]

    def allocation(self, pool: str, sub: str) -> Allocation | None:
        with self._lock:
            self._expire()
            return self._state.allocations.get((pool.lower(), sub.lower()))

    def allocations(self) -> list[Allocation]:
        with self._lock:
            self._expire()
            return list(self._state.allocations.values())

    # --- running -----------------------------------------------------------------------------

    # --- plumbing ----------------------------------------------------------------------------

    def _wrap(self, route: str, handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                self.requests.append(
                    RecordedRequest(
                        request.method,
                        request.url.path,
                        route,
                        dict(request.query_params),
                        body,
                    )
                )
                fault = self._take_fault(route)
            if fault is not None:
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status:
                    return Response(
                        fault.body, status_code=fault.status, media_type="application/json"
                    )
            with self._lock:
                self._expire()
                return handler(request, body)

        return endpoint

    def _take_fault(self, route: str) -> PdmFault | None:
        for fault in self._faults:
            if fault.route in (None, route) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _expire(self) -> None:
        now = self.clock()
        for key, alloc in list(self._state.allocations.items()):
            if alloc.state == "reserved" and alloc.expires_at <= now:
                alloc.state = "expired"
                del self._state.allocations[key]
                self._state.expired[key] = alloc

    @staticmethod
    def _body(raw: bytes) -> dict[str, Any] | None:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    # --- handlers ----------------------------------------------------------------------------

    def _healthz(self, request: Request, raw: bytes) -> Response:
        return _json({"status": "ok", "managedDomains": sorted(self.domains)})

    def _reserved(self, request: Request, raw: bytes) -> Response:
        return _json({"reserved": sorted(self.reserved_names)})

    def _check(self, request: Request, raw: bytes) -> Response:
        pool = request.path_params["domain"].lower()
        sub = request.query_params.get("sub", "").strip().lower()
        fqdn = f"{sub}.{pool}"
        if pool not in self.domains:
            return _json(
                {
                    "available": False,
                    "reason": "unsupported-pool",
                    "detail": f"{pool} is not a managed pool domain",
                    "fqdn": fqdn,
                }
            )
        if sub in self.reserved_names:
            return _json(
                {
                    "available": False,
                    "reason": "reserved",
                    "detail": "this name is reserved by the platform",
                    "fqdn": fqdn,
                }
            )
        alloc = self._state.allocations.get((pool, sub))
        if alloc is not None:
            reason = "active-state" if alloc.state == "active" else "reserved-state"
            return _json(
                {
                    "available": False,
                    "reason": reason,
                    "detail": f"{fqdn} is {alloc.state}",
                    "fqdn": fqdn,
                }
            )
        return _json({"available": True, "fqdn": fqdn})

    def _reserve(self, request: Request, raw: bytes) -> Response:
        pool = request.path_params["domain"].lower()
        body = self._body(raw)
        if body is None or not isinstance(body.get("subdomain"), str):
            return _json({"error": "invalid-body"}, 422)
        sub = body["subdomain"].strip().lower()
        if pool not in self.domains:
            return _json({"error": "unsupported-pool"}, 422)
        if not _label_ok(sub) or sub in self.reserved_names:
            return _json({"error": "invalid-subdomain"}, 422)
        if (pool, sub) in self._state.allocations:
            return _json({"error": "conflict", "detail": f"{sub}.{pool} is taken"}, 409)
        now = self.clock()
        alloc = Allocation(
            pool_domain=pool,
            subdomain=sub,
            state="reserved",
            reserved_at=now,
            expires_at=now + self.reservation_ttl,
            reservation_token=str(uuid.uuid4()),
            created_by=str(body.get("createdBy") or ""),
        )
        self._state.allocations[(pool, sub)] = alloc
        self._state.expired.pop((pool, sub), None)
        return _json(alloc.to_wire(), 201)

    def _commit(self, request: Request, raw: bytes) -> Response:
        pool = request.path_params["domain"].lower()
        body = self._body(raw)
        if body is None:
            return _json({"error": "invalid-body"}, 422)
        sub = str(body.get("subdomain") or "").strip().lower()
        alloc = self._state.allocations.get((pool, sub))
        if alloc is None:
            if (pool, sub) in self._state.expired:
                return _json({"error": "reservation-expired"}, 410)
            return _json({"error": "not-found"}, 404)
        if body.get("reservationToken") != alloc.reservation_token:
            return _json({"error": "token-mismatch"}, 403)
        if alloc.state == "active":
            return _json({"error": "already-active"}, 409)
        alloc.state = "active"
        alloc.sovereign_fqdn = str(body.get("sovereignFQDN") or "")
        alloc.load_balancer_ip = str(body.get("loadBalancerIP") or "")
        return _json(alloc.to_wire(), self.commit_status)

    def _release(self, request: Request, raw: bytes) -> Response:
        pool = request.path_params["domain"].lower()
        body = self._body(raw)
        if body is None:
            return _json({"error": "invalid-body"}, 422)
        sub = str(body.get("subdomain") or "").strip().lower()
        alloc = self._state.allocations.pop((pool, sub), None)
        if alloc is None:
            return _json({"error": "not-found"}, 404)
        return _json({"released": True, "poolDomain": pool, "subdomain": sub})

    def _list(self, request: Request, raw: bytes) -> Response:
        pool = request.path_params["domain"].lower()
        items = [a.to_wire() for (p, _), a in self._state.allocations.items() if p == pool]
        return _json({"allocations": items})

    def _validate(self, request: Request, raw: bytes) -> Response:
        registrar = request.path_params["registrar"]
        if registrar not in SUPPORTED_REGISTRARS:
            return _json({"error": "unsupported-registrar"}, 404)
        body = self._body(raw)
        if body is None:
            return _json({"error": "invalid-body"}, 400)
        domain = str(body.get("domain") or "")
        token = str(body.get("token") or "")
        valid = bool(token) and not token.startswith("bad")
        return _json({"valid": valid, "registrar": registrar, "domain": domain})

    def _set_ns(self, request: Request, raw: bytes) -> Response:
        registrar = request.path_params["registrar"]
        body = self._body(raw)
        if body is None:
            return _json({"error": "invalid-body"}, 400)
        nameservers = body.get("nameservers")
        if not isinstance(nameservers, list) or not nameservers:
            return _json({"error": "missing-nameservers"}, 422)
        return _json(
            {
                "success": True,
                "registrar": registrar,
                "domain": str(body.get("domain") or ""),
                "nameservers": nameservers,
                "propagation": "up to 48h",
            }
        )
