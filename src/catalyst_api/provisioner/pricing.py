"""Build a plan-preview price table from Hetzner Cloud's own price list (`GET /v1/pricing`).

The packaged table (`prices/hetzner.json`) holds only the figures found with a source and a date;
an operator with a Hetzner token gets the full, current list for their project's currency with
`catalyst-api prices fetch`, which calls this module. The price list is per location; a table is
for one location, so the operator picks the one their Sovereigns run in.

Mapping (net prices: what the provider bills before VAT):
    server_types[].name                  → its name (`cx33`, `cax21`, …)
    load_balancer_types[].name           → its name (`lb11`, …)
    primary_ips[type=ipv4]               → `primary-ipv4`
    (networks are free)                  → `network`: 0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from .estimate import IPV4_SKU, NETWORK_SKU, PriceTable

__all__ = ["HETZNER_API_URL", "PricingError", "fetch_hetzner_pricing", "table_from_hetzner"]

HETZNER_API_URL = "https://api.hetzner.cloud/v1"


class PricingError(Exception):
    """The price list could not be fetched or does not have the expected shape."""


@dataclass(frozen=True, slots=True)
class _Row:
    sku: str
    monthly: Decimal
    hourly: Decimal


def fetch_hetzner_pricing(
    token: str, *, api_url: str = HETZNER_API_URL, timeout: float = 30.0
) -> dict[str, Any]:
    """GET `{api_url}/pricing` with the project token; the decoded `pricing` object."""
    url = api_url.rstrip("/") + "/pricing"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PricingError(f"GET {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code in (401, 403):
        raise PricingError(f"GET {url}: {response.status_code}: the token was refused")
    if response.status_code != 200:
        raise PricingError(f"GET {url}: HTTP {response.status_code}")
    try:
        pricing = response.json()["pricing"]
    except (ValueError, KeyError, TypeError):
        raise PricingError(f"GET {url}: the answer has no `pricing` object") from None
    if not isinstance(pricing, dict):
        raise PricingError(f"GET {url}: `pricing` is not an object")
    return pricing


def table_from_hetzner(
    pricing: Mapping[str, Any], *, location: str, source: str, date: str
) -> dict[str, Any]:
    """A price-table document (docs/configuration.md §Price table) for one location.

    Raises PricingError when the list has no currency or nothing is priced at `location`."""
    currency = pricing.get("currency")
    if not isinstance(currency, str) or not currency:
        raise PricingError("the price list has no currency")
    rows = [
        *_named(pricing.get("server_types"), location),
        *_named(pricing.get("load_balancer_types"), location),
        *_ipv4(pricing.get("primary_ips"), location),
    ]
    if not rows:
        raise PricingError(f"nothing in the price list is priced at location {location!r}")
    skus: dict[str, dict[str, Decimal]] = {
        row.sku: {"monthly": row.monthly, "hourly": row.hourly} for row in rows
    }
    skus[NETWORK_SKU] = {"monthly": Decimal(0), "hourly": Decimal(0)}
    doc: dict[str, Any] = {
        "provider": "hetzner",
        "currency": currency,
        "date": date,
        "source": source,
        "notes": f"Net prices (excl. VAT) at location {location}.",
        "skus": dict(sorted(skus.items())),
    }
    PriceTable.parse(doc, name="the fetched price list")  # the service must accept what we write
    return doc


def _named(entries: object, location: str) -> Iterable[_Row]:
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            row = _priced(entry["name"].lower(), entry.get("prices"), location)
            if row is not None:
                yield row


def _ipv4(entries: object, location: str) -> Iterable[_Row]:
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("type") == "ipv4":
            row = _priced(IPV4_SKU, entry.get("prices"), location)
            if row is not None:
                yield row


def _priced(sku: str, prices: object, location: str) -> _Row | None:
    for price in prices if isinstance(prices, list) else []:
        if isinstance(price, dict) and price.get("location") == location:
            monthly = _net(price.get("price_monthly"))
            hourly = _net(price.get("price_hourly"))
            if monthly is None or hourly is None:
                raise PricingError(f"{sku} at {location}: prices without a net amount")
            return _Row(sku, monthly, hourly)
    return None


def _net(money: object) -> Decimal | None:
    """Hetzner's money object `{"net": "6.4900000000", "gross": "…"}` → the net amount."""
    if not isinstance(money, dict):
        return None
    try:
        value = Decimal(str(money.get("net")))
    except InvalidOperation:
        return None
    return value.normalize() if value.is_finite() and value >= 0 else None
