"""The SSE log stream and `/events` (spec §3.8–3.9, DESIGN item 1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from catalyst_api.client.sse import SseFrame
from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.waiting import read_sse, wait_for, wait_status

# Behaviour suite: runs on the flat files and on PostgreSQL.
pytestmark = pytest.mark.both_backends

Body = Callable[..., dict[str, Any]]


def _setter(event: threading.Event) -> Callable[[SseFrame], None]:
    return lambda _frame: event.set()


def _data_frames(frames: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [json.loads(data) for event, _, data in frames if event == "message"]


def test_finished_deployment_replays_everything_then_done(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    frames = read_sse(server.url, dep)
    events = _data_frames(frames)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [int(ident) for event, ident, _ in frames if event == "message"] == [
        e["seq"] for e in events
    ]
    kind, _, data = frames[-1]
    assert kind == "done"
    done = json.loads(data)
    assert done["status"] == "ready"
    assert done["numEvents"] == len(events)
    phase0 = [e for e in events if e["phase"].startswith("tofu")]
    assert phase0 and all("component" not in e and "state" not in e for e in phase0)
    components = [e for e in events if e["phase"] == "component"]
    assert components and all(e["component"] and e["state"] for e in components)


def test_in_flight_deployment_streams_replay_then_live_then_done(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    prov = ScriptedProvisioner(lines=3, gate=gate, postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_for(lambda: httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"] >= 4)
    # The gate opens once the stream delivered its first frame: what follows is live.
    frames = read_sse(server.url, dep, on_frame=lambda _frame: gate.set())
    events = _data_frames(frames)
    messages = [e["message"] for e in events]
    assert messages[:4] == ["Initialising OpenTofu working directory", "line 0", "line 1", "line 2"]
    assert any(e["phase"] == "component" for e in events)  # arrived live after the gate
    assert frames[-1][0] == "done"
    assert json.loads(frames[-1][2])["status"] == "ready"


def test_two_clients_each_receive_every_event_once_in_order(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    prov = ScriptedProvisioner(lines=300, delay=0.002, gate=gate, postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    connected = [threading.Event(), threading.Event()]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(read_sse, server.url, dep, on_frame=_setter(c)) for c in connected]
        try:
            assert all(c.wait(20) for c in connected), "a client never received a frame"
        finally:
            gate.set()  # both clients are reading: the rest of the run arrives live
        results = [f.result() for f in futures]
    total = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    for frames in results:
        seqs = [e["seq"] for e in _data_frames(frames)]
        assert seqs == list(range(1, total + 1))
        assert frames[-1][0] == "done"


@pytest.mark.parametrize("how", ["header", "query"])
def test_reconnect_with_last_event_id_gets_only_newer_events(
    make_settings, start_server, scripted_overrides, body: Body, how: str
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    if how == "header":
        frames = read_sse(server.url, dep, headers={"Last-Event-ID": "3"})
    else:
        frames = read_sse(server.url, dep, params={"since": "3"})
    seqs = [e["seq"] for e in _data_frames(frames)]
    total = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    assert seqs == list(range(4, total + 1))


def test_bad_last_event_id_is_400(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    resp = httpx.get(f"{server.url}/api/v1/deployments/{dep}/logs", headers={"Last-Event-ID": "x"})
    assert resp.status_code == 400


def test_sse_headers_and_heartbeat(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    prov = ScriptedProvisioner(gate=gate, postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov, sse_ping_interval=0.2))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    lines: list[str] = []
    try:
        with httpx.stream("GET", f"{server.url}/api/v1/deployments/{dep}/logs", timeout=10) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            assert resp.headers["cache-control"] == "no-cache"
            assert resp.headers["x-accel-buffering"] == "no"
            for line in resp.iter_lines():
                lines.append(line)
                if line == ": ping":
                    gate.set()  # a heartbeat arrived while nothing else did: let the run end
    finally:
        gate.set()
    assert ": ping" in lines
    # A reconnect hint first, so an EventSource reconnects after 1 s, not its default ~3 s.
    assert lines[:2] == ["retry: 1000", ""]


def test_events_endpoint_returns_state_events_and_done(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    payload = httpx.get(f"{server.url}/api/v1/deployments/{dep}/events").json()
    assert list(payload) == ["state", "events", "done"]
    assert payload["done"] is True
    assert payload["state"]["status"] == "ready"
    assert payload["state"]["numEvents"] == len(payload["events"])
    assert [e["seq"] for e in payload["events"]] == list(range(1, len(payload["events"]) + 1))


def test_buffer_keeps_the_last_10000_events(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(lines=10100, fail_with="tofu apply: boom")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"failed"})
    payload = httpx.get(f"{server.url}/api/v1/deployments/{dep}/events").json()
    events = payload["events"]
    assert len(events) == 10000
    assert payload["state"]["numEvents"] == 10000
    # 1 banner + 10100 lines were emitted: the oldest 101 were evicted from the buffer.
    assert events[0]["message"] == "line 100"
    assert events[-1]["message"] == "line 10099"


def test_a_stalled_subscriber_never_blocks_the_emitter_or_loses_events(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    prov = ScriptedProvisioner(lines=5000, gate=gate, postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    with httpx.stream("GET", f"{server.url}/api/v1/deployments/{dep}/logs", timeout=30) as resp:
        lines = resp.iter_lines()
        next(lines)  # connected, then stop reading while the run continues
        gate.set()
        wait_status(server.url, dep, {"ready"}, timeout=20)
        rest = list(lines)
    seqs = [json.loads(line[6:])["seq"] for line in rest if line.startswith('data: {"time"')]
    total = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    assert seqs == list(range(seqs[0], total + 1))
    assert seqs[0] <= 2


def test_component_events_carry_component_and_state(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        make_settings(), scripted_overrides(phase1=ScriptedPhase1(fail=("flux",)))
    )
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    state = wait_status(server.url, dep, {"failed"})
    assert "1 failed component" in state["error"]
    events = httpx.get(f"{server.url}/api/v1/deployments/{dep}/events").json()["events"]
    flux = [e for e in events if e.get("component") == "flux"]
    assert flux[0]["state"] == "failed" and flux[0]["level"] == "error"
