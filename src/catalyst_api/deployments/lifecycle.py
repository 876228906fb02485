"""The deployment lifecycle: the only writer of a deployment's status, failure stage, error and
timestamps (DESIGN item 13).

`Lifecycle` applies named transitions (`phase0_succeeded`, `fail`, `begin_retry`,
`begin_destroy`, `destroyed`, `watch_phase1`, `phase1_finished`, `kubeconfig_captured`, the
restart rules) and persists each one once, through its one shielded save, so a cancelled caller
still writes the outcome. A transition asked from a status `ALLOWED_FROM` does not list raises
`TransitionRefused`: the service answers the wire's 409s before it asks, so a refusal is a bug
(inside a run it ends the run `failed`, see `RunSupervisor`). The table is tested pair by pair in
`tests/deployments/test_transition_table.py`. The pure decisions (`decide_restart`, the phase
names, the verbatim messages) stay in `machine.py`; this module applies them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum

from ..provisioner import Phase0Outputs
from ..store.ports import RecordStorage
from ..timefmt import utcnow
from .machine import DESTROY_INTERRUPTED_MESSAGE, RestartAction, decide_restart, orphan_message
from .models import IN_FLIGHT_PHASE0, Deployment, FailureStage, Result, Status
from .ports import Phase1Outcome
from .registry import IN_PROGRESS

__all__ = [
    "ALLOWED_FROM",
    "DESTROY_CANCELLED_MESSAGE",
    "FLUX_NOT_RECONCILING_MESSAGE",
    "IN_PROGRESS",
    "Lifecycle",
    "Transition",
    "TransitionRefused",
    "crash_stage",
]

DESTROY_CANCELLED_MESSAGE = "destroy interrupted by a catalyst-api shutdown — run DELETE again"

FLUX_NOT_RECONCILING_MESSAGE = (
    "Phase 1 watch saw zero HelmReleases — the bootstrap-kit Kustomization on the new Sovereign "
    "is not reconciling. Operator: inspect `flux get kustomization -n flux-system` and "
    "`kubectl describe kustomization -n flux-system` on the new cluster (see "
    'docs/RUNBOOK-PROVISIONING.md §"Phase 1 watch shows 0 HelmReleases").'
)


class Transition(StrEnum):
    """Every way a deployment's lifecycle fields change (create builds a `provisioning` one)."""

    PHASE0_SUCCEEDED = "phase0_succeeded"
    DNS_COMMITTED = "dns_committed"
    FAIL = "fail"
    BEGIN_RETRY = "begin_retry"
    BEGIN_DESTROY = "begin_destroy"
    DESTROYED = "destroyed"
    KUBECONFIG_CAPTURED = "kubeconfig_captured"
    WATCH_PHASE1 = "watch_phase1"
    PHASE1_FINISHED = "phase1_finished"


_SETTLED = frozenset({Status.PHASE1_WATCHING, Status.READY, Status.FAILED})

# The statuses each transition is accepted from; from any other it raises `TransitionRefused`.
ALLOWED_FROM: Mapping[Transition, frozenset[Status]] = {
    Transition.PHASE0_SUCCEEDED: IN_FLIGHT_PHASE0,
    Transition.DNS_COMMITTED: frozenset({Status.PHASE1_WATCHING}),
    Transition.FAIL: IN_PROGRESS,
    Transition.BEGIN_RETRY: _SETTLED,
    Transition.BEGIN_DESTROY: _SETTLED,
    Transition.DESTROYED: frozenset({Status.DESTROYING}),
    Transition.KUBECONFIG_CAPTURED: frozenset(Status),  # the bearer is the only guard (spec §5)
    Transition.WATCH_PHASE1: _SETTLED,
    Transition.PHASE1_FINISHED: frozenset({Status.PHASE1_WATCHING}),
}


class TransitionRefused(RuntimeError):
    """A transition was asked from a status it is not allowed from (a bug, never a 4xx)."""

    def __init__(self, transition: Transition, status: Status) -> None:
        super().__init__(f"transition {transition.value} refused from status {status.value}")
        self.transition = transition
        self.status = status


