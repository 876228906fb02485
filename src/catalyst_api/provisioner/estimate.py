"""The plan preview's cost estimate: planned resources → billable SKUs → a price table.

The price table is a JSON file (the default ships in the package: `prices/hetzner.json`, with
its source and date; `CATALYST_PRICES_FILE` replaces it):

    {"currency": "EUR", "source": "...", "date": "YYYY-MM-DD",
     "skus": {"cx33": {"monthly": 6.49, "hourly": 0.0104}, "network": {...}, ...}}

What is billable, read from the PLAN's planned values (`after`), never from the request:

    hcloud_server          item "server", sku = server_type; plus "primary IPv4"
                           (sku `primary-ipv4`) unless every public_net block disables IPv4
    hcloud_primary_ip      "primary IPv4" (sku `primary-ipv4`) when its type is ipv4
    hcloud_load_balancer   "load balancer", sku = load_balancer_type
    hcloud_network         "network", sku `network`
    terraform_data         (the sandbox module) by its `input.kind`: `servers` → "server",
                           sku = input.server_type, plus "primary IPv4" when input.ipv4 is set;
                           `load_balancers` → "load balancer", sku = input.type;
                           `networks` → "network"

Every other resource (firewalls, SSH keys, subnets, load balancer services and targets) is
free and not listed. Only resources that exist after the apply count (create, update,
replace). A SKU missing from the table is a warning and its line is left out of `lines` and of
the sums — never a guess. Sums are exact decimals, sent as JSON numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from catalyst_api.provisioner.plan import PlannedChange
from catalyst_api.wire.shapes import EstimateLine, PlanEstimate

__all__ = ["DEFAULT_PRICES", "Price", "PriceTable", "estimate"]

DEFAULT_PRICES = "prices/hetzner.json"
"""The packaged table, relative to this package."""

IPV4_SKU = "primary-ipv4"
NETWORK_SKU = "network"
_EXISTING = frozenset({"create", "update", "replace"})


@dataclass(frozen=True, slots=True)
class Price:
    """One SKU's net price: the monthly cap and the hourly rate."""

    monthly: Decimal
    hourly: Decimal


@dataclass(frozen=True, slots=True)
class PriceTable:
    """A loaded price table; `name` says where it came from (for warnings)."""

    currency: str
    skus: dict[str, Price]
    name: str
    source: str = ""
    date: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """Read `path`, or the packaged default; ValueError naming the file when unusable."""
        if path is None:
            raw = resources.files("catalyst_api.provisioner").joinpath(DEFAULT_PRICES).read_bytes()
            name = DEFAULT_PRICES
        else:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
            name = str(path)
        try:
            doc = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
        except ValueError as exc:
            raise ValueError(f"{name} is not JSON: {exc}") from None
        return cls.parse(doc, name=name)

    @classmethod
    def parse(cls, doc: Any, *, name: str) -> PriceTable:
        """Validate a decoded table (numbers as `Decimal`)."""
        if not isinstance(doc, dict):
            raise ValueError(f"{name}: the price table must be a JSON object")
        currency = doc.get("currency")
        skus = doc.get("skus")
        if not isinstance(currency, str) or not currency.strip():
            raise ValueError(f"{name}: `currency` must be a non-empty string")
        if not isinstance(skus, dict):
            raise ValueError(f"{name}: `skus` must be an object of SKU → prices")
        prices: dict[str, Price] = {}
        for sku, entry in skus.items():
            monthly = entry.get("monthly") if isinstance(entry, dict) else None
            hourly = entry.get("hourly") if isinstance(entry, dict) else None
            if not (_amount(monthly) and _amount(hourly)):
                raise ValueError(
                    f"{name}: SKU {sku!r} needs non-negative numbers `monthly` and `hourly`"
                )
            prices[sku.strip().lower()] = Price(
                monthly=Decimal(str(monthly)), hourly=Decimal(str(hourly))
            )
        return cls(
            currency=currency.strip(),
            skus=prices,
            name=name,
            source=str(doc.get("source", "")),
            date=str(doc.get("date", "")),
        )


def _amount(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite() and value >= 0


@dataclass(slots=True)
class _Tally:
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, item: str, sku: str) -> None:
        key = (item, sku)
        self.counts[key] = self.counts.get(key, 0) + 1


def _text(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _server_has_ipv4(values: dict[str, Any]) -> bool:
    blocks = values.get("public_net")
    if not isinstance(blocks, list) or not blocks:
        return True  # Hetzner's default: a public IPv4
    return any(isinstance(b, dict) and b.get("ipv4_enabled") is not False for b in blocks)


def _billable(change: PlannedChange) -> Iterator[tuple[str, object]]:
    """(item, raw sku) pairs of one planned resource (see the module docs)."""
    values = change.values
    if change.type == "hcloud_server":
        yield "server", values.get("server_type")
        if _server_has_ipv4(values):
            yield "primary IPv4", IPV4_SKU
    elif change.type == "hcloud_primary_ip":
        if _text(values.get("type")) == "ipv4":
            yield "primary IPv4", IPV4_SKU
    elif change.type == "hcloud_load_balancer":
        yield "load balancer", values.get("load_balancer_type")
    elif change.type == "hcloud_network":
        yield "network", NETWORK_SKU
    elif change.type == "terraform_data":
        yield from _sandbox_billable(values.get("input"))


def _sandbox_billable(inputs: object) -> Iterator[tuple[str, object]]:
    if not isinstance(inputs, dict):
        return
    kind = inputs.get("kind")
    if kind == "servers":
        yield "server", inputs.get("server_type")
        if inputs.get("ipv4"):
            yield "primary IPv4", IPV4_SKU
    elif kind == "load_balancers":
        yield "load balancer", inputs.get("type")
    elif kind == "networks":
        yield "network", NETWORK_SKU


def estimate(changes: Iterable[PlannedChange], table: PriceTable) -> tuple[PlanEstimate, list[str]]:
    """The estimate of the planned resources, and the warnings it raised."""
    tally = _Tally()
    for change in changes:
        if change.action not in _EXISTING:
            continue
        for item, raw_sku in _billable(change):
            sku = _text(raw_sku)
            if not sku:
                tally.warnings.append(
                    f"the {item} type of {change.address} is not known before apply: "
                    "left out of the estimate"
                )
                continue
            tally.add(item, sku)
    lines: list[EstimateLine] = []
    monthly = hourly = Decimal(0)
    for (item, sku), count in tally.counts.items():
        price = table.skus.get(sku)
        if price is None:
            tally.warnings.append(
                f"no price for {item} SKU {sku!r} in the price table ({table.name}): "
                f"{count} left out of the estimate"
            )
            continue
        lines.append({"item": item, "sku": sku, "count": count, "unitMonthly": _num(price.monthly)})
        monthly += count * price.monthly
        hourly += count * price.hourly
    out: PlanEstimate = {
        "currency": table.currency,
        "monthly": _num(monthly),
        "hourly": _num(hourly),
        "lines": lines,
    }
    return out, tally.warnings


def _num(value: Decimal) -> float:
    """A JSON number that prints as the decimal does (6.49, not 6.4899999)."""
    return float(value.normalize())
