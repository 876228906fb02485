"""The non-streaming commands (list, get, logs, kubeconfig, retry, destroy, create errors) and
the exit-code contract: 0 success, 1 HTTP error or failed run, 2 usage error."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import httpx
import pytest

from support.fakes import ScriptedProvisioner
from support.server import free_port, live_server
from support.waiting import wait_status

UNKNOWN = "ffffffffffffffff"


def _create_ready(server, body, **overrides) -> str:  # type: ignore[no-untyped-def]
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body(**overrides)).json()["id"]
    wait_status(server.url, dep, {"ready", "failed"})
    return str(dep)


# --- list -----------------------------------------------------------------------------------------


def test_list_all_follows_next_cursor_and_prints_a_table(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    ids = [_create_ready(server, body, sovereignFQDN=f"k{i}.acme.example") for i in range(3)]
    run = run_cli(server.url, "list", "--limit", "1", "--all")
    assert run.code == 0, run.err
    header, *rows = run.out.splitlines()
    assert header.split() == ["ID", "STATUS", "FQDN", "STARTED", "FINISHED"]
    assert [row.split()[0] for row in rows] == ids[::-1]  # newest first
    assert all(row.split()[1] == "ready" for row in rows)
    assert rows[0].split()[2] == "k2.acme.example"
    assert run.err == ""


def test_list_without_all_shows_one_page_and_says_there_is_more(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    for i in range(2):
        _create_ready(server, body, sovereignFQDN=f"k{i}.acme.example")
    run = run_cli(server.url, "list", "--limit", "1")
    assert run.code == 0
    assert len(run.out.splitlines()) == 2
    assert "more deployments exist: use --all" in run.err


def test_list_filters_by_status_and_prints_json(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    ok = _create_ready(server, body, sovereignFQDN="ok.acme.example")
    prov.fail_with = "tofu plan failed"
    bad = _create_ready(server, body, sovereignFQDN="bad.acme.example")
    run = run_cli(server.url, "list", "--status", "failed", "--json")
    assert run.code == 0
    listed = json.loads(run.out)
    assert [d["id"] for d in listed] == [bad]
    assert listed[0]["error"] == "tofu plan failed"
    assert ok not in run.out


def test_list_with_an_unknown_status_prints_the_servers_error(
    make_settings, start_server, scripted_overrides, run_cli
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, "list", "--status", "bogus")
    assert run.code == 1
    assert "HTTP 400: invalid-status: unknown status 'bogus'" in run.err


# --- get / logs -----------------------------------------------------------------------------------


def test_get_prints_the_state_and_its_components(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(server.url, "get", dep)
    assert run.code == 0
    lines = run.out.splitlines()
    assert f"id:            {dep}" in lines
    assert "status:        ready" in lines
    assert "console:       https://console.k8s.acme.example" in lines
    assert "  cert-manager        installed" in lines


def test_get_json_prints_the_servers_state_object(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(server.url, "get", dep, "--json")
    assert run.code == 0
    assert json.loads(run.out) == httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()


@pytest.mark.parametrize(
    "argv",
    [
        ("get", UNKNOWN),
        ("logs", UNKNOWN),
        ("logs", UNKNOWN, "--follow"),
        ("kubeconfig", UNKNOWN),
        ("retry", UNKNOWN, "tofu-apply"),
        ("destroy", UNKNOWN),
    ],
    ids=lambda argv: " ".join(argv[:1] + argv[2:]),
)
def test_unknown_deployment_exits_1_with_deployment_not_found(
    make_settings, start_server, scripted_overrides, run_cli, argv
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, *argv)
    assert run.code == 1
    assert run.err == "catalyst-api: HTTP 404: deployment not found\n"
    assert run.out == ""


def test_logs_prints_every_buffered_event_then_the_state(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    events = httpx.get(f"{server.url}/api/v1/deployments/{dep}/events").json()["events"]
    run = run_cli(server.url, "logs", dep)
    assert run.code == 0
    assert run.seqs() == [e["seq"] for e in events]
    assert "#1 " in run.out and " tofu-init info Initialising OpenTofu working directory" in run.out
    assert "status:        ready" in run.out


# --- kubeconfig -----------------------------------------------------------------------------------


def test_kubeconfig_is_written_with_mode_0600(
    make_settings, start_server, scripted_overrides, run_cli, body, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto", kubeconfig=b"apiVersion: v1\nkind: Config\n")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = _create_ready(server, body)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "sovereign.yaml"
    target.write_text("old, world-readable")
    target.chmod(0o644)
    run = run_cli(server.url, "kubeconfig", dep, "-o", str(target))
    assert run.code == 0, run.err
    assert target.read_bytes() == b"apiVersion: v1\nkind: Config\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert run.out == ""
    assert [p.name for p in out_dir.iterdir()] == ["sovereign.yaml"]  # no temp file left


def test_kubeconfig_goes_to_stdout_by_default(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(server.url, "kubeconfig", dep)
    assert run.code == 0
    assert run.out == "apiVersion: v1\nkind: Config\nclusters: []\n"


def test_kubeconfig_not_captured_yet_prints_the_409_body(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    try:
        dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
        run = run_cli(server.url, "kubeconfig", dep)
    finally:
        gate.set()
    assert run.code == 1
    assert run.err.startswith(
        "catalyst-api: HTTP 409: not-implemented: kubeconfig has not been captured"
    )


# --- retry / destroy ------------------------------------------------------------------------------


def test_retry_after_restart_needs_the_token_and_takes_it_from_an_env_var(
    make_settings, run_cli, body, scripted_overrides
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    failing = ScriptedProvisioner(fail_with="tofu apply failed: rate limited")
    with live_server(settings, scripted_overrides(failing)) as server:
        dep = _create_ready(server, body)
    token = "canary-hetzner-" + "q" * 50
    healthy = ScriptedProvisioner()
    with live_server(settings, scripted_overrides(healthy)) as server:
        healthy.postback_base = server.url
        refused = run_cli(server.url, "retry", dep, "tofu-apply")
        assert refused.code == 1
        assert "HTTP 409: credentials-required: the Hetzner token is no longer held" in refused.err
        run = run_cli(
            server.url,
            "retry",
            dep,
            "tofu-apply",
            "--hetzner-token-env",
            "MY_HCLOUD_TOKEN",
            "--follow",
            env={"MY_HCLOUD_TOKEN": token},
        )
        assert run.code == 0, run.err
    assert "status:  provisioning" in run.out
    assert "phase:   tofu-apply" in run.out
    assert 'Retry initiated for phase "tofu-apply"' in run.out
    assert "rate limited" not in run.out  # only the retried run is streamed
    assert "status:        ready" in run.out
    assert healthy.jobs[0].hcloud_token.get_secret_value() == token
    assert token not in run.out + run.err


def test_retry_with_an_unset_token_variable_is_a_usage_error(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(server.url, "retry", dep, "tofu-apply", "--hetzner-token-env", "NOPE")
    assert run.code == 2
    assert "environment variable NOPE (--hetzner-token-env) is not set or empty" in run.err


def test_retry_of_a_component_prints_the_manual_procedure(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(server.url, "retry", dep, "cilium")
    assert run.code == 0
    assert "status:  manual-retry-required" in run.out
    assert "runbook: docs/RUNBOOK-PROVISIONING.md#rollback-procedures-per-phase" in run.out


def test_retry_of_an_unknown_phase_prints_the_servers_message(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(server.url, "retry", dep, "bogus")
    assert run.code == 1
    assert 'HTTP 400: unknown phase "bogus"' in run.err


def test_destroy_follow_ends_destroyed_with_exit_0(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = _create_ready(server, body)
    run = run_cli(server.url, "destroy", dep, "--follow")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[:2] == [f"id:      {dep}", "status:  destroying"]
    assert any(line.endswith(" destroy info Sovereign destroyed") for line in lines)
    assert "Initialising OpenTofu working directory" not in run.out  # only the destroy run
    assert "status:        destroyed" in lines
    assert prov.destroyed == ["k8s.acme.example"]


def test_destroy_twice_prints_the_conflict(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    assert run_cli(server.url, "destroy", dep, "--follow").code == 0
    run = run_cli(server.url, "destroy", dep)
    assert run.code == 1
    assert "HTTP 409: already-destroyed: this deployment has already been destroyed" in run.err


# --- create errors --------------------------------------------------------------------------------


def test_create_prints_the_text_400_for_a_mistyped_body(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, "create", "-f", str(request_file(workerCount="3")))
    assert run.code == 1
    assert run.err.startswith("catalyst-api: HTTP 400: invalid request body: ")


def test_create_prints_the_validation_error(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, "create", "-f", str(request_file(hetznerToken="")))
    assert run.code == 1
    assert run.err == "catalyst-api: HTTP 400: hetzner token is required\n"


def test_create_reads_yaml_and_takes_the_token_from_an_env_var(
    make_settings, start_server, scripted_overrides, run_cli, body, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import yaml

    prov = ScriptedProvisioner(postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    request = body()
    del request["hetznerToken"]
    path = tmp_path / "request.yaml"
    path.write_text(yaml.safe_dump(request))
    token = "canary-create-" + "t" * 50
    run = run_cli(
        server.url,
        "create",
        "-f",
        str(path),
        "--hetzner-token-env",
        "HC",
        "--follow",
        env={"HC": token},
    )
    assert run.code == 0, run.err
    assert prov.jobs[0].hcloud_token.get_secret_value() == token
    assert token not in run.out + run.err


# --- usage and transport errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        (),
        ("frobnicate",),
        ("list", "--limit", "0"),
        ("get",),
        ("create",),
        ("create", "-f", "/nonexistent/request.json"),
        ("--timeout", "-1", "list"),
        ("--api-url", "ftp://example", "list"),
    ],
    ids=lambda argv: " ".join(argv) or "no-args",
)
def test_usage_errors_exit_2(run_cli, argv) -> None:  # type: ignore[no-untyped-def]
    run = run_cli("http://127.0.0.1:9", *argv)
    assert run.code == 2
    assert run.err


def test_help_exits_0(run_cli) -> None:  # type: ignore[no-untyped-def]
    run = run_cli(None, "--help")
    assert run.code == 0
    for command in ("create", "list", "get", "logs", "kubeconfig", "retry", "destroy"):
        assert command in run.out


def test_global_options_work_after_the_subcommand(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    run = run_cli(None, "get", dep, "--json", "--api-url", server.url, "--timeout", "5")
    assert run.code == 0
    assert json.loads(run.out)["id"] == dep


def test_unreachable_server_exits_1(run_cli) -> None:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{free_port()}"
    run = run_cli(url, "list")
    assert run.code == 1
    assert run.err.startswith(f"catalyst-api: cannot reach catalyst-api at {url}")


def test_list_and_get_on_a_terminal_draw_tables(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = _create_ready(server, body)
    listed = run_cli(server.url, "list", tty=True)
    assert listed.code == 0
    assert "STATUS" in listed.out and dep in listed.out and "─" in listed.out
    shown = run_cli(server.url, "get", dep, tty=True)
    assert shown.code == 0
    assert "Bootstrap kit — 3/11 installed" in shown.out
    assert "https://console.k8s.acme.example" in shown.out
