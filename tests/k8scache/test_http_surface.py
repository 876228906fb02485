"""The HTTP surface on a real server: list (paging, selectors, staleness), stream (kinds, initial
state, pings), sync, SAR gating, error bodies, readiness, metrics, registration on PUT."""

from __future__ import annotations

import functools
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.client.sovereigns import sovereigns_main
from catalyst_api.config import Settings
from catalyst_api.k8scache.snapshots import write_snapshot
from catalyst_api.wiring import Overrides
from catalyst_sandbox.fakekube import FakeKubeServer, FakeKubeThread
from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.server import LiveServer

from .conftest import FAST, configmap, pod

POLICY = {
    "users": {
        "alice": [{"verbs": ["get"], "groups": [""], "resources": ["pods"], "namespaces": ["a"]}]
    }
}


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not reached in time: {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def kubes() -> Iterator[tuple[FakeKubeThread, FakeKubeThread]]:
    one = FakeKubeServer.start_in_thread(token="t1", sar_policy=POLICY)
    two = FakeKubeServer.start_in_thread(token="t2")
    try:
        for ns in ("a", "b"):
            one.state.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        two.state.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "z"}})
        for i in range(7):
            one.state.create(pod(f"p{i}", "a" if i % 2 else "b", app="web" if i < 4 else "db"))
        one.state.create(
            {
                **configmap("cfg", "a", key="value"),
                "binaryData": {"blob": "AAE="},
                "metadata": {
                    "name": "cfg",
                    "namespace": "a",
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                },
            }
        )
        one.state.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "a"},
                "data": {"password": "aHVudGVyMg=="},
            }
        )
        two.state.create(pod("other", "z"))
        yield one, two
    finally:
        one.stop()
        two.stop()


@pytest.fixture
def server(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
) -> LiveServer:
    kubeconfigs = data_root / "kubeconfigs"
    kubeconfigs.mkdir(exist_ok=True)
    kubes[0].write_kubeconfig(kubeconfigs / "one.yaml")
    kubes[1].write_kubeconfig(kubeconfigs / "two.yaml")
    overrides = Overrides(
        provisioner=ScriptedProvisioner(postback_base="auto"),
        phase1=ScriptedPhase1(),
        sse_ping_interval=0.2,
        k8scache_timings=FAST,
    )
    srv = start_server(make_settings(), overrides)
    for cluster in ("one", "two"):
        wait_for(functools.partial(_pods_synced, srv, cluster), what=f"{cluster} synced")
    return srv


def _pods_synced(server: LiveServer, cluster: str) -> bool:
    return _get(server, f"{cluster}/k8s/sync").json()["synced"].get("pod") is True


def _get(server: LiveServer, path: str, **kw: Any) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/sovereigns/{path}", timeout=10, **kw)


def _names(resp: httpx.Response) -> list[str]:
    return [o["metadata"]["name"] for o in resp.json()["items"]]


def test_list_pages_are_stable_and_selectors_filter(server: LiveServer) -> None:
    first = _get(server, "one/k8s/pods", params={"limit": "3"})
    assert first.status_code == 200
    body = first.json()
    assert body["kind"] == "pod" and body["cluster"] == "one" and "ageSeconds" in body
    assert _names(first) == ["p1", "p3", "p5"]  # sorted by namespace/name: a/* first
    second = _get(server, "one/k8s/pod", params={"limit": "3", "continue": body["continue"]})
    third = _get(server, "one/k8s/po", params={"limit": "3", "continue": second.json()["continue"]})
    assert _names(second) == ["p0", "p2", "p4"] and _names(third) == ["p6"]
    assert "continue" not in third.json()
    assert _names(_get(server, "one/k8s/pod", params={"ns": "a", "labelSelector": "app=web"})) == [
        "p1",
        "p3",
    ]
    assert _names(_get(server, "one/k8s/pod", params={"fieldSelector": "metadata.name=p4"})) == [
        "p4"
    ]
    stale = first.headers["X-Cache-Stale-Seconds"]
    assert stale.count(".") == 1 and len(stale.split(".")[1]) == 2
    assert "Warning" not in first.headers


def test_list_errors_follow_the_original(server: LiveServer) -> None:
    bad = _get(server, "one/k8s/pod", params={"labelSelector": "app in (x"})
    assert bad.status_code == 400 and bad.text.startswith("bad labelSelector: ")
    unknown = _get(server, "one/k8s/event")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown kind" and unknown.json()["kind"] == "event"
    assert "pod" in unknown.json()["availableKinds"]
    missing = _get(server, "nope/k8s/pod")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/plain")
    assert _get(server, "nope/k8s/stream").status_code == 404
    assert _get(server, "nope/k8s/sync").status_code == 404


