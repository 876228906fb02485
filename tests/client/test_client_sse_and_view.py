"""SSE frame parsing, reconnect rules of `follow_log` (against httpx's MockTransport) and the
run model the live view draws."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from catalyst_api.client import ApiClient, ApiError, Backoff, RunView, follow_log, parse_frames
from catalyst_api.client.plain import event_line
from catalyst_api.client.view import ComponentView


def test_frames_are_dispatched_only_at_their_blank_line() -> None:
    lines = [
        ": ping",
        "id: 1",
        'data: {"seq": 1}',
        "",
        "event: done",
        "data: {",
        'data: "status": "ready"}',
        "",
        "id: 3",
        'data: {"seq": 3, "mess',  # cut off: never dispatched
    ]
    frames = list(parse_frames(lines))
    assert [(f.event, f.id) for f in frames] == [("message", "1"), ("done", "1")]
    assert json.loads(frames[1].data) == {"status": "ready"}


def test_frame_fields_follow_the_sse_rules() -> None:
    frames = list(parse_frames(["data:no-space", "retry: 10", "unknown: x", "", "", "data", ""]))
    assert [f.data for f in frames] == ["no-space", ""]


def _sse(*events: dict[str, Any], done: dict[str, Any] | None) -> bytes:
    body = b"".join(b"id: %d\ndata: %s\n\n" % (e["seq"], json.dumps(e).encode()) for e in events)
    if done is None:
        return body
    return body + b"event: done\ndata: " + json.dumps(done).encode() + b"\n\n"


def _event(seq: int) -> dict[str, Any]:
    return {"time": "", "phase": "tofu", "level": "info", "message": f"m{seq}", "seq": seq}


def test_follow_retries_5xx_and_resumes_after_the_last_seq() -> None:
    seen_headers: list[str | None] = []
    answers = [
        httpx.Response(200, content=_sse(_event(1), _event(2), done=None)),
        httpx.Response(503, json={"error": "store-unavailable", "detail": "try later"}),
        httpx.Response(200, content=_sse(_event(2), _event(3), done={"status": "ready"})),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        seen_headers.append(request.headers.get("last-event-id"))
        return answers.pop(0)

    delivered: list[int] = []
    reasons: list[str] = []
    with ApiClient("http://api.test", transport=httpx.MockTransport(handler)) as client:
        state = follow_log(
            client,
            "abc",
            lambda e: delivered.append(e["seq"]),
            backoff=Backoff(initial=0.001),
            on_reconnect=lambda reason, seq, delay: reasons.append(reason),
        )
    assert state["status"] == "ready"
    assert delivered == [1, 2, 3]  # seq 2 was sent again after the resume and skipped
    assert seen_headers == [None, "2", "2"]
    assert reasons == [
        "stream closed before the run finished",
        "HTTP 503: store-unavailable: try later",
    ]


def test_follow_does_not_retry_a_4xx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="deployment not found\n")

    with (
        ApiClient("http://api.test", transport=httpx.MockTransport(handler)) as client,
        pytest.raises(ApiError) as err,
    ):
        follow_log(client, "abc", lambda e: None, backoff=Backoff(initial=0.001))
    assert str(err.value) == "HTTP 404: deployment not found"


def test_tofu_progress_drives_the_bar_of_the_current_step() -> None:
    view = RunView()
    view.apply({"time": "", "phase": "tofu-init", "level": "info", "message": "init"})
    view.apply({"time": "", "phase": "tofu", "level": "info", "message": "Initializing"})
    view.apply({"time": "", "phase": "tofu-apply", "level": "info", "message": "apply"})
    for done in (0, 2, 5):
        view.apply(
            {
                "time": "",
                "phase": "tofu",
                "level": "info",
                "message": "Creation complete",
                "progress": {"done": done, "total": 5},
            }
        )
    assert list(view.phases) == ["tofu-init", "tofu-apply"]
    assert view.phases["tofu-init"].status == "done"
    apply = view.phases["tofu-apply"]
    assert (apply.status, apply.done, apply.total) == ("running", 5, 5)


def test_components_count_towards_the_bootstrap_kit_and_a_failed_run_marks_its_last_phase() -> None:
    view = RunView()
    view.apply({"time": "", "phase": "kubeconfig", "level": "info", "message": "waiting"})
    for name, state in (("flux", "installing"), ("cilium", "installed"), ("flux", "failed")):
        view.apply(
            {
                "time": "",
                "phase": "component",
                "level": "info",
                "message": state,
                "component": name,
                "state": state,
            }
        )
    view.apply({"time": "", "phase": "component-log", "level": "info", "message": "helm says"})
    assert [c.name for c in view.ordered_components()] == ["cilium", "flux"]
    comp = view.phases["component"]
    assert (comp.done, comp.total, comp.last_message) == (2, 11, "helm says")
    view.finish({"status": "failed", "componentStates": {"cilium": "installed", "flux": "failed"}})  # type: ignore[typeddict-item]
    assert view.phases["kubeconfig"].status == "done"
    assert view.phases["component"].status == "failed"


def test_waiting_lines_and_watch_messages_stay_in_the_component_phase() -> None:
    view = RunView()
    event = {"time": "", "phase": "component", "level": "info", "message": "observed"}
    view.apply({**event, "component": "flux", "state": "pending"})  # type: ignore[typeddict-item]
    view.apply(
        {
            "time": "",
            "phase": "component-log",
            "level": "info",
            "message": '{"msg":"dependencies do not meet ready condition"}',
            "component": "flux",
            "state": "pending",
        }
    )
    view.apply(
        {"time": "", "phase": "phase1-watch", "level": "warn", "message": "watch terminated"}
    )
    assert list(view.phases) == ["component"]
    assert view.phases["component"].last_message == "watch terminated"
    assert (view.components["flux"].state, view.components["flux"].message) == (
        "pending",
        "observed",
    )
    assert view.components["flux"].depends_on == ("cert-manager",)  # the kit's DAG
    assert ComponentView("openbao", "pending").depends_on == ("spire",)


def test_plain_event_line_carries_seq_component_state_and_progress() -> None:
    line = event_line(
        {
            "time": "2026-04-29T12:57:03Z",
            "phase": "tofu",
            "level": "info",
            "message": "Apply complete",
            "progress": {"done": 3, "total": 3},
            "seq": 42,
        }
    )
    assert line == "#42 2026-04-29T12:57:03Z tofu info Apply complete [3/3]"
    line = event_line(
        {
            "time": "",
            "phase": "component",
            "level": "error",
            "message": "Helm install failed",
            "component": "keycloak",
            "state": "failed",
        }
    )
    assert line == "#- - component error keycloak failed: Helm install failed"
