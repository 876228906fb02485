"""The plan preview below the HTTP layer (issue 18): `TofuPlanner` plans the production module
(infra/hetzner) offline against the fake hcloud provider in a throwaway workdir, and the
estimate reads the SKUs from the plan's planned values; the price table's format is checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.config import ConfigError, Settings
from catalyst_api.provisioner import PlannedChange, PriceTable, TofuPlanner, estimate
from catalyst_api.provisioner.estimate import Price
from catalyst_api.wiring import build_services
from fakes.hcloud.harness import CANARIES, HETZNER_MODULE, TERRAFORM, provision_job, tofu_base_env

TABLE = PriceTable(
    currency="EUR",
    name="test table",
    skus={
        "cpx31": Price(monthly=Decimal("13.60"), hourly=Decimal("0.0218")),
        "lb11": Price(monthly=Decimal("5.39"), hourly=Decimal("0.0086")),
        "primary-ipv4": Price(monthly=Decimal("0.50"), hourly=Decimal("0.0008")),
        "network": Price(monthly=Decimal(0), hourly=Decimal(0)),
    },
)


def _planner(tmp_path: Path, mirror: Path, **settings: Any) -> TofuPlanner:
    values: dict[str, Any] = {
        "tofu_binary": str(TERRAFORM),
        "tofu_module_path": HETZNER_MODULE,
        "tofu_workdir": tmp_path / "tofu",
        "api_public_url": "https://catalyst.example.test",
    }
    values.update(settings)
    return TofuPlanner(
        settings=Settings.from_env({}, **values),
        plugin_mirror_dir=mirror,
        base_env=tofu_base_env(),
        temp_root=tmp_path / "plans",
    )


@pytest.mark.timeout(90)
async def test_the_hetzner_module_is_planned_and_priced_from_its_planned_values(
    tmp_path: Path, hcloud_mirror: Path
) -> None:
    (tmp_path / "plans").mkdir()
    planner = _planner(tmp_path, hcloud_mirror)
    changes = await planner.plan(provision_job(ha_enabled=True, worker_count=2))

    by_type: dict[str, int] = {}
    for change in changes:
        assert change.action == "create", change
        by_type[change.type] = by_type.get(change.type, 0) + 1
    assert by_type["hcloud_server"] == 5  # 3 control planes (HA) + 2 workers
    assert by_type["hcloud_load_balancer"] == 1
    assert by_type["hcloud_network"] == 1
    servers = {c.address: c.values["server_type"] for c in changes if c.type == "hcloud_server"}
    assert servers["hcloud_server.control_plane[2]"] == "cpx31"
    assert servers["hcloud_server.worker[1]"] == "cpx41"

    cost, warnings = estimate(changes, TABLE)
    lines = {
        (line["item"], line["sku"]): (line["count"], line["unitMonthly"]) for line in cost["lines"]
    }
    assert lines == {
        ("server", "cpx31"): (3, 13.6),
        ("primary IPv4", "primary-ipv4"): (5, 0.5),
        ("load balancer", "lb11"): (1, 5.39),
        ("network", "network"): (1, 0.0),
    }
    assert cost["monthly"] == 48.69  # 3 x 13.60 + 5 x 0.50 + 5.39: cpx41 is not in the table
    assert cost["hourly"] == 0.078  # 3 x 0.0218 + 5 x 0.0008 + 0.0086
    assert warnings == [
        "no price for server SKU 'cpx41' in the price table (test table): 2 left out of the "
        "estimate"
    ]
    assert list((tmp_path / "plans").iterdir()) == []  # the throwaway workdir is gone
    assert not (tmp_path / "tofu").exists()  # the deployments' workdir root is never touched
    shown = repr(changes) + json.dumps(cost) + json.dumps(warnings)
    for canary in CANARIES:  # planned values may hold secrets (user_data): never shown
        assert canary not in shown


def _change(kind: str, values: dict[str, Any], action: str = "create") -> PlannedChange:
    return PlannedChange(address=f"{kind}.x", type=kind, action=action, values=values)


def test_servers_count_a_primary_ipv4_unless_their_public_net_disables_it() -> None:
    changes = [
        _change("hcloud_server", {"server_type": "cpx31"}),  # no public_net: Hetzner's default
        _change("hcloud_server", {"server_type": "cpx31", "public_net": [{"ipv4_enabled": True}]}),
        _change("hcloud_server", {"server_type": "cpx31", "public_net": [{"ipv4_enabled": False}]}),
        _change("hcloud_primary_ip", {"type": "ipv4"}),
        _change("hcloud_primary_ip", {"type": "ipv6"}),  # free
        _change("hcloud_firewall", {}),  # free, not listed
        _change("hcloud_server", {"server_type": "cpx31"}, action="delete"),  # gone after apply
    ]
    cost, warnings = estimate(changes, TABLE)
    assert [(line["sku"], line["count"]) for line in cost["lines"]] == [
        ("cpx31", 3),
        ("primary-ipv4", 3),
    ]
    assert warnings == []


def test_the_sandbox_modules_inputs_map_to_the_same_skus() -> None:
    changes = [
        _change(
            "terraform_data",
            {"input": {"kind": "servers", "server_type": "CPX31", "ipv4": "198.18.0.1"}},
        ),
        _change("terraform_data", {"input": {"kind": "load_balancers", "type": "lb11"}}),
        _change("terraform_data", {"input": {"kind": "networks"}}),
        _change("terraform_data", {"input": {"kind": "firewalls"}}),
    ]
    cost, warnings = estimate(changes, TABLE)
    assert [(line["item"], line["sku"], line["count"]) for line in cost["lines"]] == [
        ("server", "cpx31", 1),
        ("primary IPv4", "primary-ipv4", 1),
        ("load balancer", "lb11", 1),
        ("network", "network", 1),
    ]
    assert cost["monthly"] == 19.49 and warnings == []


def test_a_type_unknown_before_apply_is_a_warning_not_a_guess() -> None:
    cost, warnings = estimate([_change("hcloud_server", {"public_net": []})], TABLE)
    assert [line["sku"] for line in cost["lines"]] == ["primary-ipv4"]
    assert warnings == [
        "the server type of hcloud_server.x is not known before apply: left out of the estimate"
    ]


def test_the_packaged_table_loads_with_its_source_and_date() -> None:
    table = PriceTable.load()
    assert table.currency == "EUR"
    assert table.source and table.date
    assert table.skus["network"] == Price(monthly=Decimal(0), hourly=Decimal(0))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        ('{"skus": {}}', "`currency` must be a non-empty string"),
        ('{"currency": "EUR"}', "`skus` must be an object"),
        ('{"currency": "EUR", "skus": {"cx33": {"monthly": 1}}}', "SKU 'cx33' needs"),
        ('{"currency": "EUR", "skus": {"cx33": {"monthly": -1, "hourly": 0}}}', "SKU 'cx33'"),
        ('{"currency": "EUR", "skus": {"cx33": {"monthly": "1", "hourly": 0}}}', "SKU 'cx33'"),
    ],
)
def test_a_malformed_table_is_refused_naming_the_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=problem) as caught:
        PriceTable.load(path)
    assert str(path) in str(caught.value)


async def test_an_unusable_prices_file_stops_startup_naming_the_variable(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(CATALYST_PRICES_FILE=str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match=r"CATALYST_PRICES_FILE: cannot read .*missing\.json"):
        async with build_services(settings):
            pass
