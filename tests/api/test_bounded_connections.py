"""Anonymous clients cannot pin memory or connections (issue 10): the server `catalyst-api serve`
runs (`serving.uvicorn_config`) on loopback, raw sockets that send slowly or never read."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from catalyst_api.config import Settings
from catalyst_api.events import Event
from catalyst_api.serving import WRITE_HIGH_WATER, uvicorn_config
from catalyst_api.wiring import Overrides
from support.fakes import ScriptedProvisioner
from support.server import LiveServer
from support.waiting import wait_for, wait_status

Body = Callable[..., dict[str, Any]]


class ServeServer(LiveServer):
    """A LiveServer running with the production uvicorn configuration."""

    def __init__(self, settings: Settings, overrides: Overrides) -> None:
        from catalyst_api.app import create_app

        super().__init__(create_app(settings, overrides=overrides))
        config = uvicorn_config(
            self.app, settings, host="127.0.0.1", port=self.port, timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)


@pytest.fixture
def serve() -> Iterator[Callable[[Settings, Overrides], ServeServer]]:
    started: list[ServeServer] = []

    def start(settings: Settings, overrides: Overrides) -> ServeServer:
        server = ServeServer(settings, overrides)
        started.append(server)
        server.start()
        provisioner = overrides.provisioner
        if isinstance(provisioner, ScriptedProvisioner) and provisioner.postback_base == "auto":
            provisioner.postback_base = server.url
        return server

    yield start
    for server in started:
        server.stop()


def _raw(server: LiveServer, request: bytes = b"", rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", server.port))
    if request:
        sock.sendall(request)
    return sock


def _read_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (fails loudly if it never does)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _metric(server: LiveServer, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _get_logs(dep: str) -> bytes:
    return f"GET /api/v1/deployments/{dep}/logs HTTP/1.1\r\nHost: t\r\n\r\n".encode()


def test_clients_that_never_read_are_disconnected_with_little_queued(
    make_settings, serve, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = serve(make_settings(CATALYST_WRITE_TIMEOUT="2s"), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    stream = server.services.hub.stream(dep)
    for i in range(2000):  # ~8 MB of history: far more than the loopback socket buffers hold
        server.call(lambda i=i: stream.emit(Event(phase="tofu", message=f"{i} " + "x" * 4000)))
    clients = [_raw(server, _get_logs(dep), rcvbuf=4096) for _ in range(5)]
    connections = server.server.server_state.connections

    def stalled() -> list[int] | None:
        sizes = [c.transport.get_write_buffer_size() for c in list(connections) if c.flow]
        paused = [c for c in list(connections) if c.flow and c.flow.write_paused]
        return sizes if len(paused) == len(clients) else None

    sizes = wait_for(lambda: server.call(stalled), timeout=10)
    # What waits in user space for a stuck client: the high-water mark plus one replay chunk.
    assert max(sizes) <= WRITE_HIGH_WATER + 32 * 1024, sizes
    wait_for(lambda: server.call(server.services.hub.subscriber_total) == 0, timeout=10)
    assert _metric(server, "catalyst_http_slow_clients_disconnected_total") == len(clients)
    for sock in clients:
        _read_until_closed(sock)  # the server closed it: EOF or reset, never a hang
        sock.close()
    total = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    resumed = httpx.get(
        f"{server.url}/api/v1/deployments/{dep}/logs",
        headers={"Last-Event-ID": str(total - 3)},
        timeout=10,
    ).text
    assert resumed.count("\ndata: ") == 4  # the three newer events, then `done`


def test_events_readers_that_never_read_queue_little(
    make_settings, serve, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = serve(make_settings(CATALYST_WRITE_TIMEOUT="30s"), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    stream = server.services.hub.stream(dep)
    for i in range(2000):
        server.call(lambda i=i: stream.emit(Event(phase="tofu", message=f"{i} " + "x" * 4000)))
    request = f"GET /api/v1/deployments/{dep}/events HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    clients = [_raw(server, request, rcvbuf=4096) for _ in range(3)]
    connections = server.server.server_state.connections

    def stalled() -> list[int] | None:
        paused = [c for c in list(connections) if c.flow and c.flow.write_paused]
        if len(paused) < len(clients):
            return None
        return [c.transport.get_write_buffer_size() for c in paused]

    sizes = wait_for(lambda: server.call(stalled), timeout=10)
    assert max(sizes) <= WRITE_HIGH_WATER + 32 * 1024, sizes  # not the 8 MB document
    for sock in clients:
        sock.close()


def test_streams_past_the_cap_get_503_too_many_streams(
    make_settings, serve, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    overrides = scripted_overrides(ScriptedProvisioner(gate=gate, postback_base="auto"))
    server = serve(make_settings(CATALYST_SSE_MAX_STREAMS="2"), overrides)
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    try:
        open_streams = [_raw(server, _get_logs(dep)) for _ in range(2)]
        wait_for(lambda: server.call(server.services.hub.subscriber_total) == 2)
        resp = httpx.get(f"{server.url}/api/v1/deployments/{dep}/logs")
        assert resp.status_code == 503
        assert resp.json()["error"] == "too-many-streams"
        assert resp.json()["detail"]
        assert int(resp.headers["retry-after"]) > 0
        assert _metric(server, "catalyst_sse_rejected_total") == 1
        open_streams.pop().close()
        wait_for(lambda: server.call(server.services.hub.subscriber_total) == 1)
        with httpx.stream("GET", f"{server.url}/api/v1/deployments/{dep}/logs") as ok:
            assert ok.status_code == 200
    finally:
        gate.set()
    wait_status(server.url, dep, {"ready"})
    for sock in open_streams:
        sock.close()


def test_partial_request_headers_get_408_and_are_closed(
    make_settings, serve, scripted_overrides
) -> None:  # type: ignore[no-untyped-def]
    server = serve(make_settings(CATALYST_REQUEST_HEADER_TIMEOUT="300ms"), scripted_overrides())
    partial = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    silent = _raw(server)
    for sock in (partial, silent):
        answer = _read_until_closed(sock, timeout=5)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'"error":"request-timeout"' in answer
        sock.close()
    assert _metric(server, "catalyst_http_request_timeouts_total") == 2
    # A complete request on a fresh connection is unaffected.
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_oversized_request_headers_get_431(make_settings, serve, scripted_overrides) -> None:  # type: ignore[no-untyped-def]
    server = serve(make_settings(), scripted_overrides())
    sock = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ")
    try:
        for _ in range(40):
            sock.sendall(b"a" * 4096)
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = _read_until_closed(sock, timeout=5)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_partial_request_body_gets_408_request_timeout(
    make_settings, serve, scripted_overrides
) -> None:  # type: ignore[no-untyped-def]
    server = serve(make_settings(CATALYST_REQUEST_BODY_TIMEOUT="300ms"), scripted_overrides())
    sock = _raw(
        server,
        b"POST /api/v1/deployments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"orgName": ',
    )
    answer = _read_until_closed(sock, timeout=5)  # 408, then the connection is closed
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"error":"request-timeout"' in answer
    assert (
        server.call(
            lambda: len(
                server.services.deployments.registry.page(status=None, limit=10, cursor=None)[0]
            )
        )
        == 0
    )


def test_connections_past_the_cap_get_503(make_settings, serve, scripted_overrides) -> None:  # type: ignore[no-untyped-def]
    server = serve(
        make_settings(CATALYST_MAX_CONNECTIONS="3", CATALYST_REQUEST_HEADER_TIMEOUT="30s"),
        scripted_overrides(),
    )
    idle = [_raw(server) for _ in range(3)]
    wait_for(lambda: server.call(lambda: len(server.server.server_state.connections)) >= 3)
    assert httpx.get(f"{server.url}/healthz").status_code == 503
    for sock in idle:
        sock.close()
    wait_for(lambda: server.call(lambda: len(server.server.server_state.connections)) == 0)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