def test_sensitive_objects_are_redacted_in_lists(server: LiveServer) -> None:
    (cfg,) = _get(server, "one/k8s/configmap", params={"ns": "a"}).json()["items"]
    assert "data" not in cfg and "binaryData" not in cfg
    assert cfg["redactedKeys"] == ["blob", "key"] and cfg["redactedValue"] == "<redacted>"
    assert "annotations" not in cfg["metadata"] or not cfg["metadata"]["annotations"]
    (secret,) = _get(server, "one/k8s/secret").json()["items"]
    assert secret["redactedKeys"] == ["password"] and "aHVudGVyMg" not in str(secret)


def test_sar_gates_lists_per_namespace_and_an_empty_user_sees_everything(
    server: LiveServer, kubes: tuple[FakeKubeThread, FakeKubeThread]
) -> None:
    alice = _get(server, "one/k8s/pod", headers={"X-Forwarded-User": "alice"})
    assert _names(alice) == ["p1", "p3", "p5"]
    assert _names(_get(server, "one/k8s/pod", headers={"X-Forwarded-User": "bob"})) == []
    assert len(_names(_get(server, "one/k8s/pod", headers={"X-Forwarded-User": ""}))) == 7
    kubes[1].faults.fail_next(5, status=500, path_contains="subjectaccessreviews")
    assert _names(_get(server, "two/k8s/pod", headers={"X-Forwarded-User": "carol"})) == []


def _frames(
    server: LiveServer, path: str, stop: Callable[[list[str]], bool], **kw: Any
) -> list[str]:
    lines: list[str] = []
    with httpx.stream("GET", f"{server.url}/api/v1/sovereigns/{path}", timeout=10, **kw) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            lines.append(line)
            if stop(lines):
                break
    return lines


def test_stream_sends_initial_state_for_the_chosen_kinds_then_live_events_and_pings(
    server: LiveServer, kubes: tuple[FakeKubeThread, FakeKubeThread]
) -> None:
    def trigger() -> None:
        time.sleep(0.3)
        kubes[1].state.create(pod("live", "z"))

    threading.Thread(target=trigger, daemon=True).start()
    lines = _frames(
        server,
        "two/k8s/stream",
        lambda ls: any('"live"' in line for line in ls) and any(": ping" in x for x in ls),
        params={"kinds": "pod,Namespace", "initialState": "1"},
    )
    assert lines[0] == ": connected cluster=two kinds=pod,Namespace"
    assert lines[1] == "retry: 1000", "reconnect hint, as on the log streams"
    data = [line for line in lines if line.startswith("data: ")]
    kinds = [d.split('"kind":"', 1)[1].split('"', 1)[0] for d in data]
    assert kinds[0] == "namespace" and "pod" in kinds  # initial state: kinds sorted by name
    first_pod = data[kinds.index("pod")]
    assert '"name":"other"' in first_pod and '"type":"ADDED"' in first_pod
    assert '"cluster":"two"' in first_pod
    assert any('"live"' in d for d in data)
    kubes[1].state.delete("v1", "Pod", "z", "live")


def test_stream_refuses_an_unknown_kind(server: LiveServer) -> None:
    resp = _get(server, "two/k8s/stream", params={"kinds": "pod,x"})
    assert resp.status_code == 400 and resp.text == 'unknown kind "x"\n'


def test_sync_readiness_and_metrics_report_the_clusters(server: LiveServer) -> None:
    sync = _get(server, "two/k8s/sync").json()
    assert sync["cluster"] == "two" and sync["synced"]["pod"] is True
    assert "vcluster" not in sync["synced"]
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["ready"] is True
    check = ready["checks"]["k8scache"]
    assert check["enabled"] is True and set(check["clusters"]) == {"one", "two"}
    metrics = httpx.get(f"{server.url}/metrics").text
    for name in ("informer_cache_size", "informer_events_total", "sse_clients_connected"):
        assert f"catalyst_k8scache_{name}" in metrics


def test_a_restart_with_a_paused_apiserver_serves_the_snapshot_with_a_stale_warning(
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
) -> None:
    kubeconfigs = data_root / "kubeconfigs"
    kubeconfigs.mkdir(exist_ok=True)
    paused = FakeKubeServer.start_in_thread(token="t")
    paused.write_kubeconfig(kubeconfigs / "paused.yaml")
    paused.faults.delay_seconds = 30
    try:
        write_snapshot(
            data_root / "cache",
            cluster="paused",
            kind="pod",
            items=[pod("from-snapshot")],
            wrote=datetime.now(UTC) - timedelta(seconds=45),
        )
        srv = start_server(make_settings(), Overrides(k8scache_timings=FAST))
        resp = _get(srv, "paused/k8s/pod")
        assert _names(resp) == ["from-snapshot"]
        assert float(resp.headers["X-Cache-Stale-Seconds"]) >= 45
        assert resp.headers["Warning"] == '110 catalyst-api "cache stale"'
        ready = httpx.get(f"{srv.url}/readyz")  # an unsynced Sovereign never fails readiness
        assert ready.status_code == 200 and ready.json()["checks"]["k8scache"]["synced"] is False
    finally:
        paused.faults.clear()
        paused.stop()


