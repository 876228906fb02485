"""Builds every service from `Settings`, in dependency order, inside one `AsyncExitStack`.

`app.py`'s lifespan enters `build_services()`; tests and the sandbox pass `Overrides` to plug
their own Phase 0 / DNS / Phase 1 backends into the same seams. No FastAPI here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from .config import Settings
from .deployments import (
    Collaborators,
    DeploymentService,
    KubeconfigFiles,
    Phase1Outcome,
    Phase1Runner,
    PoolDomains,
    Provisioner,
    RunSupervisor,
)
from .dns.allowlist import ManagedDomains
from .events import Emit, Event, EventHub
from .logs import scrubber
from .metrics import Metrics
from .store import EventLog, RecordStore

__all__ = ["Overrides", "Services", "build_services"]

log = structlog.get_logger(__name__)


@dataclass
class Overrides:
    """Replacement backends and timings (tests, sandbox)."""

    provisioner: Provisioner | None = None
    phase1: Phase1Runner | None = None
    pool_domains: PoolDomains | None = None
    sse_ping_interval: float = 15.0
    eventlog_flush_interval: float = 0.05
    shutdown_grace: float = 10.0
    extra_setup: list[Callable[[Services, contextlib.AsyncExitStack], Any]] = field(
        default_factory=list
    )


@dataclass
class Services:
    """What the routers reach through `request.state.services`."""

    settings: Settings
    metrics: Metrics
    records: RecordStore
    eventlog: EventLog
    hub: EventHub
    kubeconfigs: KubeconfigFiles
    supervisor: RunSupervisor
    deployments: DeploymentService
    managed_domains: ManagedDomains
    sse_ping_interval: float = 15.0
    loop: asyncio.AbstractEventLoop | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _NoPhase1:
    """Used only when no Phase 1 backend is wired: fails loudly, never reports success."""

    async def run(self, *, deployment_id: str, kubeconfig: bytes, emit: Emit) -> Phase1Outcome:
        message = "Phase-1 watch could not start: no HelmRelease watcher is configured"
        emit(Event(phase="component", level="error", message=message))
        return Phase1Outcome(error=message)


def _default_provisioner(settings: Settings, metrics: Metrics) -> Provisioner:
    from .provisioner import TofuProvisioner

    def count(step: str, outcome: str) -> None:
        metrics.tofu_runs.labels(step=step, outcome=outcome).inc()

    return TofuProvisioner(settings=settings, on_step_finished=count)


def _default_phase1(settings: Settings) -> Phase1Runner:
    try:
        from .phase1 import HelmWatchRunner
    except ImportError:  # pragma: no cover - until the Phase 1 package is present
        return _NoPhase1()
    runner: Phase1Runner = HelmWatchRunner(settings=settings)
    return runner


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
        records = RecordStore(settings.deployments_dir)
        records.open()
        eventlog = EventLog(
            settings.deployments_dir,
            enabled=records.writable,
            flush_interval=ov.eventlog_flush_interval,
        )
        await eventlog.start()
        stack.push_async_callback(eventlog.aclose)

        def on_emit(_deployment_id: str, _event: Event) -> None:
            metrics.events_written.inc()

        hub = EventHub(eventlog, on_emit=on_emit)
        kubeconfigs = KubeconfigFiles(settings.kubeconfigs_dir)
        kubeconfigs.open()
        managed = ManagedDomains.from_settings_values(
            settings.dynadot_managed_domains, settings.dynadot_domain
        )
        supervisor = RunSupervisor()
        deps = Collaborators(
            settings=settings,
            records=records,
            hub=hub,
            provisioner=ov.provisioner or _default_provisioner(settings, metrics),
            phase1=ov.phase1 or _default_phase1(settings),
            kubeconfigs=kubeconfigs,
            pool_domains=ov.pool_domains,
        )
        service = DeploymentService(
            deps=deps,
            supervisor=supervisor,
            is_managed_domain=managed.is_managed,
            pdm_mode=bool(settings.pool_domain_manager_url),
        )
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
        )
        metrics.live.status_counts = service.status_counts
        metrics.live.sse_subscribers = hub.subscriber_total
        for setup in ov.extra_setup:
            maybe = setup(services, stack)
            if hasattr(maybe, "__await__"):
                await maybe
        stack.push_async_callback(supervisor.aclose, ov.shutdown_grace)
        await service.load()
        yield services
