"""Several replicas over one database (PostgreSQL backend): what each learns from the others,
and who runs what.

- Records: every save is announced (`records` channel); a replica applies a record it does not
  run to its registry (in place, so readers holding the deployment see the change), and reads a
  deployment it does not know yet from the database on first use (`load_missing`).
- Events: every commit is announced (`events` channel, `<id>:<seq>`); a replica pulls the newer
  events of the streams it serves from the database, so a subscriber on any replica receives
  every event once, in order, and `Last-Event-ID` works anywhere (seqs are per deployment).
- Runs: a lease per deployment (`RunSupervisor` takes it); takes and releases are announced
  (`runs` channel) so streams on other replicas stay attached while a run goes on elsewhere.
  The keeper renews this replica's leases and takes over deployments whose holder stopped
  renewing, applying the restart rules (Phase 1 resumes, a Phase 0 cut short is orphaned, a
  kubeconfig wait keeps waiting).
- Kubeconfigs: a PUT on a replica that does not run the deployment is stored in the database;
  the holder is told (`kubeconfigs` channel) and continues as if the PUT had landed on it.

Notifications are handled one at a time, in the order the database committed them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from ..events import EventHub
from .kubeconfigs import KubeconfigFiles
from .lifecycle import Lifecycle
from .machine import RestartAction, decide_restart
from .models import IN_FLIGHT_PHASE0, Deployment, Status
from .registry import Registry
from .rehydrate import kubeconfig_problem
from .runs import Runs
from .supervisor import RunKind, RunSupervisor

__all__ = ["ACTIVE_STATUSES", "ReplicaSync", "needs_owner"]

log = structlog.get_logger(__name__)

# Statuses whose work runs somewhere: a deployment in one of them without a live lease was
# abandoned by its replica.
ACTIVE_STATUSES = [s.value for s in (*IN_FLIGHT_PHASE0, Status.PHASE1_WATCHING, Status.DESTROYING)]


def needs_owner(dep: Deployment) -> bool:
    """Whether loading this record calls for the restart rules (a run was, or is, going on)."""
    return decide_restart(dep, kubeconfig_exists=True).action is not RestartAction.NONE


class SharedRecords(Protocol):
    async def changed_since(
        self, since: datetime | None
    ) -> list[tuple[str, dict[str, Any], datetime]]: ...

    async def get(self, deployment_id: str) -> dict[str, Any] | None: ...


class SharedLeases(Protocol):
    async def take(self, deployment_id: str) -> bool: ...

    async def release(self, deployment_id: str) -> None: ...

    async def renew(self, deployment_ids: list[str]) -> set[str]: ...

    async def held_elsewhere(self, deployment_ids: list[str]) -> set[str]: ...

    async def unleased(self, statuses: list[str], settled: float) -> list[str]: ...


class ObservedLog(Protocol):
    def observed(self, deployment_id: str, seq: int) -> bool: ...

    def forget(self, deployment_id: str) -> None: ...


CapturedElsewhere = Callable[[Deployment], Awaitable[None]]


class ReplicaSync:
    """Keeps this replica's registry, streams and runs in step with the other replicas."""

    def __init__(
        self,
        *,
        registry: Registry,
        hub: EventHub,
        eventlog: ObservedLog,
        records: SharedRecords,
        leases: SharedLeases,
        supervisor: RunSupervisor,
        lifecycle: Lifecycle,
        runs: Runs,
        kubeconfigs: KubeconfigFiles,
        heartbeat: float,
        settle: float,
        create_lock: Callable[[], contextlib.AbstractAsyncContextManager[None]],
    ) -> None:
        self._registry = registry
        self._hub = hub
        self._eventlog = eventlog
        self._records = records
        self._leases = leases
        self._supervisor = supervisor
        self._lifecycle = lifecycle
        self._runs = runs
        self._kubeconfigs = kubeconfigs
        self._heartbeat = heartbeat
        self._settle = settle
        self._create_lock = create_lock
        self.captured_elsewhere: CapturedElsewhere | None = None
        self._inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._seen_until: datetime | None = None
        self.takeovers = 0
        self._claimed: set[str] = set()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._drain(), name="replicas:inbox"),
            asyncio.create_task(self._keep(), name="replicas:keeper"),
        ]

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    # --- notifications ---------------------------------------------------------------------------

    def notify(self, kind: str, payload: str) -> None:
        """A notification (`events`, `records`, `runs`, `kubeconfigs`): queued, handled in
        order by one task."""
        self._inbox.put_nowait((kind, payload))

    async def _drain(self) -> None:
        while True:
            kind, payload = await self._inbox.get()
            try:
                await self._handle(kind, payload)
            except Exception as exc:  # one bad notification never stops the others
                log.warning("replica notification failed", kind=kind, error=str(exc))

    async def _handle(self, kind: str, payload: str) -> None:
        if kind == "events":
            deployment_id, _, seq = payload.rpartition(":")
            if self._eventlog.observed(deployment_id, int(seq)):
                await self._hub.pull(deployment_id)
        elif kind == "records":
            # Never over a deployment this replica owns: its in-memory state is the newest
            # (a notification of its own save can arrive after later transitions).
            if not self._supervisor.owns(payload):
                raw = await self._records.get(payload)
                if raw is not None and not self._supervisor.owns(payload):
                    self.apply(raw)
        elif kind == "runs":
            deployment_id, _, what = payload.rpartition(":")
            if self._supervisor.is_running(deployment_id):
                return
            stream = self._hub.stream(deployment_id)
            if what == "begin":
                stream.begin_run()
            else:
                await self._hub.pull(deployment_id)
                stream.end_run()
        elif kind == "kubeconfigs":
            dep = self._registry.get(payload)
            runs_here = dep is not None and self._supervisor.is_running(payload)
            if runs_here and dep is not None and self.captured_elsewhere is not None:
                await self.captured_elsewhere(dep)

    async def resync(self) -> None:
        """After the notification connection came back: re-read what may have been missed."""
        await self.refresh()
        for deployment_id in [d.id for d in self._registry]:
            await self._hub.pull(deployment_id)
        await self._sync_run_states([d.id for d in self._registry if d.status in _ACTIVE])

    # --- records ---------------------------------------------------------------------------------

    def apply(self, raw: dict[str, Any]) -> Deployment | None:
        """Apply a record another replica saved: in place when known (unless identical)."""
        try:
            fresh = Deployment.from_record(raw)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("skipping unreadable deployment record", id=raw.get("id"), reason=str(exc))
            return None
        dep = self._registry.get(fresh.id)
        if dep is None:
            self._registry.add(fresh)
            return fresh
        if dep.to_record() == fresh.to_record():
            return dep
        for item in dataclasses.fields(Deployment):
            if item.name not in ("lock", "bearer_token"):
                setattr(dep, item.name, getattr(fresh, item.name))
        self._registry.add(dep)
        return dep

    async def refresh(self) -> None:
        """Apply every record saved since the last refresh (all of them the first time)."""
        since = self._seen_until - timedelta(seconds=2) if self._seen_until else None
        for deployment_id, raw, updated_at in await self._records.changed_since(since):
            if self._seen_until is None or updated_at > self._seen_until:
                self._seen_until = updated_at
            if not self._supervisor.owns(deployment_id):
                self.apply(raw)

    async def load_missing(self, deployment_id: str) -> Deployment | None:
        """A deployment another replica created that this one has not heard of yet."""
        raw = await self._records.get(deployment_id)
        if raw is None:
            return None
        dep = self.apply(raw)
        if dep is not None and dep.status in _ACTIVE:
            await self._sync_run_states([dep.id])
        return dep

    async def _sync_run_states(self, deployment_ids: list[str]) -> None:
        elsewhere = await self._leases.held_elsewhere(deployment_ids)
        for deployment_id in deployment_ids:
            if self._supervisor.is_running(deployment_id):
                continue
            stream = self._hub.stream(deployment_id)
            if deployment_id in elsewhere:
                stream.begin_run()
            else:
                stream.end_run()

    @contextlib.asynccontextmanager
    async def creating(self) -> AsyncIterator[None]:
        """Around a create's checks and first save: one create at a time across replicas, on
        a registry that holds every record committed before."""
        async with self._create_lock():
            await self.refresh()
            yield

    # --- leases ----------------------------------------------------------------------------------

    async def claim(self, dep: Deployment) -> bool:
        """At start-up: whether this replica applies the restart rules to `dep` (it took the
        lease, or no run is due); False when another replica runs it."""
        if not needs_owner(dep):
            return True
        if await self._supervisor.acquire(dep.id):
            self._claimed.add(dep.id)
            return True
        self._hub.stream(dep.id).begin_run()
        return False

    async def released_unless_running(self, deployment_id: str) -> None:
        """After the restart rules started nothing: give back the lease `claim` took."""
        if deployment_id in self._claimed and not self._supervisor.is_running(deployment_id):
            await self._leases.release(deployment_id)
            self._supervisor.disown(deployment_id)
        self._claimed.discard(deployment_id)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                lost = await self._leases.renew(self._supervisor.running())
                if lost:
                    self._supervisor.lost(lost)
                for deployment_id in await self._leases.unleased(ACTIVE_STATUSES, self._settle):
                    await self.take_over(deployment_id)
            except Exception as exc:  # the database is down: the next beat tries again
                log.warning("lease keeper: database unavailable", error=str(exc))

    async def adopt_kubeconfig(self, deployment_id: str) -> None:
        """A kubeconfig that may be stored without anyone acting on it: a PUT deposited here
        for another replica's run, or a run here that just ended (and released its lease)
        while a PUT landed elsewhere. Unless a replica holds the lease (its run acts on the
        notification, or it makes this same check when its run ends), take the lease and
        continue here as if the PUT had landed here: the kubeconfig is recorded and a Phase 1
        that is due starts. The lease orders the replicas, so exactly one acts."""
        if self.captured_elsewhere is None or self._supervisor.owns(deployment_id):
            return
        if not await self._kubeconfigs.stored(deployment_id):
            return
        if not await self._supervisor.acquire(deployment_id):
            return  # the holder acts on it
        try:
            raw = await self._records.get(deployment_id)
            dep = self.apply(raw) if raw is not None else None
            if dep is not None:
                await self.captured_elsewhere(dep)
        finally:
            if not self._supervisor.is_running(deployment_id):
                await self._leases.release(deployment_id)
                self._supervisor.disown(deployment_id)

    async def take_over(self, deployment_id: str) -> bool:
        """Take an abandoned deployment: its lease, its latest record, the restart rules."""
        if self._supervisor.owns(deployment_id):
            return False
        if not await self._supervisor.acquire(deployment_id):
            return False
        raw = await self._records.get(deployment_id)
        dep = self.apply(raw) if raw is not None else None  # the newest state
        if dep is None:
            await self._leases.release(deployment_id)
            self._supervisor.disown(deployment_id)
            return False
        self._eventlog.forget(dep.id)  # its last events came from the replica that died
        await self._hub.pull(dep.id)
        await self._kubeconfigs.materialize(dep.id)
        action = await self._lifecycle.restarted(dep, kubeconfig_problem=kubeconfig_problem(dep))
        self.takeovers += 1
        log.info("deployment taken over", deployment_id=dep.id, action=action.value)
        await self._hub.pull(dep.id)
        if action in (RestartAction.RESUME_PHASE1, RestartAction.WAIT_FOR_KUBECONFIG):
            self._supervisor.start(dep, RunKind.RESUME, self._runs.phase1_only(dep))
        else:
            await self._leases.release(deployment_id)
            self._supervisor.disown(deployment_id)
            self._hub.stream(dep.id).end_run()
        return True


_ACTIVE = frozenset(Status(s) for s in ACTIVE_STATUSES)
