"""`catalyst-api deployments plan` and `create --plan` / `--yes` (issue 18), against a live
server planning the sandbox module with real OpenTofu (the venv's terraform shim)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from catalyst_api.config import Settings
from support.plans import plan_overrides, plan_settings
from support.server import LiveServer


@pytest.fixture
def server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., LiveServer],
    tmp_path: Path,
) -> LiveServer:
    plans = tmp_path / "plans"
    plans.mkdir()
    settings = plan_settings(make_settings, tmp_path)
    return start_server(settings, plan_overrides(settings, plans))


def _request(request_file, fqdn: str = "cli.acme.example"):  # type: ignore[no-untyped-def]
    return request_file(
        sovereignFQDN=fqdn, controlPlaneSize="cx33", workerSize="cx33", workerCount=1
    )


@pytest.mark.timeout(60)
def test_plan_prints_the_resources_the_summary_and_the_estimate(
    server: LiveServer, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(server.url, "plan", "-f", str(_request(request_file)))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].split() == ["ADDRESS", "TYPE", "ACTION"]
    rows = lines[1 : lines.index("Plan: 12 to add, 0 to change, 0 to destroy.")]
    assert len(rows) == 12
    assert rows[0].split() == ["terraform_data.control_plane[0]", "terraform_data", "create"]
    assert ["ITEM", "SKU", "COUNT", "UNIT/MONTH", "MONTHLY"] in [line.split() for line in lines]
    assert [line.split() for line in lines if line.startswith(("server ", "load balancer"))] == [
        ["server", "cx33", "2", "6.49", "12.98"],
        ["load", "balancer", "lb11", "1", "5.39", "5.39"],
    ]
    assert "Estimate: 18.37 EUR/month (0.0294 EUR/hour), net of VAT" in lines
    assert lines[-2] == (
        "warning: no price for primary IPv4 SKU 'primary-ipv4' in the price table "
        f"({server.services.settings.prices_file}): 2 left out of the estimate"
    )
    assert lines[-1].startswith("hint: `HCLOUD_TOKEN=… catalyst-api prices fetch")
    assert len(server.services.deployments.registry) == 0


@pytest.mark.timeout(60)
def test_plan_json_prints_the_servers_answer(server: LiveServer, run_cli, request_file) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(server.url, "plan", "-f", str(_request(request_file)), "--json")
    assert run.code == 0, run.err
    answer = json.loads(run.out)
    assert answer["counts"] == {"add": 12, "change": 0, "destroy": 0}
    assert answer["estimate"]["monthly"] == 18.37


@pytest.mark.timeout(60)
def test_plan_of_an_invalid_request_prints_the_servers_error(
    server: LiveServer, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(server.url, "plan", "-f", str(request_file(orgEmail="nope")))
    assert run.code == 1
    assert "HTTP 400" in run.err and "organisation email" in run.err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("answer", ["n\n", "\n", "maybe\n", ""], ids=["n", "enter", "other", "eof"])
def test_create_with_plan_shows_the_plan_and_anything_but_yes_creates_nothing(
    server: LiveServer, run_cli, request_file, answer: str
) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(server.url, "create", "-f", str(_request(request_file)), "--plan", stdin=answer)
    assert run.code == 1
    assert "Plan: 12 to add, 0 to change, 0 to destroy." in run.out
    assert "Create? [y/N] " in run.err
    assert "aborted: nothing was created" in run.err
    assert "id:" not in run.out
    assert len(server.services.deployments.registry) == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("answer", ["y\n", "YES\n"])
def test_create_with_plan_and_yes_on_stdin_creates(
    server: LiveServer, run_cli, request_file, answer: str
) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(server.url, "create", "-f", str(_request(request_file)), "--plan", stdin=answer)
    assert run.code == 0, run.err
    out = run.out.splitlines()
    assert out.index("Plan: 12 to add, 0 to change, 0 to destroy.") < next(
        i for i, line in enumerate(out) if line.startswith("id:")
    )
    assert len(server.services.deployments.registry) == 1


@pytest.mark.timeout(60)
def test_create_with_plan_and_the_yes_flag_does_not_ask(
    server: LiveServer, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(server.url, "create", "-f", str(_request(request_file)), "--plan", "--yes")
    assert run.code == 0, run.err
    assert "Plan: 12 to add" in run.out
    assert "Create?" not in run.err
    assert len(server.services.deployments.registry) == 1


def test_create_with_plan_from_stdin_needs_yes(run_cli) -> None:  # type: ignore[no-untyped-def]
    run = run_cli("http://127.0.0.1:9", "create", "-f", "-", "--plan")
    assert run.code == 2
    assert "with `-f -` add --yes" in run.err
