"""`CrossplaneStandIn`: what Crossplane does with the Day-2 claims on a simulated Sovereign.

catalyst-api writes `infra.openova.io/v1alpha1` claims into `catalyst-day2`; on a real
Sovereign Crossplane's Compositions turn them into cloud resources and report `Synced` and
`Ready` conditions. The stand-in plays that part: a claim (or a new `metadata.generation` of
it) becomes `Synced=True` after `claim_sync` seconds and `Ready=True` after `claim_ready`
more, each condition carrying its `observedGeneration`. A claim whose name contains `fail`
ends `Synced=False` (`ReconcileError`) instead, so the failure path can be tried. A Ready
`NodePoolClaim` brings `spec.desiredSize` Ready Nodes labelled with the claim name (fewer when
it shrinks, none once it is deleted); a Ready `LoadBalancerClaim` gets a `status.publicIP`.

It polls the fake apiserver's state (every `poll` seconds); `run()` is one task, cancel it to
stop. Everything it writes goes through the fake's API, so watchers see ordinary events.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import Any

import structlog

from .fakekube import FakeKubeState, KubeApiError
from .kit import Timings
from .manifests import condition, node

__all__ = ["CLAIM_KINDS", "CLAIM_NAMESPACE", "FAIL_MARKER", "CrossplaneStandIn"]

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
API_VERSION = "infra.openova.io/v1alpha1"
CLAIM_NAMESPACE = "catalyst-day2"
CLAIM_KINDS = (
    "RegionClaim",
    "ClusterClaim",
    "VClusterClaim",
    "NodePoolClaim",
    "LoadBalancerClaim",
    "PeeringClaim",
    "FirewallRuleClaim",
    "NodeActionClaim",
)
FAIL_MARKER = "fail"
POOL_LABEL = "catalyst.openova.io/node-pool"


def _condition(type_: str, status: str, reason: str, message: str, generation: int) -> Obj:
    """A Crossplane condition: `manifests.condition` plus the generation it speaks for."""
    return {**condition(status, reason, message, type_), "observedGeneration": generation}


class CrossplaneStandIn:
    """Composes the claims of one simulated Sovereign (see the module docstring)."""

    def __init__(
        self,
        state: FakeKubeState,
        *,
        timings: Timings,
        k3s_version: str = "",
        poll: float = 0.1,
    ) -> None:
        self.state = state
        self.timings = timings
        self.k3s_version = k3s_version
        self.poll = poll
        self._seen: dict[tuple[str, str, int], float] = {}
        """(kind, name, generation) → when it was first seen."""

    def prepare(self) -> None:
        """The claims' namespace (the Sovereign's Day-2 chart would create it)."""
        with contextlib.suppress(KubeApiError):
            self.state.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CLAIM_NAMESPACE}}
            )

    async def run(self) -> None:
        """Reconcile until cancelled; an error on one pass is logged and the next goes on."""
        self.prepare()
        while True:
            try:
                self.reconcile()
            except Exception:
                log.exception("sandbox crossplane: reconcile pass failed")
            await asyncio.sleep(self.poll)

    def reconcile(self) -> None:
        """One pass over every claim (and the nodes of deleted pools)."""
        now = time.monotonic()
        pools: set[str] = set()
        for kind in CLAIM_KINDS:
            for claim in self.state.list(API_VERSION, kind, CLAIM_NAMESPACE):
                name = claim["metadata"]["name"]
                if kind == "NodePoolClaim":
                    pools.add(name)
                self._claim(kind, claim, now)
        for stale in self._pool_nodes():
            if stale["metadata"]["labels"][POOL_LABEL] not in pools:
                self._delete_node(stale["metadata"]["name"])

    def _claim(self, kind: str, claim: Obj, now: float) -> None:
        meta = claim["metadata"]
        name, generation = meta["name"], int(meta.get("generation") or 1)
        conditions = {
            c.get("type"): c
            for c in (claim.get("status") or {}).get("conditions") or []
            if isinstance(c, dict)
        }
        ready = conditions.get("Ready") or {}
        synced = conditions.get("Synced") or {}
        done = ready.get("observedGeneration") == generation
        failed = synced.get("status") == "False" and synced.get("observedGeneration") == generation
        if done or failed:
            if kind == "NodePoolClaim" and done and ready.get("status") == "True":
                self._scale_pool(claim)
            return
        first = self._seen.setdefault((kind, name, generation), now)
        elapsed = now - first
        synced_now = synced.get("observedGeneration") == generation
        if elapsed >= self.timings.claim_sync and not synced_now:
            if FAIL_MARKER in name:
                self._set(
                    kind,
                    name,
                    claim,
                    [
                        _condition(
                            "Synced",
                            "False",
                            "ReconcileError",
                            f"cannot compose {kind}: injected failure (the claim name contains "
                            f"{FAIL_MARKER!r})",
                            generation,
                        ),
                        _condition("Ready", "False", "Creating", "", generation - 1),
                    ],
                )
                return
            self._set(
                kind,
                name,
                claim,
                [
                    _condition("Synced", "True", "ReconcileSuccess", "", generation),
                    _condition("Ready", "False", "Creating", "composing resources", generation - 1),
                ],
            )
            return
        if synced_now and elapsed >= self.timings.claim_sync + self.timings.claim_ready:
            extra: Obj = {}
            if kind == "LoadBalancerClaim":
                digest = hashlib.sha256(name.encode()).digest()
                extra["publicIP"] = f"203.0.113.{digest[0] % 250 + 1}"
            self._set(
                kind,
                name,
                claim,
                [
                    _condition("Synced", "True", "ReconcileSuccess", "", generation),
                    _condition("Ready", "True", "Available", "", generation),
                ],
                extra,
            )
            if kind == "NodePoolClaim":
                self._scale_pool(self.state.get(API_VERSION, kind, CLAIM_NAMESPACE, name) or claim)

    def _set(
        self, kind: str, name: str, claim: Obj, conds: list[Obj], extra: Obj | None = None
    ) -> None:
        status = {**(claim.get("status") or {}), **(extra or {}), "conditions": conds}
        with contextlib.suppress(KubeApiError):  # deleted meanwhile
            self.state.set_status(API_VERSION, kind, CLAIM_NAMESPACE, name, status)

    def _pool_nodes(self, pool: str | None = None) -> list[Obj]:
        selector = f"{POOL_LABEL}={pool}" if pool else POOL_LABEL
        return self.state.list("v1", "Node", None, selector)

    def _scale_pool(self, claim: Obj) -> None:
        name = claim["metadata"]["name"]
        spec = claim.get("spec") or {}
        want = spec.get("desiredSize")
        want = want if isinstance(want, int) and want > 0 else 0
        have = sorted(n["metadata"]["name"] for n in self._pool_nodes(name))
        for extra in have[want:]:
            self._delete_node(extra)
        for index in range(len(have), want):
            node_name = f"{name}-{index + 1}"
            obj = node(
                node_name,
                role="worker",
                internal_ip=f"10.0.{index // 250 + 10}.{index % 250 + 2}",
                k3s_version=self.k3s_version,
            )
            labels = obj["metadata"]["labels"]
            labels[POOL_LABEL] = name
            if spec.get("sku"):
                labels["node.kubernetes.io/instance-type"] = str(spec["sku"])
            with contextlib.suppress(KubeApiError):
                self.state.create(obj)

    def _delete_node(self, name: str) -> None:
        with contextlib.suppress(KubeApiError):
            self.state.delete("v1", "Node", None, name)
