"""The sandbox's Crossplane stand-in: claims in `catalyst-day2` become Synced then Ready
(each condition naming its generation), a claim named to fail fails, a Ready node-pool claim
brings its nodes and takes them away when it shrinks or goes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from catalyst_api.infrastructure import claim_phase
from catalyst_sandbox.crossplane import CrossplaneStandIn
from catalyst_sandbox.fakekube import FakeKubeState
from catalyst_sandbox.kit import Timings
from support.waiting import until

API = "infra.openova.io/v1alpha1"


def _claim(kind: str, claim_name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": kind,
        "metadata": {"name": claim_name, "namespace": "catalyst-day2"},
        "spec": spec,
    }


@pytest.fixture
async def state() -> Any:
    kube = FakeKubeState(addons=True)
    standin = CrossplaneStandIn(kube, timings=Timings(claim_sync=0.05, claim_ready=0.1), poll=0.01)
    task = asyncio.create_task(standin.run(), name="test-crossplane")
    await until(lambda: kube.get("v1", "Namespace", None, "catalyst-day2"), what="namespace")
    yield kube
    task.cancel()
    await asyncio.wait([task])


def _phase(kube: FakeKubeState, kind: str, name: str) -> str:
    obj = kube.get(API, kind, "catalyst-day2", name)
    gen = int(obj["metadata"]["generation"]) if obj else 0
    return claim_phase(obj, generation=gen).phase if obj else "gone"


async def test_a_claim_goes_synced_then_ready(state: FakeKubeState) -> None:
    state.create(_claim("RegionClaim", "d1-region-hel1", region="hel1"))
    seen: list[str] = []

    def ready() -> bool:
        phase = _phase(state, "RegionClaim", "d1-region-hel1")
        if not seen or seen[-1] != phase:
            seen.append(phase)
        return phase == "ready"

    await until(ready, timeout=5, what="ready")
    assert seen[0] == "pending" and "synced" in seen


async def test_a_claim_named_to_fail_fails(state: FakeKubeState) -> None:
    state.create(_claim("ClusterClaim", "d1-cluster-fail-me", name="fail-me"))
    await until(lambda: _phase(state, "ClusterClaim", "d1-cluster-fail-me") == "failed", timeout=5)
    obj = state.get(API, "ClusterClaim", "catalyst-day2", "d1-cluster-fail-me")
    assert obj is not None
    synced = next(c for c in obj["status"]["conditions"] if c["type"] == "Synced")
    assert synced["reason"] == "ReconcileError" and "injected failure" in synced["message"]


def _pool_nodes(kube: FakeKubeState, pool: str) -> list[str]:
    nodes = kube.list("v1", "Node", None, f"catalyst.openova.io/node-pool={pool}")
    return sorted(n["metadata"]["name"] for n in nodes)


async def test_a_node_pool_brings_scales_and_removes_its_nodes(state: FakeKubeState) -> None:
    state.create(_claim("NodePoolClaim", "d1-pool-gpu", name="gpu", sku="ccx33", desiredSize=2))
    await until(lambda: len(_pool_nodes(state, "d1-pool-gpu")) == 2, timeout=5, what="2 nodes")
    node = state.get("v1", "Node", None, "d1-pool-gpu-1")
    assert node is not None
    assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "ccx33"
    state.patch(API, "NodePoolClaim", "catalyst-day2", "d1-pool-gpu", {"spec": {"desiredSize": 1}})
    await until(lambda: _pool_nodes(state, "d1-pool-gpu") == ["d1-pool-gpu-1"], timeout=5)
    assert _phase(state, "NodePoolClaim", "d1-pool-gpu") == "ready"  # of generation 2
    state.delete(API, "NodePoolClaim", "catalyst-day2", "d1-pool-gpu")
    await until(lambda: _pool_nodes(state, "d1-pool-gpu") == [], timeout=5, what="nodes gone")


async def test_a_load_balancer_gets_an_address(state: FakeKubeState) -> None:
    state.create(_claim("LoadBalancerClaim", "d1-lb-public", name="public"))
    await until(lambda: _phase(state, "LoadBalancerClaim", "d1-lb-public") == "ready", timeout=5)
    obj = state.get(API, "LoadBalancerClaim", "catalyst-day2", "d1-lb-public")
    assert obj is not None and obj["status"]["publicIP"].startswith("203.0.113.")
