"""`logs --follow` survives dropped connections: it resumes with `Last-Event-ID` after the last
`seq` it printed, so no event is missing and none is printed twice."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from catalyst_api.client import ApiClient, Backoff, ClientError, StreamLost, follow_log
from support.fakes import ScriptedProvisioner
from support.waiting import wait_status


def _shut(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


class CuttingProxy:
    """A loopback TCP proxy that closes the n-th connection after `budgets[n]` response bytes
    (connections past the list are left alone) and records each request's head."""

    def __init__(self, upstream_port: int, budgets: list[int]) -> None:
        self.upstream_port = upstream_port
        self.budgets = list(budgets)
        self.request_heads: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            budget = self.budgets.pop(0) if self.budgets else None
            thread = threading.Thread(target=self._serve, args=(client, budget), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket, budget: int | None) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        self._sockets += [client, upstream]
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                break
            head += chunk
        self.request_heads.append(head.decode("latin-1"))
        upstream.sendall(head)
        sent = 0
        try:
            while budget is None or sent < budget:
                data = upstream.recv(65536)
                if not data:
                    break
                if budget is not None:
                    data = data[: budget - sent]
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            _shut(client, upstream)

    def close(self) -> None:
        self._listener.close()
        _shut(*self._sockets)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def proxy_factory() -> Iterator:  # type: ignore[type-arg]
    proxies: list[CuttingProxy] = []

    def make(upstream_url: str, budgets: list[int]) -> CuttingProxy:
        proxy = CuttingProxy(int(upstream_url.rsplit(":", 1)[1]), budgets)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def _last_event_ids(proxy: CuttingProxy) -> list[str]:
    out = []
    for head in proxy.request_heads:
        value = ""
        for line in head.split("\r\n")[1:]:
            name, _, rest = line.partition(":")
            if name.lower() == "last-event-id":
                value = rest.strip()
        out.append(value)
    return out


def test_logs_follow_resumes_after_dropped_connections_without_gaps_or_duplicates(
    make_settings, start_server, scripted_overrides, run_cli, body, proxy_factory
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(lines=80, delay=0.005, postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    # Cut the first two connections mid-stream (at byte counts that fall inside frames).
    proxy = proxy_factory(server.url, [1537, 2999])
    run = run_cli(proxy.url, "logs", dep, "--follow")
    assert run.code == 0, run.err
    total = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()["numEvents"]
    assert run.seqs() == list(range(1, total + 1))
    assert run.err.count("connection lost") == 2
    resumed = _last_event_ids(proxy)
    assert len(resumed) == 3
    assert resumed[0] == ""
    assert 0 < int(resumed[1]) < int(resumed[2]) < total
    printed = run.seqs()
    # Each reconnect asked for exactly what followed the last event printed before the cut.
    assert f"resuming after event #{resumed[1]} " in run.err
    assert f"resuming after event #{resumed[2]} " in run.err
    assert printed.index(int(resumed[1])) < printed.index(int(resumed[2]))


def test_follow_gives_up_with_stream_lost_when_every_reconnect_is_dropped(
    make_settings, start_server, scripted_overrides, body, proxy_factory
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    proxy = proxy_factory(server.url, [0, 0, 0, 0, 0])
    reconnects: list[tuple[str, int, float]] = []
    with ApiClient(proxy.url, timeout=5) as client, pytest.raises(StreamLost) as lost:
        follow_log(
            client,
            dep,
            lambda event: None,
            backoff=Backoff(initial=0.01, attempts=3),
            on_reconnect=lambda *args: reconnects.append(args),
        )
    assert f"lost the event stream of {dep} after event #0" in str(lost.value)
    assert [delay for _, _, delay in reconnects] == [0.01, 0.02, 0.04]
    assert isinstance(lost.value, ClientError)  # the CLI maps every ClientError to exit 1


def test_follow_reconnects_after_the_servers_retry_hint(
    make_settings, start_server, scripted_overrides, body, proxy_factory
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    # The first connection is cut a few bytes after the `retry: 1000` frame (found in the
    # raw bytes of a whole response), inside the first event.
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET /api/v1/deployments/{dep}/logs HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        raw = b""
        while b"event: done" not in raw:
            raw += sock.recv(65536)
    cut = raw.index(b"retry: 1000\n\n") + len(b"retry: 1000\n\n") + 12
    proxy = proxy_factory(server.url, [cut])
    reconnects: list[tuple[str, int, float]] = []
    slept: list[float] = []
    with ApiClient(proxy.url, timeout=5) as client:
        state = follow_log(
            client,
            dep,
            lambda event: None,
            backoff=Backoff(initial=0.01),
            on_reconnect=lambda *args: reconnects.append(args),
            sleep=slept.append,
        )
    assert state["status"] == "ready"
    assert [delay for _, _, delay in reconnects] == [1.0]  # the server's hint, not 0.01
    assert slept == [1.0]
