"""Parsing OpenTofu's machine-readable UI lines into event levels, messages and progress."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from catalyst_api.provisioner.jsonui import ProgressTracker, parse_line
from catalyst_api.provisioner.process import MAX_LINE_BYTES, Stream, describe_exit, run_command
from fakes.hcloud.harness import processes_under


def _line(kind: str, message: str, level: str = "info", **extra: object) -> str:
    return json.dumps({"@level": level, "@message": message, "type": kind, **extra})


def _change(kind: str, addr: str, action: str) -> str:
    body = {"resource": {"addr": addr}, "action": action}
    if kind == "planned_change":
        return _line(kind, f"{addr}: {action}", change=body)
    return _line(kind, f"{addr}: {action}", hook=body)


@pytest.mark.parametrize(
    ("line", "level", "message"),
    [
        (_line("version", "OpenTofu 1.11.6"), "info", "OpenTofu 1.11.6"),
        (_line("log", "something odd", level="warn"), "warn", "something odd"),
        (_line("log", "trace detail", level="trace"), "info", "trace detail"),
        (
            _line(
                "diagnostic",
                "Error: Invalid value for variable",
                level="error",
                diagnostic={
                    "severity": "error",
                    "summary": "Invalid value for variable",
                    "detail": "region must be one of fsn1.\n\nThis was checked by the rule.",
                },
            ),
            "error",
            "Error: Invalid value for variable: region must be one of fsn1. "
            "This was checked by the rule.",
        ),
        (
            _line(
                "diagnostic",
                "Warning: Deprecated",
                level="warn",
                diagnostic={"severity": "warning", "summary": "Deprecated", "detail": ""},
            ),
            "warn",
            "Warning: Deprecated",
        ),
    ],
    ids=["version", "warn-log", "trace-log-is-info", "error-diagnostic", "warning-diagnostic"],
)
def test_json_lines_keep_the_human_message_and_map_the_level(
    line: str, level: str, message: str
) -> None:
    parsed = parse_line(line, raw_level="info")
    assert (parsed.level, parsed.message) == (level, message)


@pytest.mark.parametrize(
    ("text", "raw_level"),
    [("Initializing the backend...", "info"), ("{not json", "warn"), ('{"a": 1}', "info")],
    ids=["plain-stdout", "broken-json-stderr", "json-without-message"],
)
def test_non_ui_lines_keep_the_stream_level(text: str, raw_level: str) -> None:
    parsed = parse_line(text, raw_level=raw_level)  # type: ignore[arg-type]
    assert (parsed.level, parsed.message, parsed.ui) == (raw_level, text, None)


def test_error_diagnostic_summary_is_exposed_for_the_error_report() -> None:
    line = _line(
        "diagnostic",
        "Error: boom",
        level="error",
        diagnostic={"severity": "error", "summary": "boom", "detail": "because\nreasons"},
    )
    assert parse_line(line, raw_level="info").error_diagnostic == "boom: because reasons"
    assert parse_line(_line("log", "x"), raw_level="info").error_diagnostic is None


def _feed(tracker: ProgressTracker, *lines: str) -> None:
    for line in lines:
        ui = parse_line(line, raw_level="info").ui
        assert ui is not None
        tracker.observe(ui)


def test_progress_is_unknown_until_the_change_summary() -> None:
    tracker = ProgressTracker()
    _feed(tracker, _change("planned_change", "a.x", "create"))
    assert tracker.snapshot() is None
    _feed(tracker, _line("change_summary", "Plan: 1 to add"))
    assert tracker.snapshot() == {"done": 0, "total": 1}


def test_done_counts_distinct_completed_changes_and_a_replace_needs_both_halves() -> None:
    tracker = ProgressTracker()
    _feed(
        tracker,
        _change("planned_change", "a.x", "create"),
        _change("planned_change", "a.y", "replace"),
        _change("planned_change", "a.z", "update"),
        _line("change_summary", "Plan: 2 to add, 1 to change, 1 to destroy."),
        _change("planned_change", "a.x", "create"),  # the apply step repeats the plan
        _change("apply_complete", "a.x", "create"),
        _change("apply_complete", "a.y", "delete"),
    )
    assert tracker.snapshot() == {"done": 1, "total": 3}
    _feed(
        tracker,
        _change("apply_errored", "a.z", "update"),
        _change("apply_complete", "a.y", "create"),
    )
    assert tracker.snapshot() == {"done": 2, "total": 3}


def test_noop_and_move_changes_do_not_count() -> None:
    tracker = ProgressTracker()
    _feed(
        tracker,
        _change("planned_change", "a.m", "move"),
        _change("planned_change", "a.n", "noop"),
        _line("change_summary", "Plan: 0 to add"),
    )
    assert tracker.snapshot() == {"done": 0, "total": 0}


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0, "exit status 0"),
        (1, "exit status 1"),
        (-9, "signal: killed"),
        (-15, "signal: terminated"),
    ],
)
def test_exit_descriptions_match_go(code: int, text: str) -> None:
    assert describe_exit(code) == text


async def test_long_lines_are_cut_at_one_mebibyte_and_the_rest_is_dropped(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        f"sys.stdout.write('a' * {MAX_LINE_BYTES + 5000} + '\\n')\n"
        "sys.stdout.write('next line\\n')\n"
        "sys.stdout.write('tail without newline')\n"
    )
    lines: list[tuple[Stream, str]] = []
    loop = asyncio.get_running_loop()

    result = await run_command(
        (sys.executable, "-c", script),
        cwd=tmp_path,
        env={},
        on_line=lambda stream, text: lines.append((stream, text)),
        deadline=loop.time() + 20,
        kill_grace=1,
    )

    assert result.returncode == 0
    assert [len(text) for _, text in lines] == [MAX_LINE_BYTES, 9, 20]
    assert lines[1:] == [("stdout", "next line"), ("stdout", "tail without newline")]


async def test_a_straggler_holding_the_pipe_does_not_hang_the_command(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    result = await run_command(
        ("/bin/sh", "-c", "sleep 59 & echo leader done"),
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        on_line=lambda stream, text: None,
        deadline=loop.time() + 30,
        kill_grace=1,
    )

    assert result.returncode == 0
    assert loop.time() - started < 10
    assert processes_under(tmp_path) == []
