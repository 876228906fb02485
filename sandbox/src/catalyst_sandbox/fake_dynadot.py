"""A fake Dynadot API3 (`/api3.json`) for tests and the sandbox.

It keeps one zone per domain and implements the two commands catalyst-api uses, with the
semantics the real API has (and that the client relies on):

- `set_dns2` with `add_dns_to_current_setting=yes` (or `1`/`true`) APPENDS the records in the
  request (an identical record is not duplicated); WITHOUT it the zone is REPLACED by exactly the
  records in the request — the wipe a forgotten flag causes, so such a regression shows up.
  Records: `main_record_type{i}`/`main_record{i}`/`main_recordx{i}` (i < 20) for the apex,
  `subdomain{i}`/`sub_record_type{i}`/`sub_record{i}`/`sub_recordx{i}` (i < 100) below it;
  `ttl` sets the zone TTL.
- `get_dns` returns `{"GetDnsResponse": {"ResponseCode": "0", "Status": "success", "GetDns":
  {"NameServerSettings": {"Type": "Dynadot DNS", "MainDomains": [...], "SubDomains": [...],
  "TTL": "..."}}}}`.

Every request must carry the configured `key` and `secret`; an unknown domain or command, a bad
key and a request without records answer with the error envelope (`ResponseCode` `-1`).
`fail_next()` injects faults (error envelope, any HTTP status, non-JSON, delay, or a `success`
answer without doing the work), optionally after applying only the first `apply` records of a
`set_dns2` (a half-applied or silently lossy write). `requests`
records every call's parameters (credentials included — the fake is the other side).

Run it with `async with FakeDynadot(...) as fake:` on the current loop or `with fake:` in a
thread; `fake.api_url` is the full endpoint for `DYNADOT_API_URL`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._loopback import LoopbackFake, LoopbackServer

__all__ = ["DynadotFault", "FakeDynadot", "FakeRecord"]

MAX_MAIN = 20
MAX_SUB = 100
_APPEND_VALUES = {"yes", "1", "true"}

FaultKind = Literal["envelope", "http", "non-json", "delay", "success"]


@dataclass(frozen=True, slots=True)
class FakeRecord:
    """A zone record: `subdomain` "" is the apex; `type` lower-case; `value2` = recordx."""

    subdomain: str
    type: str
    value: str
    value2: str = ""


@dataclass(slots=True)
class DynadotFault:
    """One injected fault, consumed by the next `times` matching calls."""

    kind: FaultKind
    command: str | None = None
    times: int = 1
    status: int = 500
    message: str = "injected failure"
    delay: float = 0.0
    apply: int | None = None


@dataclass(slots=True)
class _Zone:
    records: list[FakeRecord] = field(default_factory=list)
    ttl: str = "300"
    dns_type: str = "Dynadot DNS"


def _envelope(root: str, code: str, status: str, error: str = "") -> dict[str, Any]:
    header: dict[str, Any] = {"ResponseCode": code, "Status": status}
    if error:
        header["Error"] = error
    if root == "SetDns2Response":
        return {root: {"ResponseHeader": header}}
    return {root: header}


class FakeDynadot(LoopbackFake):
    """In-memory Dynadot: zones, credential check, fault injection, request log."""

    def __init__(
        self,
        *,
        key: str = "fake-dynadot-key",
        secret: str = "fake-dynadot-secret",
        domains: Iterable[str] = ("openova.io", "omani.works"),
    ) -> None:
        self.key = key
        self.secret = secret
        self._lock = threading.Lock()
        self._zones: dict[str, _Zone] = {d.lower(): _Zone() for d in domains}
        self._faults: list[DynadotFault] = []
        self.requests: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/api3.json", self._handle, methods=["GET"])])
        self.server = LoopbackServer(self.app, name="fake-dynadot")

    # --- test / sandbox controls -----------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        """The full endpoint (`DYNADOT_API_URL`)."""
        return f"{self.server.url}/api3.json"

    def add_domain(self, domain: str, *, dns_type: str = "Dynadot DNS") -> None:
        with self._lock:
            self._zones[domain.lower()] = _Zone(dns_type=dns_type)

    def seed(self, domain: str, *records: FakeRecord) -> None:
        """Put records into a zone directly (no request recorded)."""
        with self._lock:
            zone = self._zones.setdefault(domain.lower(), _Zone())
            zone.records.extend(records)

    def zone(self, domain: str) -> list[FakeRecord]:
        """The zone's records, in order."""
        with self._lock:
            zone = self._zones.get(domain.lower())
            return list(zone.records) if zone else []

    def fail_next(
        self,
        kind: FaultKind,
        *,
        command: str | None = None,
        times: int = 1,
        status: int = 500,
        message: str = "injected failure",
        delay: float = 0.0,
        apply: int | None = None,
    ) -> None:
        """Make the next `times` calls (of `command`, or any) fail / stall. With `apply=n` a
        `set_dns2` first takes effect with only its first n records, then fails."""
        with self._lock:
            self._faults.append(DynadotFault(kind, command, times, status, message, delay, apply))

    def reset(self) -> None:
        """Empty every zone; forget faults and recorded requests."""
        with self._lock:
            for zone in self._zones.values():
                zone.records.clear()
            self._faults.clear()
            self.requests.clear()

    def calls(self, command: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [r for r in self.requests if command is None or r.get("command") == command]

    # --- running ---------------------------------------------------------------------------

    # --- the API ---------------------------------------------------------------------------

    def _take_fault(self, command: str) -> DynadotFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.command in (None, command) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    async def _handle(self, request: Request) -> Response:
        params = dict(request.query_params)
        command = params.get("command", "")
        with self._lock:
            self.requests.append(params)
        fault = self._take_fault(command)
        root = "SetDns2Response" if command == "set_dns2" else "GetDnsResponse"
        if fault is not None:
            if fault.apply is not None and command == "set_dns2":
                self._apply_partially(params, fault.apply)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.kind == "delay":
                pass
            elif fault.kind == "success":
                return _json(_envelope(root, "0", "success"))
            elif fault.kind == "http":
                return Response(fault.message, status_code=fault.status, media_type="text/plain")
            elif fault.kind == "non-json":
                return Response("<html>" + fault.message + "</html>", media_type="text/html")
            else:
                return _json(_envelope(root, "-1", "error", fault.message))
        if params.get("key") != self.key or params.get("secret") != self.secret:
            return _json(_envelope("Response", "-1", "error", "invalid key or secret"))
        domain = params.get("domain", "").lower()
        with self._lock:
            zone = self._zones.get(domain)
            if zone is None:
                return _json(_envelope(root, "-1", "error", f"domain {domain} not found"))
            if command == "set_dns2":
                return _json(self._set_dns2(zone, params))
            if command == "get_dns":
                return _json(self._get_dns(zone))
        return _json(_envelope("Response", "-1", "error", f"unknown command {command!r}"))

    def _apply_partially(self, params: dict[str, str], count: int) -> None:
        with self._lock:
            zone = self._zones.get(params.get("domain", "").lower())
            if zone is None:
                return
            records = self._parse_records(params)[:count]
            if params.get("add_dns_to_current_setting", "").lower() in _APPEND_VALUES:
                zone.records.extend(r for r in records if r not in zone.records)
            else:
                zone.records = records

    @staticmethod
    def _parse_records(params: dict[str, str]) -> list[FakeRecord]:
        records: list[FakeRecord] = []
        for i in range(MAX_MAIN):
            kind = params.get(f"main_record_type{i}")
            if kind:
                value = params.get(f"main_record{i}", "")
                records.append(
                    FakeRecord("", kind.lower(), value, params.get(f"main_recordx{i}", ""))
                )
        for i in range(MAX_SUB):
            host = params.get(f"subdomain{i}")
            kind = params.get(f"sub_record_type{i}")
            if host and kind:
                value = params.get(f"sub_record{i}", "")
                records.append(
                    FakeRecord(host.lower(), kind.lower(), value, params.get(f"sub_recordx{i}", ""))
                )
        return records

    @classmethod
    def _set_dns2(cls, zone: _Zone, params: dict[str, str]) -> dict[str, Any]:
        records = cls._parse_records(params)
        if not records:
            return _envelope("SetDns2Response", "-1", "error", "no dns record in the request")
        if any(not r.value for r in records):
            return _envelope("SetDns2Response", "-1", "error", "record value is required")
        if params.get("add_dns_to_current_setting", "").lower() in _APPEND_VALUES:
            for record in records:
                if record not in zone.records:
                    zone.records.append(record)
        else:
            zone.records = records  # the zone wipe: only the request's records remain
        zone.dns_type = "Dynadot DNS"
        if params.get("ttl"):
            zone.ttl = params["ttl"]
        return _envelope("SetDns2Response", "0", "success")

    @staticmethod
    def _get_dns(zone: _Zone) -> dict[str, Any]:
        def entry(record: FakeRecord) -> dict[str, str]:
            out = {"RecordType": record.type, "Value": record.value}
            if record.value2:
                out["Value2"] = record.value2
            return out

        settings = {
            "Type": zone.dns_type,
            "MainDomains": [entry(r) for r in zone.records if not r.subdomain],
            "SubDomains": [
                {"Subhost": r.subdomain, **entry(r)} for r in zone.records if r.subdomain
            ],
            "TTL": zone.ttl,
        }
        return {
            "GetDnsResponse": {
                "ResponseCode": "0",
                "Status": "success",
                "GetDns": {"NameServerSettings": settings},
            }
        }


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")