def test_a_kubeconfig_put_registers_the_cluster_at_once_and_a_destroy_drops_it(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    start_server: Callable[..., LiveServer],
    body: Callable[..., dict[str, Any]],
) -> None:
    provisioner = ScriptedProvisioner(postback_base="auto")
    provisioner.kubeconfig = kubes[1].kubeconfig_yaml().encode()
    srv = start_server(
        make_settings(),
        Overrides(provisioner=provisioner, phase1=ScriptedPhase1(), k8scache_timings=FAST),
    )
    dep = httpx.post(f"{srv.url}/api/v1/deployments", json=body()).json()["id"]
    wait_for(lambda: _get(srv, f"{dep}/k8s/sync").status_code == 200, what="registered")
    wait_for(lambda: "other" in _names(_get(srv, f"{dep}/k8s/pod")), what="listed")
    wait_for(
        lambda: httpx.get(f"{srv.url}/api/v1/deployments/{dep}").json()["status"] == "ready",
        what="ready",
    )
    assert httpx.delete(f"{srv.url}/api/v1/deployments/{dep}").status_code == 202
    wait_for(lambda: _get(srv, f"{dep}/k8s/sync").status_code == 404, what="dropped")


def test_a_subscriber_that_dropped_events_gets_a_resync_frame(server: LiveServer) -> None:
    cache = server.services.extra["k8scache"]
    ready = threading.Event()

    def flood() -> None:
        ready.wait(10)
        wait_for(lambda: server.call(cache.fanout.count) >= 1, what="subscribed")

        def burst() -> None:  # on the server's loop, faster than any reader: overflow
            for n in range(FAST.buffer + 10):
                cache.fanout.publish(
                    {
                        "cluster": "two",
                        "kind": "pod",
                        "type": "MODIFIED",
                        "object": {"n": n},
                        "at": "",
                    }
                )

        server.call(burst)

    threading.Thread(target=flood, daemon=True).start()

    def stop(lines: list[str]) -> bool:
        ready.set()
        return any(line == "event: resync" for line in lines)

    lines = _frames(server, "two/k8s/stream", stop, params={"kinds": "pod"})
    assert lines[-1] == "event: resync"


def test_the_sovereigns_client_lists_and_watches(server: LiveServer) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = {"CATALYST_API_URL": server.url}
    code = sovereigns_main(
        ["list", "one", "pods", "-n", "a", "-l", "app=web", "-o", "wide"],
        environ=env,
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "AGE", "RESOURCEVERSION", "LABELS"]
    assert [line.split()[1] for line in lines[1:]] == ["p1", "p3"]
    out = io.StringIO()
    assert sovereigns_main(["list", "one", "pod", "-o", "json"], environ=env, stdout=out) == 0
    assert len(json.loads(out.getvalue())) == 7
    err = io.StringIO()
    assert sovereigns_main(["list", "nope", "pod"], environ=env, stdout=out, stderr=err) == 1
    assert "HTTP 404" in err.getvalue()

    class Until(io.StringIO):
        def write(self, text: str) -> int:
            n = super().write(text)
            if "ADDED pod z/other" in self.getvalue():
                raise KeyboardInterrupt
            return n

    watched = Until()
    assert sovereigns_main(["watch", "two", "--kinds", "pod"], environ=env, stdout=watched) == 130
    assert watched.getvalue().splitlines()[0] == "ADDED pod z/other"


