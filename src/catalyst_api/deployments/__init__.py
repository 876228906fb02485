"""Deployments: the record, its state machine and the service behind the deployment routes.

What: `DeploymentService` creates deployments (validation, pool reservation, persistence),
answers reads, accepts the kubeconfig postback, and runs Phase 0 → DNS → Phase 1, retries and
destroys in the background (`Runs`, owned by `RunSupervisor`).
Setup: `wiring.build_services` builds it with its `Collaborators` (store, event hub, backends).
Trade-off: state lives in memory and is written through on every change; the event history is
kept out of the record so emitting never rewrites it.
"""

from .kubeconfigs import KubeconfigFiles
from .machine import PHASE0_NAMES, PHASE1_NAMES
from .models import Deployment, DeploymentRequest, Result, Status
from .ports import (
    DnsError,
    Phase1Outcome,
    Phase1Runner,
    PoolDomains,
    Provisioner,
    Reservation,
)
from .postback import KUBECONFIG_MAX_BYTES
from .runs import Collaborators, Runs
from .service import DeploymentService
from .supervisor import RunSupervisor

__all__ = [
    "KUBECONFIG_MAX_BYTES",
    "PHASE0_NAMES",
    "PHASE1_NAMES",
    "Collaborators",
    "Deployment",
    "DeploymentRequest",
    "DeploymentService",
    "DnsError",
    "KubeconfigFiles",
    "Phase1Outcome",
    "Phase1Runner",
    "PoolDomains",
    "Provisioner",
    "Reservation",
    "Result",
    "RunSupervisor",
    "Runs",
    "Status",
]
