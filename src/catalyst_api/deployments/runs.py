"""The bodies of background runs: provision (Phase 0 → DNS → kubeconfig → Phase 1), Phase 1
alone, and destroy.

Each run is started by `DeploymentService` through the `RunSupervisor` after it called
`begin_run()` on the deployment's stream; each run ends the stream (`event: done`) in its
`finally`, and writes its terminal state with a shielded save so cancellation still records it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from pydantic import SecretStr

from ..config import Settings, format_go_duration
from ..events import Emit, Event, EventHub
from ..provisioner import ProvisionError, ProvisionJob
from ..store import RecordStore
from ..timefmt import utcnow
from .kubeconfigs import KubeconfigFiles, describe_os_error
from .machine import orphan_message
from .models import IN_FLIGHT_PHASE0, Deployment, Result, Status
from .ports import DnsError, Phase1Outcome, Phase1Runner, PoolDomains, Provisioner, Reservation

__all__ = [
    "FLUX_NOT_RECONCILING_MESSAGE",
    "KUBECONFIG_WAIT_STAGE",
    "Collaborators",
    "Runs",
    "kubeconfig_timeout_message",
]

log = structlog.get_logger(__name__)

FLUX_NOT_RECONCILING_MESSAGE = (
    "Phase 1 watch saw zero HelmReleases — the bootstrap-kit Kustomization on the new Sovereign "
    "is not reconciling. Operator: inspect `flux get kustomization -n flux-system` and "
    "`kubectl describe kustomization -n flux-system` on the new cluster (see "
    'docs/RUNBOOK-PROVISIONING.md §"Phase 1 watch shows 0 HelmReleases").'
)


KUBECONFIG_WAIT_STAGE = "kubeconfig-wait"


def kubeconfig_timeout_message(wait: str, api_url: str) -> str:
    """The actionable error when cloud-init never PUT the kubeconfig back (DESIGN item 3)."""
    return (
        f"the new Sovereign's cloud-init did not PUT its kubeconfig back within {wait} after "
        "Phase 0 finished, so Phase 1 could not observe the bootstrap kit. Check that the "
        f"control plane can reach {api_url} (cloud-init log: /var/log/cloud-init-output.log on "
        "the control plane) and re-run the postback there (the `curl -X PUT …/kubeconfig` step "
        "of its cloud-init user data): a late postback still starts Phase 1. See docs/RUNBOOK.md "
        "§Kubeconfig postback never arrived."
    )


@dataclass
class Collaborators:
    """Everything a run touches, wired once by `wiring.build_services`."""

    settings: Settings
    records: RecordStore
    hub: EventHub
    provisioner: Provisioner
    phase1: Phase1Runner
    kubeconfigs: KubeconfigFiles
    pool_domains: PoolDomains | None = None
    kubeconfig_arrived: dict[str, asyncio.Event] = field(default_factory=dict)
    phase1_started: set[str] = field(default_factory=set)


class Runs:
    """Run bodies; stateless apart from the shared collaborators."""

    def __init__(self, deps: Collaborators) -> None:
        self.deps = deps

    # --- helpers ---------------------------------------------------------------------------------

    async def save(self, dep: Deployment) -> None:
        """Persist the record; shielded so a cancelled run still writes its last state."""
        record = dep.to_record()
        await asyncio.shield(self.deps.records.save(dep.id, record))

    def emitter(self, dep: Deployment) -> Emit:
        return self.deps.hub.emitter(dep.id)

    async def fail(self, dep: Deployment, error: str, *, stage: str) -> None:
        """Record a failure; `stage` (phase0, dns, kubeconfig-wait, phase1, destroy) decides
        what a later kubeconfig PUT may do."""
        dep.status = Status.FAILED
        dep.error = error
        dep.failure_stage = stage
        dep.finished_at = utcnow()
        await self.save(dep)

    def job_for(self, dep: Deployment, token: SecretStr | None = None) -> ProvisionJob:
        req = dep.request
        return ProvisionJob(
            deployment_id=dep.id,
            sovereign_fqdn=req.sovereign_fqdn.strip(),
            sovereign_subdomain=req.sovereign_subdomain.strip(),
            org_name=req.org_name.strip(),
            org_email=req.org_email.strip(),
            hcloud_token=token or req.hetzner_token,
            hcloud_project_id=req.hetzner_project_id.strip(),
            region=req.region.strip(),
            control_plane_size=req.control_plane_size.strip(),
            worker_size=req.worker_size.strip(),
            worker_count=req.worker_count,
            ha_enabled=req.ha_enabled,
            regions=tuple(req.regions),
            ssh_public_key=req.ssh_public_key.strip(),
            domain_mode=req.sovereign_domain_mode.strip(),
            pool_domain=req.sovereign_pool_domain.strip(),
            dynadot_key=req.dynadot_key,
            dynadot_secret=req.dynadot_secret,
            ghcr_pull_token=req.ghcr_pull_token,
            kubeconfig_bearer_token=dep.bearer_token or SecretStr(""),
            workdir=dep.tofu_workdir,
        )

    def reservation_of(self, dep: Deployment) -> Reservation | None:
        if not dep.pdm_pool_domain:
            return None
        return Reservation(dep.pdm_pool_domain, dep.pdm_subdomain, dep.pdm_reservation_token)

    # --- provision ---------------------------------------------------------------------------

    async def provision(self, dep: Deployment, *, retry_phase: str | None = None) -> None:
        """Phase 0 → DNS commit → wait for the kubeconfig → Phase 1; always ends the stream."""
        stream = self.deps.hub.stream(dep.id)
        emit = self.deps.hub.emitter(dep.id)
        try:
            if retry_phase:
                emit(
                    Event(
                        phase=retry_phase,
                        message=f'Retry initiated for phase "{retry_phase}" — running '
                        "`tofu apply` against existing workdir (idempotent).",
                    )
                )
            try:
                outputs = await self.deps.provisioner.apply(self.job_for(dep), emit)
            except ProvisionError as exc:
                await self.fail(dep, str(exc), stage="phase0")
                await self._release_after_failure(dep, emit)
                return
            result = dep.result or Result()
            result.sovereign_fqdn = outputs.sovereign_fqdn or dep.request.sovereign_fqdn
            result.control_plane_ip = outputs.control_plane_ip
            result.load_balancer_ip = outputs.load_balancer_ip
            result.console_url = outputs.console_url
            result.gitops_repo_url = outputs.gitops_repo_url
            dep.result = result
            dep.status = Status.PHASE1_WATCHING
            dep.error = ""
            dep.phase0_finished_at = utcnow()
            await self.save(dep)
            if not await self._commit_dns(dep, emit):
                return
            await self.await_kubeconfig_then_phase1(dep)
        except asyncio.CancelledError:
            if dep.status in IN_FLIGHT_PHASE0:
                await self.fail(dep, orphan_message(dep.id), stage="phase0")
            raise
        finally:
            stream.end_run()

    async def _commit_dns(self, dep: Deployment, emit: Emit) -> bool:
        reservation = self.reservation_of(dep)
        pool = self.deps.pool_domains
        if reservation is None or pool is None or dep.dns_committed:
            return True
        lb_ip = dep.result.load_balancer_ip if dep.result else ""
        try:
            await pool.commit(
                reservation,
                sovereign_fqdn=dep.request.sovereign_fqdn.strip(),
                load_balancer_ip=lb_ip,
                emit=emit,
            )
        except DnsError as exc:
            emit(Event(phase="dns", level="error", message=str(exc)))
            await self.fail(dep, f"dns: {exc}", stage="dns")
            return False
        dep.dns_committed = True
        await self.save(dep)
        return True

    async def _release_after_failure(self, dep: Deployment, emit: Emit) -> None:
        reservation = self.reservation_of(dep)
        pool = self.deps.pool_domains
        if reservation is None or pool is None or dep.dns_committed:
            return
        try:
            await pool.release(reservation, committed=False, emit=emit)
        except DnsError as exc:
            log.warning("pool subdomain release failed", deployment_id=dep.id, error=str(exc))
            return
        dep.pdm_reservation_token = ""
        await self.save(dep)

    # --- kubeconfig wait and Phase 1 ---------------------------------------------------------

    def kubeconfig_event(self, deployment_id: str) -> asyncio.Event:
        return self.deps.kubeconfig_arrived.setdefault(deployment_id, asyncio.Event())

    async def await_kubeconfig_then_phase1(self, dep: Deployment, *, resume: bool = False) -> None:
        """Wait (until Phase 0 end + CATALYST_KUBECONFIG_WAIT_TIMEOUT) for the postback, then
        run Phase 1; a missing postback fails the deployment with an actionable error."""
        settings = self.deps.settings
        if not (dep.result and dep.result.kubeconfig_path):
            wait = settings.kubeconfig_wait_timeout
            started = dep.phase0_finished_at or utcnow()
            remaining = (started + wait - utcnow()).total_seconds()
            emit = self.emitter(dep)
            emit(
                Event(
                    phase="kubeconfig",
                    message="Waiting for the new control plane's cloud-init to PUT its "
                    f"kubeconfig back (up to {format_go_duration(wait)} after Phase 0)",
                )
            )
            arrived = self.kubeconfig_event(dep.id)
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    while not (dep.result and dep.result.kubeconfig_path):
                        await arrived.wait()
                        arrived.clear()
            except TimeoutError:
                message = kubeconfig_timeout_message(
                    format_go_duration(wait), settings.api_public_url
                ).replace("{id}", dep.id)
                emit(Event(phase="kubeconfig", level="error", message=message))
                await self.fail(dep, message, stage=KUBECONFIG_WAIT_STAGE)
                return
        await self.phase1(dep, resume=resume)

    async def phase1_only(self, dep: Deployment) -> None:
        """A run that is only Phase 1 (kubeconfig PUT after the run ended, or resume)."""
        stream = self.deps.hub.stream(dep.id)
        try:
            await self.await_kubeconfig_then_phase1(dep, resume=True)
        finally:
            stream.end_run()

    def reported_states(self, dep: Deployment) -> dict[str, str]:
        """The last state each component was reported in, from the event history."""
        states: dict[str, str] = {}
        for stored in self.deps.hub.stream(dep.id).snapshot():
            event = stored.event
            if event.phase == "component" and event.component and event.state:
                states[event.component] = event.state
        return states

    async def phase1(self, dep: Deployment, *, resume: bool = False) -> None:
        """Watch the bootstrap kit (at most once per deployment run) and record the outcome.

        A resumed watch (restart, late postback) starts from the states already reported, so
        it emits only changes; a fresh run (create, retry) reports every component again."""
        if dep.id in self.deps.phase1_started:
            return
        self.deps.phase1_started.add(dep.id)
        emit = self.emitter(dep)
        if dep.status is not Status.PHASE1_WATCHING:
            dep.status = Status.PHASE1_WATCHING
            await self.save(dep)
        path = dep.result.kubeconfig_path if dep.result else ""
        try:
            kubeconfig = await self.deps.kubeconfigs.read(path)
        except OSError as exc:
            message = "Phase-1 watch could not start: kubeconfig unreadable: " + describe_os_error(
                "open", path, exc
            )
            emit(Event(phase="component", level="error", message=message))
            await self.fail(dep, message, stage="phase1")
            return
        try:
            outcome = await self.deps.phase1.run(
                deployment_id=dep.id,
                kubeconfig=kubeconfig,
                emit=emit,
                known_states=self.reported_states(dep) if resume else None,
            )
        finally:
            self.deps.phase1_started.discard(dep.id)
        await self.mark_phase1_done(dep, outcome)

    async def mark_phase1_done(self, dep: Deployment, outcome: Phase1Outcome) -> None:
        """Spec §8.4, persisted (the original forgot to save it)."""
        result = dep.result or Result(sovereign_fqdn=dep.request.sovereign_fqdn)
        dep.result = result
        now = utcnow()
        result.component_states = dict(outcome.states)
        result.phase1_finished_at = now
        result.phase1_outcome = outcome.outcome
        dep.finished_at = now
        failed = sum(1 for state in outcome.states.values() if state == "failed")
        dep.failure_stage = "phase1"
        if outcome.error:
            dep.status, dep.error = Status.FAILED, outcome.error
        elif outcome.outcome == "flux-not-reconciling":
            dep.status, dep.error = Status.FAILED, FLUX_NOT_RECONCILING_MESSAGE
        elif failed:
            dep.status = Status.FAILED
            dep.error = (
                f"Phase 1 finished with {failed} failed component(s); see ComponentStates for "
                "the per-component breakdown"
            )
        else:
            dep.status, dep.error = Status.READY, ""
        await self.save(dep)

    # --- destroy -------------------------------------------------------------------------------

    async def _delete_kubeconfig(self, dep: Deployment) -> None:
        """The cluster-admin kubeconfig of a destroyed Sovereign must not stay downloadable."""
        path = dep.result.kubeconfig_path if dep.result else ""
        try:
            await self.deps.kubeconfigs.delete(dep.id, path)
        except (OSError, ValueError) as exc:
            log.warning("kubeconfig delete failed", deployment_id=dep.id, error=str(exc))

    async def destroy(self, dep: Deployment, token: SecretStr) -> None:
        """`tofu destroy`, then DNS / PDM release; ends `destroyed` or `failed`."""
        stream = self.deps.hub.stream(dep.id)
        emit = self.deps.hub.emitter(dep.id)
        try:
            if self.deps.provisioner.has_state(
                dep.request.sovereign_fqdn.strip(), workdir=dep.tofu_workdir
            ):
                try:
                    await self.deps.provisioner.destroy(self.job_for(dep, token), emit)
                except ProvisionError as exc:
                    await self.fail(dep, f"destroy: {exc}", stage="destroy")
                    return
            else:
                emit(
                    Event(
                        phase="tofu-destroy",
                        message="No OpenTofu state for this Sovereign — no cloud resources to "
                        "destroy",
                    )
                )
            reservation = self.reservation_of(dep)
            if reservation is not None and self.deps.pool_domains is not None:
                try:
                    # A commit cut short by a cancel may have written records: once Phase 0
                    # finished, always ask for removal (removing nothing writes nothing).
                    await self.deps.pool_domains.release(
                        reservation,
                        committed=dep.dns_committed or dep.phase0_finished_at is not None,
                        emit=emit,
                    )
                except DnsError as exc:
                    emit(Event(phase="dns", level="error", message=str(exc)))
                    await self.fail(dep, f"dns: {exc}", stage="destroy")
                    return
                dep.dns_committed = False
                dep.pdm_reservation_token = ""
            await self._delete_kubeconfig(dep)
            dep.status = Status.DESTROYED
            dep.error = ""
            dep.finished_at = utcnow()
            await self.save(dep)
            emit(Event(phase="destroy", message="Sovereign destroyed"))
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.fail(
                    dep,
                    "destroy interrupted by a catalyst-api shutdown — run DELETE again",
                    stage="destroy",
                )
            raise
        finally:
            stream.end_run()