def test_stream_events_are_gated_per_event_by_sar(server: LiveServer) -> None:
    lines = _frames(
        server,
        "one/k8s/stream",
        lambda ls: any(line.startswith(": ping") for line in ls),
        params={"kinds": "pod", "initialState": "1"},
        headers={"X-Forwarded-User": "alice"},
    )
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert sorted(d["object"]["metadata"]["name"] for d in data) == ["p1", "p3", "p5"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "catalyst_k8scache_sar_cache_hits_total" in metrics


def test_k8scache_streams_and_log_streams_share_the_sse_cap(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
    body: Callable[..., dict[str, Any]],
) -> None:
    """CATALYST_SSE_MAX_STREAMS counts both kinds of stream: with a cap of 2, one k8scache
    stream and one log stream fill it, and a third stream of either kind gets 503."""
    kubeconfigs = data_root / "kubeconfigs"
    kubeconfigs.mkdir(exist_ok=True)
    kubes[1].write_kubeconfig(kubeconfigs / "two.yaml")
    gate = threading.Event()
    overrides = Overrides(
        provisioner=ScriptedProvisioner(gate=gate, postback_base="auto"),
        phase1=ScriptedPhase1(),
        k8scache_timings=FAST,
    )
    srv = start_server(make_settings(CATALYST_SSE_MAX_STREAMS="2"), overrides)
    base = f"{srv.url}/api/v1"
    wait_for(lambda: _get(srv, "two/k8s/sync").status_code == 200, what="registered")
    dep = httpx.post(f"{base}/deployments", json=body()).json()["id"]
    k8s = b"GET /api/v1/sovereigns/two/k8s/stream HTTP/1.1\r\nHost: t\r\n\r\n"
    logs = f"GET /api/v1/deployments/{dep}/logs HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    held = [_open(srv, k8s), _open(srv, logs)]
    try:
        cache = srv.services.extra["k8scache"]
        wait_for(
            lambda: (
                srv.call(lambda: (cache.fanout.count(), srv.services.hub.subscriber_total()))
                == (1, 1)
            ),
            what="both streams open",
        )
        for path in ("sovereigns/two/k8s/stream", f"deployments/{dep}/logs"):
            refused = httpx.get(f"{base}/{path}", timeout=10)
            assert refused.status_code == 503, path
            assert refused.json()["error"] == "too-many-streams"
            assert int(refused.headers["retry-after"]) > 0
        held.pop(0).close()
        wait_for(lambda: srv.call(cache.fanout.count) == 0, what="k8s stream closed")
        with httpx.stream("GET", f"{base}/sovereigns/two/k8s/stream", timeout=10) as ok:
            assert ok.status_code == 200
    finally:
        gate.set()
        for sock in held:
            sock.close()


def _open(server: LiveServer, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(request)
    return sock


def _required_server(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
    proxies: str,
) -> tuple[LiveServer, dict[str, str]]:
    from catalyst_api.auth import Role
    from catalyst_api.auth.startup import mint_into

    kubeconfigs = data_root / "kubeconfigs"
    kubeconfigs.mkdir(exist_ok=True)
    kubes[0].write_kubeconfig(kubeconfigs / "one.yaml")
    tokens_file = data_root / "auth-tokens"
    tokens = {name: mint_into(tokens_file, name, Role.ADMIN) for name in ("alice", "bob")}
    overrides = Overrides(
        provisioner=ScriptedProvisioner(postback_base="auto"),
        phase1=ScriptedPhase1(),
        k8scache_timings=FAST,
    )
    settings = make_settings(
        CATALYST_AUTH_MODE="required",
        CATALYST_AUTH_TOKENS_FILE=str(tokens_file),
        CATALYST_AUTH_TRUSTED_PROXIES=proxies,
    )
    srv = start_server(settings, overrides)
    auth = {"Authorization": f"Bearer {tokens['alice']}"}
    wait_for(lambda: _get(srv, "one/k8s/sync", headers=auth).json()["synced"].get("pod") is True)
    return srv, tokens


def test_required_mode_sar_asks_for_the_principal_never_skips_for_an_empty_user(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
) -> None:
    srv, tokens = _required_server(kubes, make_settings, data_root, start_server, "")

    def names(who: str, user_header: str) -> list[str]:
        headers = {"Authorization": f"Bearer {tokens[who]}", "X-Forwarded-User": user_header}
        return _names(_get(srv, "one/k8s/pod", headers=headers))

    assert names("alice", "") == ["p1", "p3", "p5"]
    assert names("bob", "") == []  # an empty user header no longer skips SAR
    assert names("bob", "alice") == []  # nor does the header name someone else
    assert _get(srv, "one/k8s/pod", headers={"X-Forwarded-User": "alice"}).status_code == 401


def test_trusted_proxy_headers_feed_sar_and_untrusted_ones_are_ignored(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
) -> None:
    srv, _ = _required_server(kubes, make_settings, data_root, start_server, "127.0.0.1/32")
    proxied = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "staff,catalyst-admin"}
    assert _names(_get(srv, "one/k8s/pod", headers=proxied)) == ["p1", "p3", "p5"]
    no_role = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "staff"}
    assert _get(srv, "one/k8s/pod", headers=no_role).status_code == 403


def test_proxy_headers_from_an_untrusted_address_are_ignored(
    kubes: tuple[FakeKubeThread, FakeKubeThread],
    make_settings: Callable[..., Settings],
    data_root: Path,
    start_server: Callable[..., LiveServer],
) -> None:
    srv, _ = _required_server(kubes, make_settings, data_root, start_server, "192.0.2.0/24")
    proxied = {"X-Forwarded-User": "alice", "X-Forwarded-Groups": "catalyst-admin"}
    resp = _get(srv, "one/k8s/pod", headers=proxied)
    assert resp.status_code == 401
    assert resp.json()["error"] == "unauthenticated"
    listing = httpx.get(f"{srv.url}/api/v1/deployments", headers=proxied)
    assert listing.status_code == 401
