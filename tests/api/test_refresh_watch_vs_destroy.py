"""refresh-watch and DELETE keep apart (issue 10): each is refused with 409 while the other
runs, and refresh-watch on a destroyed deployment answers 409 at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from catalyst_api.events import Emit
from catalyst_api.provisioner import ProvisionJob
from catalyst_sandbox.fakekube import FakeKubeServer
from support.fakes import ScriptedProvisioner
from support.waiting import wait_for, wait_status

# Behaviour suite: runs on the flat files and on PostgreSQL.
pytestmark = [
    pytest.mark.both_backends,
    pytest.mark.timeout(60),  # watch and destroy runs per test; the default is 15 s
]

Body = Callable[..., dict[str, Any]]


@dataclass
class GatedDestroyProvisioner(ScriptedProvisioner):
    """`destroy` waits for `destroy_gate` (set by the test) before it finishes."""

    destroy_gate: threading.Event = field(default_factory=threading.Event)

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        while not self.destroy_gate.is_set():
            await asyncio.sleep(0.01)
        await super().destroy(job, emit)


def _refresh(url: str, dep: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/deployments/{dep}/refresh-watch", timeout=30)


def _unreachable_kubeconfig() -> bytes:
    """A well-formed kubeconfig whose apiserver is gone: a refresh watcher never syncs."""
    gone = FakeKubeServer.start_in_thread(token="t")
    kubeconfig = gone.kubeconfig_yaml().encode()
    gone.stop()
    return kubeconfig


def test_refresh_watch_on_a_destroyed_deployment_is_409_at_once(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto", kubeconfig=_unreachable_kubeconfig())
    server = start_server(make_settings(), scripted_overrides(prov))
    server.call(lambda: setattr(server.services.watches, "seed_timeout", 30.0))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    assert httpx.delete(f"{server.url}/api/v1/deployments/{dep}").status_code == 202
    wait_status(server.url, dep, {"destroyed"})

    resp = httpx.post(f"{server.url}/api/v1/deployments/{dep}/refresh-watch", timeout=5)
    assert resp.status_code == 409
    assert resp.json()["error"] == "deployment-destroyed"
    assert (
        httpx.get(f"{server.url}/api/v1/deployments/{dep}/components/state").json()["watching"]
        is False
    )


def test_refresh_watch_while_a_destroy_runs_is_409_destroy_running(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = GatedDestroyProvisioner(postback_base="auto", kubeconfig=_unreachable_kubeconfig())
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    try:
        assert httpx.delete(f"{server.url}/api/v1/deployments/{dep}").status_code == 202
        resp = _refresh(server.url, dep)
        assert resp.status_code == 409
        assert resp.json()["error"] == "destroy-running"
    finally:
        prov.destroy_gate.set()
    wait_status(server.url, dep, {"destroyed"})


def test_delete_while_a_refresh_watch_runs_is_409_and_a_later_destroy_stops_the_watcher(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto", kubeconfig=_unreachable_kubeconfig())
    server = start_server(make_settings(), scripted_overrides(prov))
    server.call(lambda: setattr(server.services.watches, "seed_timeout", 2.0))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    deployments = server.services.deployments

    with ThreadPoolExecutor(1) as pool:
        refresh = pool.submit(_refresh, server.url, dep)
        wait_for(lambda: deployments.refreshing.get(dep))  # the refresh is waiting for its seed
        refused = httpx.delete(f"{server.url}/api/v1/deployments/{dep}")
        assert refused.status_code == 409
        assert refused.json()["error"] == "watch-refresh-running"
        assert refresh.result().status_code == 504  # the unreachable cluster never syncs
    assert deployments.get(dep).status == "ready"

    # The refresh watcher keeps observing in the background; a destroy now stops it.
    state_url = f"{server.url}/api/v1/deployments/{dep}/components/state"
    assert httpx.get(state_url).json()["watching"] is True
    assert httpx.delete(f"{server.url}/api/v1/deployments/{dep}").status_code == 202
    wait_for(lambda: httpx.get(state_url).json()["watching"] is False)
    wait_status(server.url, dep, {"destroyed"})
