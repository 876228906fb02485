"""Deployments: the record, its state machine and the service behind the deployment routes.

What: `DeploymentService` creates deployments (validation, pool reservation, persistence),
answers reads, accepts the kubeconfig postback, and runs Phase 0 → DNS → Phase 1, retries and
destroys in the background (`Runs` bodies, started and ended by `RunSupervisor`). Every change
of a deployment's status goes through a named `Lifecycle` transition.
Setup: `wiring.build_services` builds it with its `Collaborators` (store, event hub, backends),
the `Lifecycle` and the `RunSupervisor`.
Trade-off: state lives in memory and is written through on every change; the event history is
kept out of the record so emitting never rewrites it.
"""

from .kubeconfigs import KubeconfigFiles
from .lifecycle import Lifecycle, Transition, TransitionRefused
from .machine import PHASE0_NAMES, PHASE1_NAMES
from .models import Deployment, DeploymentRequest, FailureStage, Result, Status
from .ports import (
    DnsError,
    Phase1Outcome,
    Phase1Runner,
    Planner,
    PoolDomains,
    Provisioner,
    Reservation,
)
from .postback import KUBECONFIG_MAX_BYTES
from .preview import PlanPreviews
from .runs import Collaborators, Runs
from .service import DeploymentService
from .supervisor import RunKind, RunSupervisor

__all__ = [
    "KUBECONFIG_MAX_BYTES",
    "PHASE0_NAMES",
    "PHASE1_NAMES",
    "Collaborators",
    "Deployment",
    "DeploymentRequest",
    "DeploymentService",
    "DnsError",
    "FailureStage",
    "KubeconfigFiles",
    "Lifecycle",
    "Phase1Outcome",
    "Phase1Runner",
    "PlanPreviews",
    "Planner",
    "PoolDomains",
    "Provisioner",
    "Reservation",
    "Result",
    "RunKind",
    "RunSupervisor",
    "Runs",
    "Status",
    "Transition",
    "TransitionRefused",
]
