"""The Day-2 Crossplane claims (spec §10.2): kinds, names, labels, and how a claim is doing.

Every Day-2 change is a Composite Resource Claim `infra.openova.io/v1alpha1` `<Kind>` in the
namespace `catalyst-day2` of the Sovereign, named `XRCName(deployment, noun, slug)`. Each kind
has one *noun* — the word the create puts in the name (`region`, `pool`, `lb`, `fw`…) — and
the DELETE route's aliases resolve to that same noun, so a delete through any alias removes the
claim the create wrote (the original built the name from the alias: spec §13 item 10).
Node actions are the exception: their noun is the action verb (`cordon|drain|replace`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kube import ResourceRef

__all__ = [
    "ANNOTATION_ACTION",
    "ANNOTATION_DIFF",
    "CLAIM_KINDS",
    "CLAIM_NAMESPACE",
    "INFRA_API_VERSION",
    "INFRA_GROUP",
    "LABEL_DEPLOYMENT_ID",
    "LABEL_NODE_POOL",
    "LABEL_OWNER",
    "NODE_ACTIONS",
    "OWNER",
    "ClaimKind",
    "ClaimPhase",
    "claim_object",
    "claim_phase",
    "kind_for_alias",
    "kind_named",
    "xrc_name",
]

Obj = dict[str, Any]

INFRA_GROUP = "infra.openova.io"
INFRA_VERSION = "v1alpha1"
INFRA_API_VERSION = f"{INFRA_GROUP}/{INFRA_VERSION}"
CLAIM_NAMESPACE = "catalyst-day2"
LABEL_OWNER = "catalyst.openova.io/owner"
OWNER = "catalyst-api"
LABEL_DEPLOYMENT_ID = "catalyst.openova.io/deployment-id"
ANNOTATION_ACTION = "catalyst.openova.io/action"
ANNOTATION_DIFF = "catalyst.openova.io/diff"
LABEL_NODE_POOL = "catalyst.openova.io/node-pool"
"""On a Node: the NodePoolClaim (name) that brought it (the sandbox's stand-in sets it)."""

NODE_ACTIONS = ("cordon", "drain", "replace")


@dataclass(frozen=True, slots=True)
class ClaimKind:
    """One claim kind: its `Kind`, the noun its names carry, the cascade kind of the resource
    it describes, and the DELETE path aliases that reach it."""

    kind: str
    noun: str
    resource: str
    aliases: tuple[str, ...]

    @property
    def plural(self) -> str:
        """lower(kind) + "s" (`RegionClaim` → `regionclaims`), as the original derives it."""
        return self.kind.lower() + "s"

    @property
    def cache_kind(self) -> str:
        """The k8scache wire name of this kind (`regionclaim`)."""
        return self.kind.lower()

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(INFRA_GROUP, INFRA_VERSION, self.kind, self.plural)

    def names_for(self, deployment_id: str, resource_id: str) -> list[str]:
        """Candidate claim names a DELETE of `resource_id` means: the name itself when it
        already is one of this deployment's claim names, then the name the create wrote."""
        nouns = NODE_ACTIONS if self.kind == "NodeActionClaim" else (self.noun,)
        out: list[str] = []
        prefix = xrc_name(deployment_id, "", "") + "-"
        if resource_id.lower().startswith(prefix):
            out.append(resource_id.lower())
        for noun in nouns:
            name = xrc_name(deployment_id, noun, resource_id)
            if name not in out:
                out.append(name)
        return out


CLAIM_KINDS: tuple[ClaimKind, ...] = (
    ClaimKind("RegionClaim", "region", "region", ("regions", "region")),
    ClaimKind("ClusterClaim", "cluster", "cluster", ("clusters", "cluster")),
    ClaimKind("VClusterClaim", "vcluster", "vcluster", ("vclusters", "vcluster")),
    ClaimKind("NodePoolClaim", "pool", "pool", ("pools", "pool", "nodepools", "nodepool")),
    ClaimKind("LoadBalancerClaim", "lb", "lb", ("loadbalancers", "loadbalancer", "lb")),
    ClaimKind("PeeringClaim", "peering", "peering", ("peerings", "peering")),
    ClaimKind(
        "FirewallRuleClaim",
        "fw",
        "firewall",
        ("firewalls", "firewall", "firewallrules", "firewallrule"),
    ),
    ClaimKind("NodeActionClaim", "node", "node", ("nodes", "node")),
)

_BY_ALIAS = {alias: ck for ck in CLAIM_KINDS for alias in ck.aliases}
_BY_KIND = {ck.kind: ck for ck in CLAIM_KINDS}


def kind_for_alias(alias: str) -> ClaimKind | None:
    """The claim kind a DELETE path segment names (case-insensitive), or None."""
    return _BY_ALIAS.get(alias.strip().lower())


def kind_named(kind: str) -> ClaimKind:
    """The claim kind for a `Kind` (`KeyError` if unknown)."""
    return _BY_KIND[kind]


def _sanitize(text: str) -> str:
    out = "".join(c if ("a" <= c <= "z" or "0" <= c <= "9" or c in "-.") else "-" for c in text)
    return out.strip("-.")


def xrc_name(deployment_id: str, noun: str, slug: str) -> str:
    """`<dep[:8]>-<noun>-<slug>`: lower-cased, characters outside `[a-z0-9.-]` → `-`, trimmed of
    `-`/`.`, at most 63 characters (trimmed again after the cut, so the name stays a valid
    DNS-1123 subdomain), `x` when nothing is left. Empty parts are skipped."""
    parts = [
        p for p in (deployment_id.strip()[:8], noun.strip().lower(), slug.strip().lower()) if p
    ]
    name = _sanitize("-".join(parts).lower())
    name = name[:63].strip("-.")
    return name or "x"


def claim_object(
    claim: ClaimKind, *, name: str, deployment_id: str, action: str, diff: str, spec: Obj
) -> Obj:
    """The claim as written: apiVersion/kind, namespace `catalyst-day2`, the owner and
    deployment labels, the action/diff annotations (each only when non-empty), `spec`."""
    annotations = {k: v for k, v in ((ANNOTATION_ACTION, action), (ANNOTATION_DIFF, diff)) if v}
    meta: Obj = {
        "name": name,
        "namespace": CLAIM_NAMESPACE,
        "labels": {LABEL_OWNER: OWNER, LABEL_DEPLOYMENT_ID: deployment_id},
    }
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": INFRA_API_VERSION, "kind": claim.kind, "metadata": meta, "spec": spec}


@dataclass(frozen=True, slots=True)
class ClaimPhase:
    """Where a claim stands: `pending` (not picked up yet), `synced` (Crossplane accepted it,
    not Ready), `ready`, `failed`; `reason`/`message` from the deciding condition."""

    phase: str
    reason: str = ""
    message: str = ""

    @property
    def terminal(self) -> bool:
        return self.phase in ("ready", "failed")

    @property
    def topology_status(self) -> str:
        """The topology vocabulary: healthy / failed / pending."""
        return {"ready": "healthy", "failed": "failed"}.get(self.phase, "pending")

    @property
    def job_status(self) -> str:
        return {"ready": "succeeded", "failed": "failed", "synced": "running"}.get(
            self.phase, "pending"
        )


_FAILURE_REASONS = frozenset({"ReconcileError", "Failed", "CompositionFailed"})


def _conditions(obj: Obj) -> dict[str, Obj]:
    status = obj.get("status")
    raw = status.get("conditions") if isinstance(status, dict) else None
    out: dict[str, Obj] = {}
    for cond in raw if isinstance(raw, list) else []:
        if isinstance(cond, dict) and isinstance(cond.get("type"), str):
            out[cond["type"]] = cond
    return out


def claim_phase(obj: Obj, *, generation: int = 0) -> ClaimPhase:
    """Read Crossplane's `Synced` / `Ready` conditions. A condition that names an
    `observedGeneration` older than `generation` (the one this service wrote) is not about
    this change yet. Failed: `Synced=False`, or `Ready=False` with a failure reason."""
    conds = _conditions(obj)

    def current(cond: Obj) -> bool:
        seen = cond.get("observedGeneration")
        return not (isinstance(seen, int) and generation and seen < generation)

    synced, ready = conds.get("Synced"), conds.get("Ready")
    for cond in (synced, ready):
        if cond is None or not current(cond) or cond.get("status") != "False":
            continue
        if cond is synced or cond.get("reason") in _FAILURE_REASONS:
            return ClaimPhase(
                "failed", str(cond.get("reason") or ""), str(cond.get("message") or "")
            )
    if ready is not None and current(ready) and ready.get("status") == "True":
        return ClaimPhase("ready", str(ready.get("reason") or ""), str(ready.get("message") or ""))
    if synced is not None and current(synced) and synced.get("status") == "True":
        waiting = ready if ready is not None else synced
        return ClaimPhase(
            "synced", str(waiting.get("reason") or ""), str(waiting.get("message") or "")
        )
    return ClaimPhase("pending")
