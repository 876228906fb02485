"""`create --follow` / `logs --follow`: the run streams to its end; the exit code is its status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.waiting import wait_status

pytestmark = pytest.mark.timeout(60)  # CLI subprocesses following full runs; the default is 15 s

CLI = (sys.executable, "-m", "catalyst_api.cli", "deployments")
SRC = str(Path(__file__).resolve().parents[2] / "src")
# The CLI as a user's terminal starts it: with Ctrl-C's default behaviour. A child inherits an
# ignored SIGINT (pytest run as a background job or by a CI script has it ignored) and Python
# then installs no KeyboardInterrupt handler, so the SIGINT below would do nothing.
CLI_WITH_CTRL_C = (
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('catalyst_api.cli', run_name='__main__', alter_sys=True)",
    "deployments",
)


def test_create_follow_exits_0_on_ready_and_prints_component_states(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, "create", "-f", str(request_file()), "--follow")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    dep = lines[0].split()[-1]
    assert lines[0] == f"id:      {dep}"
    assert f"stream:  {server.url}/api/v1/deployments/{dep}/logs" in lines
    total = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    assert run.seqs() == list(range(1, total + 1))
    assert any(" component info cilium installed: installed" in line for line in lines)
    assert "status:        ready" in lines
    assert "components:    3/11 installed" in lines
    assert "  flux                installed" in lines
    assert run.err == ""


def test_create_follow_on_a_terminal_draws_phase_bars_and_the_component_table(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, "create", "-f", str(request_file()), "--follow", tty=True)
    assert run.code == 0, run.err
    assert "Bootstrap kit — 3/11 installed" in run.out
    for text in ("tofu-init", "component", "cert-manager", "installed", "ready"):
        assert text in run.out
    assert "\x1b[" in run.out  # drawn with terminal control sequences, not plain lines
    assert "#1 " not in run.out


def test_failing_phase0_exits_1_and_prints_the_error(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(fail_with="tofu apply failed: quota exceeded for server type")
    server = start_server(make_settings(), scripted_overrides(prov))
    run = run_cli(server.url, "create", "-f", str(request_file()), "--follow")
    assert run.code == 1
    assert "failed: tofu apply failed: quota exceeded for server type" in run.err
    assert "status:        failed" in run.out
    assert "error:         tofu apply failed: quota exceeded for server type" in run.out


def test_failed_component_exits_1_with_the_phase1_error(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    phase1 = ScriptedPhase1(fail=("flux",))
    server = start_server(make_settings(), scripted_overrides(phase1=phase1))
    run = run_cli(server.url, "create", "-f", str(request_file()), "--follow")
    assert run.code == 1
    assert "Phase 1 finished with 1 failed component(s)" in run.err
    assert "  flux                failed" in run.out


def test_logs_follow_of_a_finished_deployment_replays_everything_once(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    state = wait_status(server.url, dep, {"ready"})
    run = run_cli(server.url, "logs", dep, "--follow")
    assert run.code == 0
    assert run.seqs() == list(range(1, state["numEvents"] + 1))


def test_logs_follow_streams_live_events_until_done(
    make_settings, start_server, scripted_overrides, run_cli, body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    prov = ScriptedProvisioner(lines=5, gate=gate, postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    threading.Timer(0.3, gate.set).start()
    run = run_cli(server.url, "logs", dep, "--follow")
    assert run.code == 0
    assert " tofu info line 4" in run.out
    assert " component info flux installed: installed" in run.out  # emitted after the gate
    assert run.seqs() == list(range(1, len(run.seqs()) + 1))


def _cli_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CATALYST_API_URL=url,
        PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""),
        NO_COLOR="1",
    )
    return env


def test_console_script_create_follow_works_in_a_subprocess(
    make_settings, start_server, scripted_overrides, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    proc = subprocess.run(
        [*CLI, "create", "-f", str(request_file()), "--follow"],
        env=_cli_env(server.url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "status:        ready" in proc.stdout


def test_ctrl_c_while_following_exits_130(
    make_settings, start_server, scripted_overrides, body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    proc: subprocess.Popen[str] | None = None
    try:
        dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
        proc = subprocess.Popen(
            [*CLI_WITH_CTRL_C, "logs", dep, "--follow"],
            env=_cli_env(server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the stream is open and events are flowing
        assert first.startswith("#1 ")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 130
        assert "interrupted" in err
        assert "Traceback" not in err
    finally:
        gate.set()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_no_color_on_a_terminal_keeps_the_live_view_without_colours(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(
        server.url, "--no-color", "create", "-f", str(request_file()), "--follow", tty=True
    )
    assert run.code == 0
    assert "Bootstrap kit — 3/11 installed" in run.out
    assert "\x1b[32m" not in run.out and "\x1b[1;32m" not in run.out


def test_plain_on_a_terminal_prints_one_line_per_event(
    make_settings, start_server, scripted_overrides, run_cli, request_file
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    run = run_cli(server.url, "create", "-f", str(request_file()), "--follow", "--plain", tty=True)
    assert run.code == 0
    assert run.seqs()[:2] == [1, 2]
    assert "\x1b[" not in run.out
