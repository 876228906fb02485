"""Claim names and phases as tables; live reads straight from the apiserver when the k8scache
does not hold the Sovereign, `[]` when it cannot answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalyst_api.infrastructure import LiveReader, claim_phase, xrc_name
from catalyst_api.infrastructure.claims import kind_for_alias
from catalyst_sandbox.fakekube import FakeKubeServer, FakeKubeState


@pytest.mark.parametrize(
    ("dep", "noun", "slug", "name"),
    [
        ("ce476aaf80731a46", "region", "hel1", "ce476aaf-region-hel1"),
        ("ce476aaf80731a46", "pool", "GPU_Pool #1", "ce476aaf-pool-gpu-pool--1"),
        ("ce476aaf80731a46", "lb", "", "ce476aaf-lb"),
        ("abc", "region", "x", "abc-region-x"),
        ("", "", "", "x"),
        ("", "", "--..", "x"),
        ("ce476aaf80731a46", "fw", "é", "ce476aaf-fw"),
        ("ce476aaf80731a46", "pool", "a" * 80, "ce476aaf-pool-" + "a" * 49),
        ("ce476aaf80731a46", "pool", "a" * 48 + "-b", "ce476aaf-pool-" + "a" * 48),
    ],
)
def test_xrc_names(dep: str, noun: str, slug: str, name: str) -> None:
    assert xrc_name(dep, noun, slug) == name
    assert len(name) <= 63 and not name.endswith(("-", "."))


@pytest.mark.parametrize(
    ("alias", "kind"),
    [
        ("regions", "RegionClaim"),
        ("Region", "RegionClaim"),
        ("clusters", "ClusterClaim"),
        ("vcluster", "VClusterClaim"),
        ("nodepool", "NodePoolClaim"),
        ("POOLS", "NodePoolClaim"),
        ("lb", "LoadBalancerClaim"),
        ("loadbalancers", "LoadBalancerClaim"),
        ("peering", "PeeringClaim"),
        ("firewallrules", "FirewallRuleClaim"),
        ("firewall", "FirewallRuleClaim"),
        ("nodes", "NodeActionClaim"),
        ("buckets", None),
    ],
)
def test_delete_aliases(alias: str, kind: str | None) -> None:
    claim = kind_for_alias(alias)
    assert (claim.kind if claim else None) == kind


def test_every_alias_of_a_kind_names_the_claim_the_create_wrote() -> None:
    for alias in ("regions", "region"):
        claim = kind_for_alias(alias)
        assert claim is not None
        assert claim.names_for("ce476aaf80731a46", "hel1") == ["ce476aaf-region-hel1"]
    pool = kind_for_alias("nodepool")
    assert pool is not None
    assert pool.names_for("ce476aaf80731a46", "ce476aaf-pool-gpu") == [
        "ce476aaf-pool-gpu",
        "ce476aaf-pool-ce476aaf-pool-gpu",
    ]
    node = kind_for_alias("node")
    assert node is not None
    assert node.names_for("ce476aaf80731a46", "n1") == [
        "ce476aaf-cordon-n1",
        "ce476aaf-drain-n1",
        "ce476aaf-replace-n1",
    ]


def _c(type_: str, status: str, reason: str = "", gen: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_, "status": status, "reason": reason}
    if gen is not None:
        out["observedGeneration"] = gen
    return out


@pytest.mark.parametrize(
    ("conditions", "generation", "phase"),
    [
        ([], 1, "pending"),
        ([_c("Synced", "True")], 1, "synced"),
        ([_c("Synced", "True"), _c("Ready", "False", "Creating")], 1, "synced"),
        ([_c("Synced", "True"), _c("Ready", "True", "Available")], 1, "ready"),
        ([_c("Synced", "False", "ReconcileError")], 1, "failed"),
        ([_c("Synced", "True"), _c("Ready", "False", "Failed")], 1, "failed"),
        ([_c("Synced", "True", gen=1), _c("Ready", "True", gen=1)], 2, "pending"),
        ([_c("Synced", "True", gen=2), _c("Ready", "True", gen=1)], 2, "synced"),
        ([_c("Synced", "False", "ReconcileError", gen=1)], 2, "pending"),
    ],
    ids=[
        "none",
        "synced",
        "creating",
        "ready",
        "synced-false",
        "ready-failed",
        "stale-ready",
        "new-gen-synced",
        "stale-failure",
    ],
)
def test_claim_phases(conditions: list[dict[str, Any]], generation: int, phase: str) -> None:
    assert claim_phase({"status": {"conditions": conditions}}, generation=generation).phase == phase


async def test_without_the_cache_the_apiserver_is_read(tmp_path: Path) -> None:
    async with FakeKubeServer(token="t0ken", state=FakeKubeState(addons=True)) as kube:
        kube.state.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "catalyst-day2"}}
        )
        kube.state.create(
            {
                "apiVersion": "infra.openova.io/v1alpha1",
                "kind": "PeeringClaim",
                "metadata": {
                    "name": "d1-peering-a",
                    "namespace": "catalyst-day2",
                    "labels": {"catalyst.openova.io/deployment-id": "d1"},
                },
                "spec": {"vpcFrom": "vpc-fsn1", "vpcTo": "vpc-hel1"},
            }
        )
        kube.state.create(
            {
                "apiVersion": "infra.openova.io/v1alpha1",
                "kind": "PeeringClaim",
                "metadata": {
                    "name": "d2-peering-b",
                    "namespace": "catalyst-day2",
                    "labels": {"catalyst.openova.io/deployment-id": "d2"},
                },
            }
        )
        kubeconfig = kube.write_kubeconfig(tmp_path / "kc").read_bytes()
        live = await LiveReader(cache=None, timeout=2).read("d1", kubeconfig)
        assert [c["metadata"]["name"] for c in live.claims_of("PeeringClaim")] == ["d1-peering-a"]
        assert live.source["peeringclaim"] == "direct" and live.pvcs == []
        kube.faults.fail_next(50, status=500)
        broken = await LiveReader(cache=None, timeout=2).read("d1", kubeconfig)
        assert broken.claims_of("PeeringClaim") == [] and broken.vclusters == []
        assert broken.source["peeringclaim"] == "error"
    nothing = await LiveReader(cache=None).read("d1", None)
    assert nothing.nodes == [] and set(nothing.source.values()) == {"none"}
