"""`serve --sandbox`: every simulated Sovereign is registered in the k8scache by its kubeconfig
PUT, so its objects are listable and streamable (issue 12, Sandbox)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from sandbox_e2e.harness import example_body, sandbox_factory

pytestmark = pytest.mark.timeout(180)  # a real sandbox server running OpenTofu


def test_a_simulated_sovereign_is_listable_from_the_cache(tmp_path: Path) -> None:
    factory = sandbox_factory(tmp_path)
    start = next(factory)
    try:
        server = start()
        dep = server.create(example_body())
        server.wait_status(dep, {"ready"}, timeout=120)
        base = f"{server.url}/api/v1/sovereigns/{dep}/k8s"
        deadline = time.monotonic() + 30
        while True:
            sync = httpx.get(f"{base}/sync", timeout=10)
            if sync.status_code == 200 and sync.json()["synced"].get("helmrelease"):
                break
            assert time.monotonic() < deadline, sync.text
            time.sleep(0.1)
        releases = httpx.get(f"{base}/helmreleases", params={"ns": "flux-system"}, timeout=10)
        names = {o["metadata"]["name"] for o in releases.json()["items"]}
        assert {"bp-cilium", "bp-flux", "bp-catalyst-platform"} <= names
        nodes = httpx.get(f"{base}/node", timeout=10).json()["items"]
        assert nodes
    finally:
        next(factory, None)  # runs the factory's cleanup: stops the server
