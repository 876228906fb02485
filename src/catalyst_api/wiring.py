"""Builds every service from `Settings`, in dependency order, inside one `AsyncExitStack`.

`app.py`'s lifespan enters `build_services()`; tests and the sandbox pass `Overrides` to plug
their own Phase 0 / DNS / Phase 1 backends into the same seams. No FastAPI here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import structlog

from . import ha
from .auth import AuditTrail, Authenticator, build_authenticator
from .config import ConfigError, Settings
from .deployments import (
    Collaborators,
    DeploymentService,
    KubeconfigFiles,
    Lifecycle,
    Phase1Runner,
    Planner,
    PlanPreviews,
    PoolDomains,
    Provisioner,
    RunSupervisor,
)
from .dns import build_pool_domains
from .dns.allowlist import ManagedDomains
from .events import Event, EventHub
from .infrastructure import InfrastructureService, LiveReader
from .jobs import JobsBridges, JobsService, JobsStore
from .k8scache import CacheTimings, K8sCache
from .k8scache.factory import start_from_settings
from .logs import scrubber
from .metrics import Metrics
from .phase1 import HelmWatchRunner, JobsSeeder, LiveWatches, WatchConfig
from .provisioner import PriceTable, TofuPlanner, TofuProvisioner
from .provisioner.workdir import secure_root
from .store.backend import open_store
from .store.ports import EventStorage, RecordStorage
from .wizard import WizardService

__all__ = ["Overrides", "Services", "build_services", "price_table"]

log = structlog.get_logger(__name__)


@dataclass
class Overrides:
    """Replacement backends and timings (tests, sandbox)."""

    provisioner: Provisioner | None = None
    planner: Planner | None = None
    phase1: Phase1Runner | None = None
    pool_domains: PoolDomains | None = None
    sse_ping_interval: float = 15.0
    eventlog_flush_interval: float = 0.02
    shutdown_grace: float | None = None  # None: CATALYST_SHUTDOWN_RUNS_GRACE
    k8scache_timings: CacheTimings | None = None
    extra_setup: list[Callable[[Services, contextlib.AsyncExitStack], Any]] = field(
        default_factory=list
    )


@dataclass
class Services:
    """What the routers reach through `request.state.services`."""

    settings: Settings
    metrics: Metrics
    records: RecordStorage
    eventlog: EventStorage
    hub: EventHub
    kubeconfigs: KubeconfigFiles
    supervisor: RunSupervisor
    deployments: DeploymentService
    managed_domains: ManagedDomains
    sse_ping_interval: float = 15.0
    loop: asyncio.AbstractEventLoop | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    wizard: WizardService | None = None
    jobs: JobsService | None = None
    watches: LiveWatches | None = None
    infrastructure: InfrastructureService | None = None
    authenticator: Authenticator | None = None  # None: CATALYST_AUTH_MODE=open
    audit: AuditTrail | None = None


def _default_provisioner(settings: Settings, metrics: Metrics) -> Provisioner:
    def count(step: str, outcome: str) -> None:
        metrics.tofu_runs.labels(step=step, outcome=outcome).inc()

    return TofuProvisioner(
        settings=settings,
        kill_grace_seconds=settings.tofu_interrupt_grace.total_seconds(),
        on_step_finished=count,
    )


def price_table(settings: Settings) -> PriceTable:
    """The plan preview's price table (CATALYST_PRICES_FILE, else the packaged one);
    `ConfigError` naming the variable when it is unusable (`serve` checks it before starting)."""
    try:
        return PriceTable.load(settings.prices_file)
    except ValueError as exc:
        raise ConfigError(f"CATALYST_PRICES_FILE: {exc}") from None


def _plan_previews(settings: Settings, metrics: Metrics, planner: Planner | None) -> PlanPreviews:
    """The plan previews: the real planner unless overridden; the price table is read now, so
    an unusable CATALYST_PRICES_FILE stops startup with a message naming it."""

    def count_step(step: str, outcome: str) -> None:
        metrics.tofu_runs.labels(step=f"plan-{step}", outcome=outcome).inc()

    def count_plan(outcome: str) -> None:
        metrics.plans.labels(outcome=outcome).inc()

    return PlanPreviews(
        planner=planner or TofuPlanner(settings=settings, on_step_finished=count_step),
        prices=price_table(settings),
        limit=settings.plan_concurrency,
        on_plan=count_plan,
    )


def _default_phase1(
    settings: Settings, *, live: LiveWatches, seeder: JobsSeeder | None
) -> Phase1Runner:
    runner: Phase1Runner = HelmWatchRunner(settings=settings, live=live, seeder=seeder)
    return runner


def _open_jobs(settings: Settings, db: Any) -> JobsService | None:
    """The jobs store: in the database when there is one, else under CATALYST_EXECUTIONS_DIR
    (unusable → None: the jobs endpoints answer 503)."""
    if db is not None:
        from .jobs.pgstore import PgJobsStore

        shared = PgJobsStore(db)
        return JobsService(shared, JobsBridges(shared))
    try:
        store = JobsStore.open(settings.executions_dir)
    except OSError as exc:
        log.warning(
            "jobs store unavailable; jobs endpoints will answer 503",
            dir=str(settings.executions_dir),
            error=str(exc),
        )
        return None
    return JobsService(store, JobsBridges(store))


async def _secure_tofu_root(settings: Settings) -> None:
    """Before any run starts: no resting secrets and private modes in the tofu workdirs."""
    report = await asyncio.to_thread(secure_root, settings.tofu_workdir)
    if report.plans_removed or report.tfvars_removed or report.modes_tightened:
        log.info(
            "tofu workdirs secured",
            plans_removed=report.plans_removed,
            tfvars_removed=report.tfvars_removed,
            modes_tightened=report.modes_tightened,
        )


class _ObservedKubeconfigs(KubeconfigFiles):
    """The kubeconfig files, telling the k8scache about each write (PUT) and delete (destroy)
    so a Sovereign is cached at once and dropped when destroyed, without waiting for the
    30 s rescan. A cache failure never fails the write or the delete."""

    _cache: K8sCache | None = None

    def observe(self, cache: K8sCache) -> None:
        self._cache = cache

    async def write(self, deployment_id: str, data: bytes) -> Path:
        path = await super().write(deployment_id, data)
        if self._cache is not None:
            try:
                await self._cache.register(deployment_id)
            except Exception as exc:
                log.warning("k8scache: registration after PUT failed", error=str(exc))
        return path

    async def delete(self, deployment_id: str, recorded_path: str) -> None:
        await super().delete(deployment_id, recorded_path)
        if self._cache is not None:
            try:
                await self._cache.remove(deployment_id)
            except Exception as exc:
                log.warning("k8scache: removal after destroy failed", error=str(exc))


@contextlib.asynccontextmanager
async def build_services(
    settings: Settings, overrides: Overrides | None = None
) -> AsyncIterator[Services]:
    """Open the store, the event log and hub, the backends and the run supervisor; load the
    deployments and resume their runs. Unwinds in reverse on exit."""
    ov = overrides or Overrides()
    scrubber.register(*settings.secret_values())
    metrics = Metrics()
    async with contextlib.AsyncExitStack() as stack:
        store = await open_store(
            stack,
            directory=settings.deployments_dir,
            database_url=settings.database_url.get_secret_value(),
            flush_interval=ov.eventlog_flush_interval,
        )
        records, eventlog, db = store.records, store.eventlog, store.database
        leases = ha.leases_for(settings, db) if db is not None else None

        jobs = _open_jobs(settings, db)
        bridges = jobs.bridges if jobs is not None else None

        def on_emit(deployment_id: str, event: Event) -> None:
            metrics.events_written.inc()
            if bridges is not None:
                try:
                    bridges.forward(deployment_id, event)
                except Exception as exc:  # the jobs view must never break the event feed
                    log.warning(
                        "jobs bridge rejected an event", deployment_id=deployment_id, error=str(exc)
                    )

        hub = EventHub(eventlog, on_emit=on_emit)
        if bridges is not None:
            stack.push_async_callback(bridges.aclose)
        watches = LiveWatches(
            config=WatchConfig.from_settings(settings), emitter_for=hub.emitter, seeder=bridges
        )
        stack.push_async_callback(watches.aclose)
        kubeconfigs = _ObservedKubeconfigs(
            settings.kubeconfigs_dir,
            copies=tuple({settings.k8scache_kubeconfigs_dir} - {settings.kubeconfigs_dir}),
            vault=ha.kubeconfig_vault(settings, db) if db is not None else None,
        )
        kubeconfigs.open()
        managed = ManagedDomains.from_settings_values(
            settings.dynadot_managed_domains, settings.dynadot_domain
        )
        http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), trust_env=False)
        )
        pool_domains = ov.pool_domains or build_pool_domains(settings, managed, http)
        k8scache = await start_from_settings(
            settings, registry=metrics.registry, stack=stack, timings=ov.k8scache_timings
        )
        if k8scache is not None:
            kubeconfigs.observe(k8scache)
        lifecycle = Lifecycle(records=records)
        runs_grace = ov.shutdown_grace
        if runs_grace is None:
            runs_grace = settings.shutdown_runs_grace.total_seconds()
        supervisor = RunSupervisor(hub=hub, lifecycle=lifecycle, grace=runs_grace, leases=leases)
        deps = Collaborators(
            settings=settings,
            records=records,
            hub=hub,
            provisioner=ov.provisioner or _default_provisioner(settings, metrics),
            phase1=ov.phase1 or _default_phase1(settings, live=watches, seeder=bridges),
            kubeconfigs=kubeconfigs,
            pool_domains=pool_domains,
            jobs=bridges,
        )
        service = DeploymentService(
            deps=deps,
            lifecycle=lifecycle,
            supervisor=supervisor,
            is_managed_domain=managed.is_managed,
            pdm_mode=bool(settings.pool_domain_manager_url),
            stop_refresh_watch=watches.stop_refresh,
            previews=_plan_previews(settings, metrics, ov.planner),
        )
        infrastructure = InfrastructureService(
            lookup=service.registry.get,
            kubeconfigs=kubeconfigs,
            jobs=jobs.store if jobs is not None else None,
            reader=LiveReader(
                cache=k8scache, timeout=settings.infra_live_read_timeout.total_seconds()
            ),
            emit_for=hub.emitter,
            poll_interval=settings.day2_claim_poll_interval.total_seconds(),
            claim_timeout=settings.day2_claim_timeout.total_seconds(),
        )
        stack.push_async_callback(infrastructure.aclose)
        services = Services(
            settings=settings,
            metrics=metrics,
            records=records,
            eventlog=eventlog,
            hub=hub,
            kubeconfigs=kubeconfigs,
            supervisor=supervisor,
            deployments=service,
            managed_domains=managed,
            sse_ping_interval=ov.sse_ping_interval,
            loop=asyncio.get_running_loop(),
            wizard=WizardService(
                settings=settings,
                http=http,
                managed_domains=managed,
                pool_subdomain_held=service.pool_subdomain_held,
            ),
            jobs=jobs,
            watches=watches,
            infrastructure=infrastructure,
            authenticator=build_authenticator(settings, http),
            audit=AuditTrail(metrics.audit_events),
        )
        metrics.live.status_counts = service.status_counts
        metrics.live.sse_subscribers = hub.subscriber_total
        if k8scache is not None:
            services.extra["k8scache"] = k8scache
            services.extra["k8scache_check"] = k8scache.readiness
        else:
            services.extra["k8scache_check"] = {"ok": True, "enabled": False}
        for setup in ov.extra_setup:
            maybe = setup(services, stack)
            if hasattr(maybe, "__await__"):
                await maybe
        if db is not None and leases is not None:
            services.extra["replicas"] = await ha.replicate(
                settings,
                service=service,
                db=db,
                leases=leases,
                eventlog=eventlog,
                records=records,
                stack=stack,
            )
        stack.push_async_callback(supervisor.stop)
        await _secure_tofu_root(settings)
        await service.load()
        await infrastructure.resume(service.registry)
        yield services
