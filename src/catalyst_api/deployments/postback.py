"""The kubeconfig postback (spec §3.10–3.11, §5): bearer checks, the 0600 file, and when a
late postback may start Phase 1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from ..errors import Conflict, Forbidden, Gone, Unauthorized, Unprocessable
from ..events import Event
from .bearer import bearer_matches, parse_bearer_header
from .kubeconfigs import describe_os_error
from .lifecycle import Lifecycle
from .lookup import Deployments
from .models import Deployment, FailureStage, Status
from .runs import Collaborators, Runs
from .supervisor import RunKind, RunSupervisor

__all__ = ["KUBECONFIG_MAX_BYTES", "KubeconfigPostback"]

log = structlog.get_logger(__name__)

KUBECONFIG_MAX_BYTES = 1 << 20


class KubeconfigPostback:
    """The kubeconfig PUT and GET; a late postback starts Phase 1."""

    def __init__(
        self,
        *,
        deps: Collaborators,
        lifecycle: Lifecycle,
        deployments: Deployments,
        runs: Runs,
        supervisor: RunSupervisor,
    ) -> None:
        self._deps = deps
        self._lifecycle = lifecycle
        self._deployments = deployments
        self._runs = runs
        self._supervisor = supervisor
        # Several replicas: whether another replica runs the deployment (then a PUT here is
        # stored in the database and that replica continues, see `captured_elsewhere`).
        self.held_elsewhere: Callable[[str], Awaitable[bool]] | None = None
        # Several replicas: after a deposit, act on it unless a replica holds the lease.
        self.after_deposit: Callable[[str], Awaitable[None]] | None = None

    def authorize_kubeconfig_put(self, deployment_id: str, authorization: str | None) -> Deployment:
        """Checks 1–5 of spec §3.11, before the body is read."""
        dep = self._deployments.get(deployment_id)
        token = parse_bearer_header(authorization)
        if not token:
            raise Unauthorized("missing-bearer", "Authorization: Bearer <token> header is required")
        if not dep.kubeconfig_bearer_hash:
            raise Forbidden(
                "no-bearer-hash",
                "this deployment has no bearer hash on record; refusing to accept a kubeconfig",
            )
        if not bearer_matches(token, dep.kubeconfig_bearer_hash):
            log.warning(
                "kubeconfig PUT with a wrong bearer",
                deployment_id=dep.id,
                fqdn=dep.request.sovereign_fqdn,
            )
            raise Forbidden(
                "invalid-bearer", "bearer token does not match the deployment's expected hash"
            )
        _refuse_if_already_set(dep)
        return dep

    async def store_kubeconfig(self, dep: Deployment, body: bytes) -> None:
        """Persist the kubeconfig (0600), record its path, and let Phase 1 start (spec §5)."""
        if not body:
            raise Unprocessable("empty-body", "kubeconfig body is empty")
        async with dep.lock:
            _refuse_if_already_set(dep)
            deposited = self.held_elsewhere is not None and await self.held_elsewhere(dep.id)
            if deposited:
                await self._deps.kubeconfigs.deposit(dep.id, body)
                log.info(
                    "kubeconfig stored for the replica running the deployment",
                    deployment_id=dep.id,
                    bytes=len(body),
                )
            else:
                path = await self._deps.kubeconfigs.write(dep.id, body)
                await self._lifecycle.kubeconfig_captured(dep, str(path))
        if not deposited:
            self._captured(dep, path, len(body))
        elif self.after_deposit is not None:
            # The holder's run may have ended since it was asked: then nobody would act on
            # the kubeconfig, so this replica takes the free lease and continues.
            await self.after_deposit(dep.id)

    async def captured_elsewhere(self, dep: Deployment) -> None:
        """Another replica stored this deployment's kubeconfig (this one runs it, or took its
        free lease): continue as if the PUT had landed here. When the record holds a path
        already (captured by a run that ended), a Phase 1 that is due starts."""
        async with dep.lock:
            captured = dep.result is not None and bool(dep.result.kubeconfig_path)
            if not await self._deps.kubeconfigs.materialize(dep.id):
                return
            path = self._deps.kubeconfigs.path_for(dep.id)
            if not captured:
                await self._lifecycle.kubeconfig_captured(dep, str(path))
        if captured:
            self._start_phase1_if_due(dep)
        else:
            self._captured(dep, path, path.stat().st_size)

    def _captured(self, dep: Deployment, path: Path, body_len: int) -> None:
        """After the record holds the path: tell the stream, wake the run or start Phase 1."""
        log.info(
            "kubeconfig captured",
            deployment_id=dep.id,
            fqdn=dep.request.sovereign_fqdn,
            path=str(path),
            bytes=body_len,
        )
        self._deps.hub.stream(dep.id).emit(
            Event(
                phase="kubeconfig",
                message=f"Kubeconfig received from the new Sovereign's cloud-init ({body_len} "
                "bytes); Phase 1 can watch the bootstrap kit",
            )
        )
        self._runs.kubeconfig_arrived(dep.id)
        self._start_phase1_if_due(dep)

    def _start_phase1_if_due(self, dep: Deployment) -> None:
        """Start Phase 1 unless a run goes on or the deployment's state forbids it."""
        if self._supervisor.is_running(dep.id) or not _postback_may_start_phase1(dep):
            return
        if dep.result is not None and dep.result.phase1_finished_at is None:
            self._supervisor.start(dep, RunKind.PHASE1, self._runs.phase1_only(dep))

    async def read_kubeconfig(self, deployment_id: str) -> tuple[bytes, str]:
        """The kubeconfig bytes and the download file name (spec §3.10)."""
        dep = self._deployments.get(deployment_id)
        if dep.status is Status.DESTROYED:
            raise Gone(
                "deployment-destroyed",
                "this deployment was destroyed; its kubeconfig was deleted with the cluster",
            )
        path = dep.result.kubeconfig_path if dep.result else ""
        if not path:
            raise Conflict(
                "not-implemented",
                "kubeconfig has not been captured for this deployment yet. Operator can fetch it "
                "via SSH per docs/RUNBOOK-PROVISIONING.md §Fetch kubeconfig via SSH; programmatic "
                "capture happens when the new Sovereign's cloud-init PUTs to this endpoint.",
            )
        try:
            data = await self._deps.kubeconfigs.read(path)
        except OSError as exc:
            raise Conflict(
                "kubeconfig-file-missing",
                "deployment record points at a kubeconfig file that no longer exists on disk: "
                + describe_os_error("open", path, exc),
            ) from None
        log.info("kubeconfig downloaded", deployment_id=dep.id, bytes=len(data))
        return data, f"{dep.request.sovereign_fqdn}-kubeconfig.yaml"


def _postback_may_start_phase1(dep: Deployment) -> bool:
    """A late postback starts Phase 1 only where waiting for it was the problem: never over a
    Phase 0, DNS or destroy failure (that would turn them into `ready`)."""
    if dep.status is Status.PHASE1_WATCHING:
        return True
    if dep.status is Status.FAILED:
        return dep.failure_stage in (FailureStage.KUBECONFIG_WAIT, None)
    return dep.status is Status.READY and dep.failure_stage is None


def _refuse_if_already_set(dep: Deployment) -> None:
    if dep.result is not None and dep.result.kubeconfig_path:
        raise Forbidden(
            "already-set",
            "kubeconfig has already been captured for this deployment; bearer is single-use",
        )
