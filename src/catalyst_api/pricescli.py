"""`catalyst-api prices fetch`: write a plan-preview price table from Hetzner's price list.

The token is read from `HCLOUD_TOKEN` (the hcloud CLI's variable), never from the command line,
and never printed. Point `CATALYST_PRICES_FILE` at the file written."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

__all__ = ["prices_main"]


def prices_main(argv: list[str]) -> int:
    """Entry point of `catalyst-api prices`."""
    parser = argparse.ArgumentParser(prog="catalyst-api prices", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    fetch = sub.add_parser("fetch", help="write a price table from GET /v1/pricing")
    fetch.add_argument("--location", default="fsn1", help="Hetzner location (default fsn1)")
    fetch.add_argument(
        "-o", "--output", type=Path, default=None, help="file to write (default: standard output)"
    )
    fetch.add_argument(
        "--api-url",
        default=None,
        help="Hetzner Cloud API base URL (default https://api.hetzner.cloud/v1)",
    )
    args = parser.parse_args(argv)

    from .provisioner.pricing import (
        HETZNER_API_URL,
        PricingError,
        fetch_hetzner_pricing,
        table_from_hetzner,
    )

    token = os.environ.get("HCLOUD_TOKEN", "").strip()
    if not token:
        print("catalyst-api prices: set HCLOUD_TOKEN to a Hetzner Cloud API token", file=sys.stderr)
        return 2
    api_url = args.api_url or HETZNER_API_URL
    now = datetime.now(UTC)
    try:
        pricing = fetch_hetzner_pricing(token, api_url=api_url)
        doc = table_from_hetzner(
            pricing,
            location=args.location,
            source=f"Hetzner Cloud API GET {api_url.rstrip('/')}/pricing, "
            f"location {args.location}, fetched {now.isoformat(timespec='seconds')}",
            date=now.date().isoformat(),
        )
    except PricingError as exc:
        print(f"catalyst-api prices: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(doc, indent=2, default=_number) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(
        f"wrote {len(doc['skus'])} SKUs ({doc['currency']}, {args.location}) to {args.output}; "
        f"set CATALYST_PRICES_FILE={args.output}"
    )
    return 0


def _number(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
