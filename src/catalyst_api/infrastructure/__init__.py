"""The Sovereign Infrastructure page and the dashboard treemap (spec §10, issue 13).

What: `InfrastructureService` answers the topology and the legacy compute/storage/network
views (the deployment record plus live reads of the Sovereign — from the k8scache when it holds
the cluster, else the apiserver), writes Day-2 changes as Crossplane claims
(`infra.openova.io/v1alpha1`, namespace `catalyst-day2`) with an audit job each, and follows
every claim's Synced/Ready conditions into its job and the deployment's event stream.
`treemap` computes the dashboard treemap from the pods, PVCs, PodMetrics and HelmReleases the
k8scache holds.
Setup: `wiring.build_services` builds the service with the deployment lookup, the jobs store,
the k8scache and the event hub; `api/infrastructure.py` and `api/dashboard.py` are the routes.
Trade-offs: claim progress is polled from the cache (cheap) rather than streamed; after a
restart `resume()` follows again every claim whose audit job is still open.
"""

from .claims import CLAIM_KINDS, CLAIM_NAMESPACE, ClaimKind, ClaimPhase, claim_phase, xrc_name
from .live import LiveData, LiveReader
from .mutations import BODY_CAP, MutationRequest
from .service import SUBMITTED, InfrastructureService
from .treemap import ClusterObjects, TreemapQuery, parse_query, render, workloads

__all__ = [
    "BODY_CAP",
    "CLAIM_KINDS",
    "CLAIM_NAMESPACE",
    "SUBMITTED",
    "ClaimKind",
    "ClaimPhase",
    "ClusterObjects",
    "InfrastructureService",
    "LiveData",
    "LiveReader",
    "MutationRequest",
    "TreemapQuery",
    "claim_phase",
    "parse_query",
    "render",
    "workloads",
    "xrc_name",
]
