"""What a restart does with each loaded record (spec §4.6–4.7 with DESIGN item 3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalyst_api.deployments.machine import RestartAction, decide_restart
from catalyst_api.deployments.models import Deployment, DeploymentRequest, Result, Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _dep(
    status: Status,
    *,
    result: Result | None = None,
    ours: bool = False,
) -> Deployment:
    return Deployment(
        id="0123456789abcdef",
        status=status,
        request=DeploymentRequest(sovereign_fqdn="x.example"),
        started_at=T0,
        result=result,
        phase0_finished_at=T0 if ours else None,
    )


WITH_KUBECONFIG = Result(kubeconfig_path="/k/x.yaml")
FINISHED = Result(kubeconfig_path="/k/x.yaml", phase1_finished_at=T0)


@pytest.mark.parametrize(
    ("status", "result", "ours", "exists", "action"),
    [
        (Status.PROVISIONING, None, False, False, RestartAction.ORPHANED),
        (Status.TOFU_APPLYING, None, False, False, RestartAction.ORPHANED),
        (Status.PENDING, None, False, False, RestartAction.ORPHANED),
        (Status.FLUX_BOOTSTRAPPING, None, False, False, RestartAction.ORPHANED),
        (Status.DESTROYING, None, True, False, RestartAction.DESTROY_INTERRUPTED),
        (Status.PHASE1_WATCHING, None, True, False, RestartAction.ORPHANED),
        (Status.PHASE1_WATCHING, Result(), True, False, RestartAction.WAIT_FOR_KUBECONFIG),
        (Status.PHASE1_WATCHING, WITH_KUBECONFIG, True, True, RestartAction.RESUME_PHASE1),
        (Status.PHASE1_WATCHING, WITH_KUBECONFIG, True, False, RestartAction.NONE),
        (Status.PHASE1_WATCHING, FINISHED, True, True, RestartAction.NONE),
        # Spec §4.7 for records of the original service:
        (Status.READY, WITH_KUBECONFIG, False, True, RestartAction.RESUME_PHASE1),
        (Status.FAILED, WITH_KUBECONFIG, False, True, RestartAction.RESUME_PHASE1),
        (Status.READY, None, False, True, RestartAction.NONE),
        (Status.READY, Result(), False, True, RestartAction.NONE),
        (Status.READY, FINISHED, False, True, RestartAction.NONE),
        (Status.READY, WITH_KUBECONFIG, False, False, RestartAction.NONE),
        # Ours always persist the end of Phase 1; a failure after Phase 0 stays failed.
        (Status.FAILED, WITH_KUBECONFIG, True, True, RestartAction.NONE),
        (Status.DESTROYED, WITH_KUBECONFIG, True, True, RestartAction.NONE),
    ],
    ids=lambda v: getattr(v, "value", None) or str(v)[:12],
)
def test_restart_decision_table(
    status: Status, result: Result | None, ours: bool, exists: bool, action: RestartAction
) -> None:
    dep = _dep(status, result=result, ours=ours)
    assert decide_restart(dep, kubeconfig_exists=exists).action is action
