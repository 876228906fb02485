"""Fixtures: fake kube-apiservers on loopback standing in for Sovereigns, and a running cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.k8scache import CacheMetrics, CacheTimings, K8sCache, build_registry
from catalyst_api.kube import WatchTiming
from catalyst_sandbox.fakekube import FakeKubeServer

FAST_WATCH = WatchTiming(server_timeout=30, inactivity=5, backoff_initial=0.02, backoff_max=0.2)
FAST = CacheTimings(
    rescan=3600, snapshot=3600, recheck_unserved=5, watch=FAST_WATCH, request_timeout=2.0
)


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait for an observable condition (polling), failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not reached in time: {what}"
        await asyncio.sleep(0.01)


def configmap(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def pod(name: str, ns: str = "default", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


@pytest.fixture
async def kube() -> AsyncIterator[FakeKubeServer]:
    async with FakeKubeServer(token="t0ken") as server:
        yield server


@pytest.fixture
def kubeconfigs(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfigs"
    path.mkdir()
    return path


@pytest.fixture
def snapshot_dir(tmp_path: Path) -> Path:
    return tmp_path / "snapshots"


@pytest.fixture
def make_cache(kubeconfigs: Path, snapshot_dir: Path) -> Callable[..., K8sCache]:
    def build(**kw: Any) -> K8sCache:
        return K8sCache(
            kubeconfigs_dir=kw.pop("kubeconfigs_dir", kubeconfigs),
            snapshot_dir=kw.pop("snapshot_dir", snapshot_dir),
            registry=kw.pop("registry", build_registry()),
            metrics=kw.pop("metrics", CacheMetrics()),
            timings=kw.pop("timings", FAST),
            **kw,
        )

    return build
