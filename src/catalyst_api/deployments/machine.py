"""Pure decisions of the deployment state machine: what a restart or a retry does next.

Everything here is a function of the record (and whether the kubeconfig file exists), so the
rules are tested as tables (`tests/deployments/test_restart_decisions.py`). `lifecycle.Lifecycle`
applies them: its named transitions are the only writers of a deployment's status (table:
`lifecycle.ALLOWED_FROM`, tested in `tests/deployments/test_transition_table.py`). Statuses and
transitions: spec §4.3 with DESIGN items 3, 5, 7 and 13.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..wire.kit import PHASE0_STEPS, PHASE1_RETRY_NAMES
from .models import IN_FLIGHT_PHASE0, Deployment, Status

__all__ = [
    "DESTROY_INTERRUPTED_MESSAGE",
    "PHASE0_NAMES",
    "PHASE1_NAMES",
    "RestartAction",
    "RestartDecision",
    "decide_restart",
    "orphan_message",
]

PHASE0_NAMES = PHASE0_STEPS
PHASE1_NAMES = PHASE1_RETRY_NAMES
"""The retry route's Phase 1 names (the original's spelling; see `wire.kit`)."""

DESTROY_INTERRUPTED_MESSAGE = (
    "catalyst-api restarted while destroying this deployment — some Hetzner resources may "
    "remain. Run DELETE /api/v1/deployments/{id} again (with hetznerToken) to finish the "
    "teardown."
)


def orphan_message(deployment_id: str) -> str:
    """The original's message for a deployment abandoned mid-Phase-0 (verbatim)."""
    return (
        "catalyst-api restarted during provisioning — this deployment was abandoned "
        "mid-apply. Hetzner resources tagged with "
        f"`catalyst-deployment-id={deployment_id}` are orphans and must be purged manually "
        "(hcloud server, lb, network, firewall, ssh-key) before retrying. The wizard cannot "
        "resume — start a new deployment."
    )


class RestartAction(Enum):
    NONE = "none"  # leave as loaded
    ORPHANED = "orphaned"  # Phase 0 was running: failed with the orphan message
    DESTROY_INTERRUPTED = "destroy-interrupted"  # failed, run DELETE again
    WAIT_FOR_KUBECONFIG = "wait-for-kubeconfig"  # Phase 0 done, postback not yet arrived
    RESUME_PHASE1 = "resume-phase1"  # kubeconfig on disk, Phase 1 not finished


@dataclass(frozen=True, slots=True)
class RestartDecision:
    """What `decide_restart` chose (the why of each branch is a comment there)."""

    action: RestartAction


def decide_restart(dep: Deployment, *, kubeconfig_exists: bool) -> RestartDecision:
    """What to do with a record loaded at startup."""
    status = dep.status
    result = dep.result
    if status in IN_FLIGHT_PHASE0:
        return RestartDecision(RestartAction.ORPHANED)  # phase 0 was in flight
    if status is Status.DESTROYING:
        return RestartDecision(RestartAction.DESTROY_INTERRUPTED)  # destroy was in flight
    if status is Status.PHASE1_WATCHING:
        if result is None:
            return RestartDecision(RestartAction.ORPHANED)  # phase1-watching without a result
        if result.phase1_finished_at is not None:
            return RestartDecision(RestartAction.NONE)  # phase 1 already finished
        if result.kubeconfig_path and kubeconfig_exists:
            return RestartDecision(RestartAction.RESUME_PHASE1)  # watch was in flight
        if result.kubeconfig_path:
            return RestartDecision(RestartAction.NONE)  # kubeconfig file lost
        return RestartDecision(RestartAction.WAIT_FOR_KUBECONFIG)  # postback not yet received
    # Spec §4.7, for records written by the original (ours always persist the end of Phase 1,
    # and a failure of ours after Phase 0 must stay failed): resume the watch.
    if (
        status in (Status.READY, Status.FAILED)
        and dep.phase0_finished_at is None
        and result is not None
        and result.kubeconfig_path
        and result.phase1_finished_at is None
        and kubeconfig_exists
    ):
        return RestartDecision(RestartAction.RESUME_PHASE1)  # phase 1 never finished
    return RestartDecision(RestartAction.NONE)