def crash_stage(dep: Deployment) -> FailureStage:
    """The failure stage of a run that died from an unexpected exception, from where it was."""
    if dep.status is Status.DESTROYING:
        return FailureStage.DESTROY
    if dep.status is Status.PHASE1_WATCHING:
        if dep.pdm_pool_domain and not dep.dns_committed:
            # The records may be missing: a late postback must not turn this into `ready`.
            return FailureStage.DNS
        if dep.result is not None and dep.result.kubeconfig_path:
            return FailureStage.PHASE1
        # A late postback may still start Phase 1 over a kubeconfig-wait failure.
        return FailureStage.KUBECONFIG_WAIT
    return FailureStage.PHASE0


class Lifecycle:
    """Applies named transitions and persists each one once (shielded)."""

    def __init__(self, *, records: RecordStorage, clock: Callable[[], datetime] = utcnow) -> None:
        self._records = records
        self._clock = clock

    @staticmethod
    def allows(dep: Deployment, transition: Transition) -> bool:
        return dep.status in ALLOWED_FROM[transition]

    @staticmethod
    def _check(dep: Deployment, transition: Transition) -> None:
        if dep.status not in ALLOWED_FROM[transition]:
            raise TransitionRefused(transition, dep.status)

    async def _save(self, dep: Deployment) -> None:
        """The one save path: shielded, so a cancelled caller still writes the record."""
        await asyncio.shield(self._records.save(dep.id, dep.to_record()))

    # --- records that change no lifecycle field -------------------------------------------------

    async def created(self, dep: Deployment) -> None:
        """The first write of a new deployment's record."""
        await self._save(dep)

    async def record_changed(self, dep: Deployment) -> None:
        """Persist a change of a field outside the lifecycle (a pool reservation released)."""
        await self._save(dep)

    # --- Phase 0 and DNS --------------------------------------------------------------------------

    async def phase0_succeeded(self, dep: Deployment, outputs: Phase0Outputs) -> None:
        """Phase 0 done: outputs merge into `result` (keeping `kubeconfigPath`), status
        `phase1-watching`; `finishedAt` untouched (spec §4.3, DESIGN item 3)."""
        self._check(dep, Transition.PHASE0_SUCCEEDED)
        result = dep.result or Result()
        result.sovereign_fqdn = outputs.sovereign_fqdn or dep.request.sovereign_fqdn
        result.control_plane_ip = outputs.control_plane_ip
        result.load_balancer_ip = outputs.load_balancer_ip
        result.console_url = outputs.console_url
        result.gitops_repo_url = outputs.gitops_repo_url
        dep.result = result
        dep.status = Status.PHASE1_WATCHING
        dep.error = ""
        dep.phase0_finished_at = self._clock()
        await self._save(dep)

    async def dns_committed(self, dep: Deployment) -> None:
        self._check(dep, Transition.DNS_COMMITTED)
        dep.dns_committed = True
        await self._save(dep)

    # --- failure ----------------------------------------------------------------------------------

    def _fail(self, dep: Deployment, stage: FailureStage, message: str) -> None:
        self._check(dep, Transition.FAIL)
        dep.status = Status.FAILED
        dep.error = message
        dep.failure_stage = stage
        dep.finished_at = self._clock()

    async def fail(self, dep: Deployment, stage: FailureStage, message: str) -> None:
        """A run failed at `stage`: `failed`, the message, `finishedAt` now."""
        self._fail(dep, stage, message)
        await self._save(dep)

    async def interrupted(self, dep: Deployment) -> bool:
        """A run was cancelled (shutdown): Phase 0 in flight → the orphan message (spec §4.6),
        destroy → run DELETE again; a Phase 1 watch or kubeconfig wait stays
        `phase1-watching`, so the next start resumes it. Returns whether it wrote."""
        if dep.status in IN_FLIGHT_PHASE0:
            await self.fail(dep, FailureStage.PHASE0, orphan_message(dep.id))
            return True
        if dep.status is Status.DESTROYING:
            await self.fail(dep, FailureStage.DESTROY, DESTROY_CANCELLED_MESSAGE)
            return True
        return False

    async def crashed(self, dep: Deployment, message: str) -> bool:
        """A run died from an unexpected exception: `failed` with `message` at the stage it
        was in, unless it had already recorded its end. Returns whether it wrote."""
        if dep.status not in IN_PROGRESS:
            return False
        await self.fail(dep, crash_stage(dep), message)
        return True

    # --- operator actions -------------------------------------------------------------------------

    async def begin_retry(self, dep: Deployment) -> None:
        """A Phase 0 retry starts: `provisioning`; error, stage and end times cleared."""
        self._check(dep, Transition.BEGIN_RETRY)
        dep.status = Status.PROVISIONING
        dep.error = ""
        dep.failure_stage = None
        dep.finished_at = None
        if dep.result is not None:
            dep.result.phase1_finished_at = None
            dep.result.phase1_outcome = ""
        await self._save(dep)

    async def begin_destroy(self, dep: Deployment) -> None:
        self._check(dep, Transition.BEGIN_DESTROY)
        dep.status = Status.DESTROYING
        dep.error = ""
        dep.failure_stage = None
        dep.finished_at = None
        await self._save(dep)

    async def destroyed(self, dep: Deployment) -> None:
        self._check(dep, Transition.DESTROYED)
        dep.status = Status.DESTROYED
        dep.error = ""
        dep.finished_at = self._clock()
        await self._save(dep)

    # --- kubeconfig and Phase 1 -------------------------------------------------------------------

    async def kubeconfig_captured(self, dep: Deployment, path: str) -> None:
        """The postback's file is on disk: record its path (spec §5)."""
        self._check(dep, Transition.KUBECONFIG_CAPTURED)
        if dep.result is None:
            dep.result = Result(sovereign_fqdn=dep.request.sovereign_fqdn)
        dep.result.kubeconfig_path = path
        await self._save(dep)

    def _watch_phase1(self, dep: Deployment) -> bool:
        self._check(dep, Transition.WATCH_PHASE1)
        if dep.status is Status.PHASE1_WATCHING:
            return False
        dep.status = Status.PHASE1_WATCHING
        return True

    async def watch_phase1(self, dep: Deployment) -> None:
        """The Phase 1 watch starts (also after a late postback or on resume)."""
        if self._watch_phase1(dep):
            await self._save(dep)

    async def phase1_finished(self, dep: Deployment, outcome: Phase1Outcome) -> None:
        """Spec §8.4, persisted (the original forgot to save it): `ready`, or `failed` at
        stage `phase1` with the reason."""
        self._check(dep, Transition.PHASE1_FINISHED)
        result = dep.result or Result(sovereign_fqdn=dep.request.sovereign_fqdn)
        dep.result = result
        now = self._clock()
        result.component_states = dict(outcome.states)
        result.phase1_finished_at = now
        result.phase1_outcome = outcome.outcome
        dep.finished_at = now
        dep.failure_stage = FailureStage.PHASE1
        failed = sum(1 for state in outcome.states.values() if state == "failed")
        if outcome.error:
            dep.status, dep.error = Status.FAILED, outcome.error
        elif outcome.outcome == "flux-not-reconciling":
            dep.status, dep.error = Status.FAILED, FLUX_NOT_RECONCILING_MESSAGE
        elif failed:
            dep.status = Status.FAILED
            dep.error = outcome.failures or (
                f"Phase 1 finished with {failed} failed component(s); see ComponentStates for "
                "the per-component breakdown"
            )
        else:
            dep.status, dep.error = Status.READY, ""
        await self._save(dep)

    # --- restart ----------------------------------------------------------------------------------

    async def restarted(
        self, dep: Deployment, *, kubeconfig_problem: str | None, rewrite: bool = False
    ) -> RestartAction:
        """Apply the restart rules to a loaded record (spec §4.6, DESIGN item 3); persist it
        once if anything changed or `rewrite` (the record was migrated).
        `kubeconfig_problem`: why its recorded kubeconfig file is unusable (None: it is fine)."""
        changed = rewrite
        path = dep.result.kubeconfig_path if dep.result else ""
        if path and kubeconfig_problem is not None:
            dep.error = (
                f"kubeconfig file lost across catalyst-api restart: {path} — {kubeconfig_problem}"
            )
        exists = bool(path) and kubeconfig_problem is None
        action = decide_restart(dep, kubeconfig_exists=exists).action
        if action is RestartAction.ORPHANED:
            self._fail(dep, FailureStage.PHASE0, orphan_message(dep.id))
            changed = True
        elif action is RestartAction.DESTROY_INTERRUPTED:
            message = DESTROY_INTERRUPTED_MESSAGE.replace("{id}", dep.id)
            self._fail(dep, FailureStage.DESTROY, message)
            changed = True
        elif action in (RestartAction.RESUME_PHASE1, RestartAction.WAIT_FOR_KUBECONFIG):
            changed |= self._watch_phase1(dep)
        if changed:
            await self._save(dep)
        return action
