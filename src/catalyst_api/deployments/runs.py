"""The bodies of background runs: provision (Phase 0 → DNS → kubeconfig → Phase 1), Phase 1
alone, and destroy.

`RunSupervisor.start` runs each body: it begins and ends the deployment's stream and records what
a body did not (a crash, a cancellation). Bodies record their outcomes through `Lifecycle`
transitions. `Runs` owns the runtime state of the runs: who waits for a kubeconfig postback and
which deployments have a Phase 1 watch in progress.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from pydantic import SecretStr

from ..config import Settings, format_go_duration
from ..events import Emit, Event, EventHub
from ..provisioner import ProvisionError, ProvisionJob
from ..store.ports import RecordStorage
from ..timefmt import utcnow
from ..wire.kit import PHASE1_WATCH_PHASE
from .kubeconfigs import KubeconfigFiles, describe_os_error
from .lifecycle import Lifecycle
from .models import Deployment, FailureStage
from .ports import DnsError, JobsFeed, Phase1Runner, PoolDomains, Provisioner, Reservation

__all__ = [
    "Collaborators",
    "Runs",
    "kubeconfig_timeout_message",
]

log = structlog.get_logger(__name__)

JOBS_SETTLE_TIMEOUT = 30.0
"""Longest wait (seconds) for the jobs view to take Phase 1's events before the outcome is
recorded anyway (a stuck jobs store never holds a deployment's status back)."""


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
    """The dependencies runs touch, wired once by `wiring.build_services` (no runtime state)."""

    settings: Settings
    records: RecordStorage
    hub: EventHub
    provisioner: Provisioner
    phase1: Phase1Runner
    kubeconfigs: KubeconfigFiles
    pool_domains: PoolDomains | None = None
    jobs: JobsFeed | None = None


class Runs:
    """Run bodies, and the runtime state they share with the kubeconfig postback."""

    def __init__(self, *, deps: Collaborators, lifecycle: Lifecycle) -> None:
        self.deps = deps
        self.lifecycle = lifecycle
        self._kubeconfig_arrived: dict[str, asyncio.Event] = {}
        self._phase1_running: set[str] = set()

    # --- helpers ---------------------------------------------------------------------------------

    def emitter(self, dep: Deployment) -> Emit:
        return self.deps.hub.emitter(dep.id)

    def kubeconfig_arrived(self, deployment_id: str) -> None:
        """The postback stored a kubeconfig: wake the run waiting for it, if one is."""
        waiting = self._kubeconfig_arrived.get(deployment_id)
        if waiting is not None:
            waiting.set()

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
        """Phase 0 → DNS commit → wait for the kubeconfig → Phase 1."""
        emit = self.deps.hub.emitter(dep.id)
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
            await self.lifecycle.fail(dep, FailureStage.PHASE0, str(exc))
            await self._release_after_failure(dep, emit)
            return
        await self.lifecycle.phase0_succeeded(dep, outputs)
        if not await self._commit_dns(dep, emit):
            return
        await self.await_kubeconfig_then_phase1(dep)

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
            await self.lifecycle.fail(dep, FailureStage.DNS, f"dns: {exc}")
            return False
        await self.lifecycle.dns_committed(dep)
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
        await self.lifecycle.record_changed(dep)

    # --- kubeconfig wait and Phase 1 ---------------------------------------------------------

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
            # Registered only while waiting; the loop re-checks the record, so a postback that
            # landed before the registration is not missed.
            arrived = self._kubeconfig_arrived.setdefault(dep.id, asyncio.Event())
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    while not (dep.result and dep.result.kubeconfig_path):
                        await arrived.wait()
                        arrived.clear()
            except TimeoutError:
                message = kubeconfig_timeout_message(
                    format_go_duration(wait), settings.api_public_url
                )
                emit(Event(phase="kubeconfig", level="error", message=message))
                await self.lifecycle.fail(dep, FailureStage.KUBECONFIG_WAIT, message)
                return
            finally:
                if self._kubeconfig_arrived.get(dep.id) is arrived:
                    del self._kubeconfig_arrived[dep.id]
        await self.phase1(dep, resume=resume)

    async def phase1_only(self, dep: Deployment) -> None:
        """A run that is only Phase 1 (kubeconfig PUT after the run ended, or resume)."""
        await self.await_kubeconfig_then_phase1(dep, resume=True)

    async def reported_states(self, dep: Deployment) -> dict[str, str]:
        """The last state each component was reported in, from the event history (loaded in a
        worker thread, never parsed on the event loop)."""
        states: dict[str, str] = {}
        stream = self.deps.hub.stream(dep.id)
        await stream.aload()
        for stored in stream.snapshot():
            event = stored.event
            if event.phase == "component" and event.component and event.state:
                states[event.component] = event.state
        return states

    async def phase1(self, dep: Deployment, *, resume: bool = False) -> None:
        """Watch the bootstrap kit (at most once per deployment run) and record the outcome.

        A resumed watch (restart, late postback) starts from the states already reported, so
        it emits only changes; a fresh run (create, retry) reports every component again."""
        if dep.id in self._phase1_running:
            return
        self._phase1_running.add(dep.id)
        try:
            await self._watch(dep, resume=resume)
        finally:
            self._phase1_running.discard(dep.id)

    async def _watch(self, dep: Deployment, *, resume: bool) -> None:
        emit = self.emitter(dep)
        await self.lifecycle.watch_phase1(dep)
        path = dep.result.kubeconfig_path if dep.result else ""
        try:
            kubeconfig = await self.deps.kubeconfigs.read(path)
        except OSError as exc:
            message = "Phase-1 watch could not start: kubeconfig unreadable: " + describe_os_error(
                "open", path, exc
            )
            emit(Event(phase=PHASE1_WATCH_PHASE, level="error", message=message))
            await self.lifecycle.fail(dep, FailureStage.PHASE1, message)
            return
        outcome = await self.deps.phase1.run(
            deployment_id=dep.id,
            kubeconfig=kubeconfig,
            emit=emit,
            known_states=await self.reported_states(dep) if resume else None,
        )
        await self._settle_jobs(dep)
        await self.lifecycle.phase1_finished(dep, outcome)

    async def _settle_jobs(self, dep: Deployment) -> None:
        """Wait until the jobs view has applied every event of the watch (it takes them
        through a queue drained in a worker thread, `jobs.service`), so a client that sees
        the outcome (the final status, `event: done`) reads jobs that agree with it — a
        blocked job's `blockedBy` included — and nothing writes the deployment's jobs after
        it. Bounded by `JOBS_SETTLE_TIMEOUT`."""
        jobs = self.deps.jobs
        if jobs is None:
            return
        try:
            async with asyncio.timeout(JOBS_SETTLE_TIMEOUT):
                await jobs.flush(dep.id)
        except TimeoutError:
            log.warning(
                "jobs view still behind the Phase 1 events; recording the outcome anyway",
                deployment_id=dep.id,
                waited=JOBS_SETTLE_TIMEOUT,
            )

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
        emit = self.deps.hub.emitter(dep.id)
        if self.deps.provisioner.has_state(
            dep.request.sovereign_fqdn.strip(), workdir=dep.tofu_workdir
        ):
            try:
                await self.deps.provisioner.destroy(self.job_for(dep, token), emit)
            except ProvisionError as exc:
                await self.lifecycle.fail(dep, FailureStage.DESTROY, f"destroy: {exc}")
                return
        else:
            emit(
                Event(
                    phase="tofu-destroy",
                    message="No OpenTofu state for this Sovereign — no cloud resources to destroy",
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
                await self.lifecycle.fail(dep, FailureStage.DESTROY, f"dns: {exc}")
                return
            dep.dns_committed = False
            dep.pdm_reservation_token = ""
        await self._delete_kubeconfig(dep)
        await self.lifecycle.destroyed(dep)
        emit(Event(phase="destroy", message="Sovereign destroyed"))
