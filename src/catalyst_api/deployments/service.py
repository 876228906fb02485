"""The deployment rules behind every `/api/v1/deployments` route.

`DeploymentService` validates and records requests, answers reads from memory, and hands long
work to `Runs` through the `RunSupervisor`. It never touches HTTP: routers pass it bytes and
headers and map its `CatalystError`s to responses.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from pydantic import SecretStr

from ..errors import InvalidRequest, ServiceUnavailable
from ..events import DeploymentStream
from ..provisioner.workdir import new_workdir_name
from ..store import is_safe_id, new_deployment_id
from ..timefmt import utcnow
from ..wire.shapes import (
    CreateResponse,
    DeploymentState,
    DestroyResponse,
    ListPage,
    PlanResponse,
    RetryResponse,
)
from .actions import DeploymentActions, StopRefreshWatch
from .bearer import mint_bearer
from .decode import decode_create_request
from .lifecycle import Lifecycle
from .lookup import Deployments, IsManagedDomain, stream_url
from .models import Deployment, DeploymentRequest, Status
from .pools import PoolRules, SharedReservations, stamp_server_secrets
from .postback import KubeconfigPostback
from .preview import PlanPreviews
from .registry import Registry
from .rehydrate import Rehydrator
from .replicas import ObservedLog, ReplicaSync, SharedLeases, SharedRecords
from .runs import Collaborators, Runs
from .supervisor import RunKind, RunSupervisor
from .validation import validate_request

__all__ = ["DeploymentService"]

log = structlog.get_logger(__name__)

MAX_LIST_LIMIT = 500
DEFAULT_LIST_LIMIT = 50


class DeploymentService:
    """Create, read, retry and destroy deployments; accept the kubeconfig postback.

    The front door the routers call. It holds create and the reads, and hands the rest to
    collaborators with one job each, built here from the same dependencies: `Rehydrator`
    (startup), `KubeconfigPostback`, `DeploymentActions` (retry, destroy, refresh guard),
    `PoolRules`; runs go through `RunSupervisor.start`, state changes through `Lifecycle`.
    """

    def __init__(
        self,
        *,
        deps: Collaborators,
        lifecycle: Lifecycle,
        supervisor: RunSupervisor,
        is_managed_domain: IsManagedDomain,
        pdm_mode: bool,
        stop_refresh_watch: StopRefreshWatch | None = None,
        previews: PlanPreviews | None = None,
    ) -> None:
        self.deps = deps
        self._previews = previews
        self.registry = Registry()
        self._lifecycle = lifecycle
        self._supervisor = supervisor
        self._deployments = Deployments(registry=self.registry, provisioner=deps.provisioner)
        self._runs = Runs(deps=deps, lifecycle=lifecycle)
        self._pools = PoolRules(
            deps=deps,
            registry=self.registry,
            is_managed_domain=is_managed_domain,
            pdm_mode=pdm_mode,
        )
        self._rehydrator = Rehydrator(
            deps=deps,
            lifecycle=lifecycle,
            registry=self.registry,
            runs=self._runs,
            supervisor=supervisor,
        )
        self._postback = KubeconfigPostback(
            deps=deps,
            lifecycle=lifecycle,
            deployments=self._deployments,
            runs=self._runs,
            supervisor=supervisor,
        )
        self._actions = DeploymentActions(
            deps=deps,
            lifecycle=lifecycle,
            deployments=self._deployments,
            runs=self._runs,
            supervisor=supervisor,
            pools=self._pools,
            stop_refresh_watch=stop_refresh_watch,
        )
        self.replicas: ReplicaSync | None = None

    def replicate(
        self,
        *,
        records: SharedRecords,
        leases: SharedLeases,
        eventlog: ObservedLog,
        heartbeat: float,
        settle: float,
        create_lock: Callable[[], contextlib.AbstractAsyncContextManager[None]],
        reservations: SharedReservations | None = None,
    ) -> ReplicaSync:
        """Run as one of several replicas over a shared database (before `load()`);
        `reservations`: the pool subdomains every replica sees."""
        self._pools.shared = reservations
        sync = ReplicaSync(
            registry=self.registry,
            hub=self.deps.hub,
            eventlog=eventlog,
            records=records,
            leases=leases,
            supervisor=self._supervisor,
            lifecycle=self._lifecycle,
            runs=self._runs,
            kubeconfigs=self.deps.kubeconfigs,
            heartbeat=heartbeat,
            settle=settle,
            create_lock=create_lock,
        )
        sync.captured_elsewhere = self._postback.captured_elsewhere
        self._postback.after_deposit = sync.adopt_kubeconfig
        self._supervisor.after_run = sync.adopt_kubeconfig
        self._rehydrator.claim = sync.claim
        self._rehydrator.release = sync.released_unless_running

        async def held_elsewhere(deployment_id: str) -> bool:
            return bool(await leases.held_elsewhere([deployment_id]))

        self._postback.held_elsewhere = held_elsewhere
        self.replicas = sync
        return sync

    async def pool_subdomain_held(self, pool: str, sub: str) -> bool:
        """Embedded pool mode's availability check (the wizard): held here or by any replica."""
        return await self._pools.held(pool, sub)

    async def known(self, deployment_id: str) -> None:
        """Before a read or action by id: with several replicas, a deployment created on
        another one that this one has not heard of yet is read from the database."""
        if not is_safe_id(deployment_id):
            return  # never a database key (a NUL byte would fail the query): 404 as before
        if self.replicas is not None and self.registry.get(deployment_id) is None:
            await self.replicas.load_missing(deployment_id)

    @contextlib.asynccontextmanager
    async def _creating(self) -> AsyncIterator[None]:
        if self.replicas is None:
            yield
            return
        async with self.replicas.creating():
            yield

    # --- handed to a collaborator --------------------------------------------------------------

    async def load(self) -> None:
        """Startup: rehydrate every record and resume what can resume (`Rehydrator`)."""
        await self._rehydrator.load()

    def authorize_kubeconfig_put(self, deployment_id: str, authorization: str | None) -> Deployment:
        return self._postback.authorize_kubeconfig_put(deployment_id, authorization)

    async def store_kubeconfig(self, dep: Deployment, body: bytes) -> None:
        await self._postback.store_kubeconfig(dep, body)

    async def read_kubeconfig(self, deployment_id: str) -> tuple[bytes, str]:
        return await self._postback.read_kubeconfig(deployment_id)

    async def retry(self, deployment_id: str, phase: str, body: bytes) -> RetryResponse:
        return await self._actions.retry(deployment_id, phase, body)

    async def destroy(self, deployment_id: str, body: bytes) -> DestroyResponse:
        return await self._actions.destroy(deployment_id, body)

    # --- reads ---------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> Deployment:
        return self._deployments.get(deployment_id)

    def state(self, dep: Deployment) -> DeploymentState:
        return dep.state(self.deps.hub.count(dep.id))

    def stream(self, dep: Deployment) -> DeploymentStream:
        return self.deps.hub.stream(dep.id)

    @property
    def refreshing(self) -> dict[str, int]:
        return self._actions.refreshing

    def refresh_window(self, dep: Deployment) -> contextlib.AbstractContextManager[None]:
        return self._actions.refresh_window(dep)

    def events(self, dep: Deployment) -> dict[str, Any]:
        """`GET /events`: state, the buffered events (their stored JSON) and whether the run is
        finished."""
        stream = self.deps.hub.stream(dep.id)
        snapshot = stream.snapshot_json()
        return {
            "state": dep.state(len(snapshot)),
            # Each event's stored JSON, sent as is (no decoding of a 10,000-event history).
            "events": snapshot,
            "done": stream.done,
        }

    def list(
        self,
        *,
        status: str | None,
        limit: str | None,
        cursor: str | None,
        owner: str | None = None,
    ) -> ListPage:
        """`GET /api/v1/deployments`: newest first, optional status filter, cursor paging;
        `owner` (not None): only that principal's deployments."""
        if status is not None and status not in {s.value for s in Status}:
            raise InvalidRequest("invalid-status", f"unknown status {status!r}")
        size = DEFAULT_LIST_LIMIT
        if limit is not None:
            try:
                size = int(limit)
            except ValueError:
                raise InvalidRequest("invalid-limit", "limit must be an integer") from None
            if size < 1:
                raise InvalidRequest("invalid-limit", "limit must be at least 1")
            size = min(size, MAX_LIST_LIMIT)
        page, next_cursor = self.registry.page(
            status=status, limit=size, cursor=cursor or None, owner=owner
        )
        out: ListPage = {"deployments": [self.state(d) for d in page]}
        if next_cursor:
            out["nextCursor"] = next_cursor
        return out

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {s.value: 0 for s in Status}
        for dep in self.registry:
            counts[dep.status.value] += 1
        return counts

    # --- create --------------------------------------------------------------------------------

    def _validated(self, body: bytes) -> DeploymentRequest:
        """Decode and validate a create body (spec §3.6 steps 1-4): the one validation shared
        by create and the plan preview."""
        self._supervisor.check_accepting()
        req = decode_create_request(body)
        stamp_server_secrets(req, self.deps.settings)
        message = validate_request(req)
        if message is not None:
            raise InvalidRequest("validation", body={"error": message})
        return req

    async def create(self, body: bytes, *, owner: str = "") -> CreateResponse:
        """Validate, reserve the pool subdomain, persist, start the run (spec §3.6); `owner`
        is the creating principal (recorded, shown in the state object)."""
        req = self._validated(body)
        async with self._creating():
            dep = await self._record_new(req, owner)
        self._supervisor.start(dep, RunKind.PHASE0, self._runs.provision(dep, retry_phase=None))
        log.info(
            "deployment created",
            deployment_id=dep.id,
            fqdn=req.sovereign_fqdn.strip(),
            pool=req.is_pool,
        )
        return {"id": dep.id, "status": str(dep.status), "streamURL": stream_url(dep.id)}

    async def plan(self, body: bytes) -> PlanResponse:
        """`POST /api/v1/deployments/plan`: the create's validation and checks (pool domain,
        subdomain and FQDN availability, read only), then a plan of the job the create would
        run — nothing is reserved, recorded or kept (`PlanPreviews`)."""
        if self._previews is None:
            raise ServiceUnavailable("plans-unavailable", "plan previews are not configured")
        req = self._validated(body)
        self._pools.check_create(req)
        self._deployments.check_fqdn_free(req.sovereign_fqdn.strip())
        unrecorded = _new_deployment(req, new_deployment_id())
        return await self._previews.preview(self._runs.job_for(unrecorded))

    async def _record_new(self, req: DeploymentRequest, owner: str) -> Deployment:
        """The FQDN / pool-subdomain checks, the reservation and the first save of a create
        (one at a time across replicas, see `_creating`)."""
        pool_key = self._pools.check_create(req)
        fqdn = req.sovereign_fqdn.strip()
        self._deployments.check_fqdn_free(fqdn)

        deployment_id = new_deployment_id()
        while self.registry.get(deployment_id) is not None:
            deployment_id = new_deployment_id()
        self.registry.claim(fqdn, pool_key, deployment_id)
        saved = False
        try:
            if pool_key is not None:
                await self._pools.hold(deployment_id, pool_key)
            dep = _new_deployment(req, deployment_id, owner)
            if pool_key is not None:
                await self._pools.reserve(dep, pool_key)
            self.registry.add(dep)
            self.deps.hub.new_stream(dep.id)
            await self._supervisor.acquire(dep.id)  # before the record says a run is due
            await self._lifecycle.created(dep)
            saved = True
        finally:
            self.registry.unclaim(fqdn, pool_key)
            if pool_key is not None and not saved:
                await self._pools.unhold(deployment_id)
        return dep


def _new_deployment(req: DeploymentRequest, deployment_id: str, owner: str = "") -> Deployment:
    """A new deployment of `req`: fresh bearer, injective workdir name, `provisioning`. Not
    registered nor saved here: create does that; the plan preview builds its job from one
    that never is."""
    plaintext, digest = mint_bearer()
    return Deployment(
        id=deployment_id,
        status=Status.PROVISIONING,
        request=req,
        started_at=utcnow(),
        kubeconfig_bearer_hash=digest,
        bearer_token=SecretStr(plaintext),
        tofu_workdir=new_workdir_name(req.sovereign_fqdn.strip(), deployment_id),
        owner=owner,
    )
