"""`catalyst-api prices fetch`: Hetzner's price list (`GET /v1/pricing`, served here by a loopback
stand-in with the API's response shape) becomes a price table the plan preview accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.provisioner.estimate import PriceTable

TOKEN = "hcloud-test-token-0123456789abcdef0123456789abcdef0123456789abcdef01"


def _money(net: str) -> dict[str, str]:
    return {"net": net, "gross": str(Decimal(net) * Decimal("1.19"))}


def _prices(**by_location: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"location": loc, "price_hourly": _money(h), "price_monthly": _money(m)}
        for loc, (h, m) in by_location.items()
    ]


PRICING: dict[str, Any] = {
    "pricing": {
        "currency": "EUR",
        "vat_rate": "19.00",
        "image": {"price_per_gb_month": _money("0.0110000000")},
        "server_types": [
            {
                "id": 1,
                "name": "cx33",
                "prices": _prices(
                    fsn1=("0.0104000000", "6.4900000000"), hel1=("0.0110000000", "6.9900000000")
                ),
            },
            {"id": 2, "name": "CAX21", "prices": _prices(fsn1=("0.0112000000", "6.9900000000"))},
            {"id": 3, "name": "cpx62", "prices": _prices(ash=("0.0700000000", "43.9900000000"))},
        ],
        "load_balancer_types": [
            {"id": 1, "name": "lb11", "prices": _prices(fsn1=("0.0104000000", "6.4900000000"))}
        ],
        "primary_ips": [
            {"type": "ipv4", "prices": _prices(fsn1=("0.0010000000", "0.6100000000"))},
            {"type": "ipv6", "prices": _prices(fsn1=("0.0000000000", "0.0000000000"))},
        ],
    }
}


class _PricingHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/v1/pricing":
            self._answer(404, {"error": {"code": "not_found"}})
        elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"error": {"code": "unauthorized"}})
        else:
            self._answer(200, PRICING)

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hetzner() -> Iterator[str]:
    """The stand-in's API base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PricingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _fetch(api_url: str, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HCLOUD_TOKEN"}
    if token:
        env["HCLOUD_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "catalyst_api.cli", "prices", "fetch", "--api-url", api_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_fetched_list_becomes_a_table_the_plan_preview_loads(
    hetzner: str, tmp_path: Path
) -> None:
    out = tmp_path / "prices.json"
    done = _fetch(hetzner, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"CATALYST_PRICES_FILE={out}" in done.stdout
    assert TOKEN not in done.stdout + done.stderr + out.read_text()

    table = PriceTable.load(out)
    assert table.currency == "EUR"
    # fsn1's net prices only; a type not sold there is left out, the IPv6 price is not IPv4's.
    assert set(table.skus) == {"cx33", "cax21", "lb11", "primary-ipv4", "network"}
    assert table.skus["cx33"].monthly == Decimal("6.49")
    assert table.skus["cx33"].hourly == Decimal("0.0104")
    assert table.skus["primary-ipv4"].monthly == Decimal("0.61")
    assert table.skus["network"].monthly == 0
    assert "fsn1" in table.source and "/v1/pricing" in table.source
    assert table.date


def test_another_location_and_standard_output(hetzner: str) -> None:
    done = _fetch(hetzner, "--location", "hel1")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["skus"]["cx33"] == {"monthly": 6.99, "hourly": 0.011}
    assert set(doc["skus"]) == {"cx33", "network"}


@pytest.mark.parametrize(
    ("token", "args", "code", "message"),
    [
        ("", (), 2, "set HCLOUD_TOKEN"),
        ("wrong-token", (), 1, "401: the token was refused"),
        (TOKEN, ("--location", "nowhere"), 1, "nothing in the price list is priced at"),
    ],
)
def test_refusals_are_clear_and_write_nothing(
    hetzner: str, tmp_path: Path, token: str, args: tuple[str, ...], code: int, message: str
) -> None:
    out = tmp_path / "prices.json"
    done = _fetch(hetzner, "-o", str(out), *args, token=token)
    assert done.returncode == code
    assert message in done.stderr
    assert not out.exists()
    assert "wrong-token" not in done.stderr
