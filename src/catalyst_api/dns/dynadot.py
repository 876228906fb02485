"""Dynadot API3 client (spec §7.3): `set_dns2` writes, `get_dns` reads.

Every write that adds records carries `add_dns_to_current_setting=yes`; without it Dynadot
replaces the whole zone. The only call that omits it is `replace_zone`, which the embedded pool
backend uses after `records.plan_removal` has proven the rewrite keeps every unrelated record.

Credentials travel as query parameters (that is Dynadot's API), so nothing here ever logs or
formats a request URL: errors are built from the status, the command and the scrubbed response
text. Timeouts, connection errors, 429 and 5xx answers are retried with exponential back-off
(at most `Backoff.attempts` tries); an error envelope, another HTTP status or a non-JSON body
fails at once with the registrar's message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import orjson
import structlog
from pydantic import SecretStr

from ._http import (
    Backoff,
    RetryHook,
    describe_transport_error,
    is_transient_transport_error,
    scrub,
    truncate,
)
from .records import DEFAULT_TTL, DnsRecord, Zone

__all__ = ["DynadotClient", "DynadotError"]

log = structlog.get_logger(__name__)

_KNOWN_RECORD_KEYS = frozenset({"Subhost", "RecordType", "Value", "Value2"})


class DynadotError(Exception):
    """A Dynadot call failed. The message is safe to show (no credentials, no URL)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class DynadotClient:
    """Talks to one Dynadot API3 endpoint (`DYNADOT_API_URL`, the full `.../api3.json` URL)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        key: SecretStr,
        secret: SecretStr,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._http = http
        self._api_url = api_url
        self._key = key
        self._secret = secret
        self._timeout = timeout
        self._backoff = backoff or Backoff()

    def has_credentials(self) -> bool:
        return bool(self._key.get_secret_value() and self._secret.get_secret_value())

    # --- commands --------------------------------------------------------------------------

    async def add_record(
        self,
        domain: str,
        record: DnsRecord,
        *,
        ttl: int | None = DEFAULT_TTL,
        on_retry: RetryHook | None = None,
    ) -> None:
        """Append one record (`set_dns2`, `add_dns_to_current_setting=yes`).

        `recordx` is the record's `value2`, else the TTL as the original client sent it
        (`ttl=None`: no `recordx`, to put back a record exactly as `get_dns` listed it).
        """
        extra = record.value2 or ("" if ttl is None else str(ttl))
        params: dict[str, str] = {"domain": domain, "add_dns_to_current_setting": "yes"}
        if record.is_apex:
            params.update(main_record_type0=record.type, main_record0=record.value)
            if extra:
                params["main_recordx0"] = extra
        else:
            params.update(
                subdomain0=record.subdomain, sub_record_type0=record.type, sub_record0=record.value
            )
            if extra:
                params["sub_recordx0"] = extra
        await self._call("set_dns2", params, "SetDns2Response", on_retry)

    async def get_zone(self, domain: str, *, on_retry: RetryHook | None = None) -> Zone:
        """Read the zone's records (`get_dns`)."""
        body = await self._call("get_dns", {"domain": domain}, "GetDnsResponse", on_retry)
        return _parse_zone(domain, body.get("GetDnsResponse"))

    async def replace_zone(
        self,
        domain: str,
        records: Sequence[DnsRecord],
        *,
        ttl: str = "",
        on_retry: RetryHook | None = None,
    ) -> None:
        """Replace the whole zone with `records` (`set_dns2` WITHOUT the append flag).

        Only for a rewrite planned by `records.plan_removal`; never call it with a partial set.
        """
        if not records:
            raise DynadotError("refusing to send an empty zone to Dynadot")
        params: dict[str, str] = {"domain": domain}
        main_i = sub_i = 0
        for record in records:
            if record.is_apex:
                params[f"main_record_type{main_i}"] = record.type
                params[f"main_record{main_i}"] = record.value
                if record.value2:
                    params[f"main_recordx{main_i}"] = record.value2
                main_i += 1
            else:
                params[f"subdomain{sub_i}"] = record.subdomain
                params[f"sub_record_type{sub_i}"] = record.type
                params[f"sub_record{sub_i}"] = record.value
                if record.value2:
                    params[f"sub_recordx{sub_i}"] = record.value2
                sub_i += 1
        if ttl:
            params["ttl"] = ttl
        await self._call("set_dns2", params, "SetDns2Response", on_retry)

    # --- transport -------------------------------------------------------------------------

    def _secrets(self) -> Iterable[str]:
        return (self._key.get_secret_value(), self._secret.get_secret_value())

    async def _call(
        self,
        command: str,
        params: dict[str, str],
        response_key: str,
        on_retry: RetryHook | None,
    ) -> dict[str, Any]:
        if not self.has_credentials():
            raise DynadotError("DYNADOT_API_KEY and DYNADOT_API_SECRET must be set")
        query = {
            "key": self._key.get_secret_value(),
            "secret": self._secret.get_secret_value(),
            "command": command,
            **params,
        }
        backoff = self._backoff
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(command, query, response_key)
            except DynadotError as exc:
                if not exc.transient or attempt >= backoff.attempts:
                    if exc.transient:
                        raise DynadotError(
                            f"{exc} (gave up after {attempt} attempts)", transient=True
                        ) from None
                    raise
                delay = backoff.delay(attempt)
                log.warning(
                    "dynadot call failed, retrying",
                    command=command,
                    attempt=attempt,
                    max_attempts=backoff.attempts,
                    delay_s=delay,
                    reason=str(exc),
                )
                if on_retry is not None:
                    on_retry(attempt, backoff.attempts, delay, str(exc))
                await backoff.sleep(delay)

    async def _once(self, command: str, query: dict[str, str], response_key: str) -> dict[str, Any]:
        try:
            response = await self._http.get(self._api_url, params=query, timeout=self._timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            transient = is_transient_transport_error(exc)
            message = scrub(describe_transport_error(exc), self._secrets())
            raise DynadotError(f"dynadot {command}: {message}", transient=transient) from None
        text = scrub(truncate(response.text), self._secrets())
        status = response.status_code
        if status != 200:
            transient = status >= 500 or status == 429
            raise DynadotError(f"dynadot {command}: HTTP {status}: {text}", transient=transient)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise DynadotError(f"dynadot {command}: response is not JSON: {text}") from None
        if not isinstance(body, dict):
            raise DynadotError(f"dynadot {command}: unexpected response: {text}")
        code, status_word, error = _header(body, response_key)
        if code == "0" or status_word.lower() == "success":
            return body
        raise DynadotError(
            scrub(
                f"dynadot api error: code={code} status={status_word} err={error}",
                self._secrets(),
            )
        )


def _header(body: dict[str, Any], response_key: str) -> tuple[str, str, str]:
    """`(ResponseCode, Status, Error)` from `<Command>Response` (header nested or inline)."""
    envelope = body.get(response_key)
    if not isinstance(envelope, dict):
        # Some failures (bad key) come back under another root, e.g. {"Response": {...}}.
        envelope = next((v for v in body.values() if isinstance(v, dict)), {})
    header = envelope.get("ResponseHeader")
    if not isinstance(header, dict):
        header = envelope
    code = header.get("ResponseCode", "")
    return (
        "" if code is None else str(code).strip(),
        str(header.get("Status") or ""),
        str(header.get("Error") or ""),
    )


def _parse_zone(domain: str, envelope: Any) -> Zone:
    envelope = envelope if isinstance(envelope, dict) else {}
    content = envelope.get("GetDns") or envelope.get("GetDnsContent") or {}
    settings = content.get("NameServerSettings") if isinstance(content, dict) else None
    if not isinstance(settings, dict):
        return Zone(domain, "", (), unparsed=("get_dns answer has no NameServerSettings",))
    records: list[DnsRecord] = []
    unparsed: list[str] = []
    for key, apex in (("MainDomains", True), ("SubDomains", False), ("Subdomains", False)):
        entries = settings.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            unparsed.append(f"{key} is not a list")
            continue
        for entry in entries:
            record = _parse_record(entry, apex=apex)
            if record is None:
                unparsed.append(f"{key} entry {truncate(repr(entry), 80)}")
            else:
                records.append(record)
    ttl = settings.get("TTL")
    return Zone(
        domain=domain,
        dns_type=str(settings.get("Type") or ""),
        records=tuple(records),
        ttl="" if ttl is None else str(ttl),
        unparsed=tuple(unparsed),
    )


def _parse_record(entry: Any, *, apex: bool) -> DnsRecord | None:
    """A record we can write back exactly, or None."""
    if not isinstance(entry, dict) or set(entry) - _KNOWN_RECORD_KEYS:
        return None
    fields = {key: entry.get(key) for key in _KNOWN_RECORD_KEYS}
    if not all(value is None or isinstance(value, str | int) for value in fields.values()):
        return None
    record_type = str(fields["RecordType"] or "").strip().lower()
    value = "" if fields["Value"] is None else str(fields["Value"])
    subhost = "" if fields["Subhost"] is None else str(fields["Subhost"])
    if not record_type or not value or (not apex and not subhost) or (apex and subhost):
        return None
    value2 = "" if fields["Value2"] is None else str(fields["Value2"])
    return DnsRecord(
        subdomain="" if apex else subhost, type=record_type, value=value, value2=value2
    )
