"""Phase retry (spec §6.6, DESIGN item 7), destroy (DESIGN item 5) and the guard that keeps
destroy and refresh-watch apart (issue 10)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from pydantic import SecretStr

from ..errors import Conflict, InvalidBody, InvalidRequest
from ..events import Event
from ..wire.kit import RELEASE_PREFIX, release_name
from ..wire.shapes import DestroyResponse, RetryResponse
from .bearer import mint_bearer
from .decode import decode_json_object
from .lifecycle import Lifecycle
from .lookup import Deployments, stream_url
from .machine import PHASE0_NAMES, PHASE1_NAMES
from .models import IN_FLIGHT_PHASE0, Deployment, Status
from .pools import PoolRules, stamp_server_secrets
from .recent import MANUAL_RETRY_WINDOW, RecentKeys
from .runs import Collaborators, Runs
from .supervisor import RunKind, RunSupervisor

__all__ = ["DeploymentActions"]

StopRefreshWatch = Callable[[str], None]


class DeploymentActions:
    """Operator actions on an existing deployment: retry, destroy, and the refresh-watch guard.

    Owns the refresh-watch calls in flight per deployment (a DELETE is refused meanwhile) and
    the window that records a Phase 1 manual-retry event once."""

    def __init__(
        self,
        *,
        deps: Collaborators,
        lifecycle: Lifecycle,
        deployments: Deployments,
        runs: Runs,
        supervisor: RunSupervisor,
        pools: PoolRules,
        stop_refresh_watch: StopRefreshWatch | None = None,
    ) -> None:
        self._deps = deps
        self._lifecycle = lifecycle
        self._deployments = deployments
        self._runs = runs
        self._supervisor = supervisor
        self._pools = pools
        # How a destroy stops a refresh watcher that is still observing the cluster.
        self._stop_refresh_watch = stop_refresh_watch or (lambda _deployment_id: None)
        self.refreshing: dict[str, int] = {}
        self._manual_retries = RecentKeys(MANUAL_RETRY_WINDOW)

    async def _settle(self, dep: Deployment) -> None:
        """A run whose record shows its outcome may still be in its epilogue: wait for it."""
        if dep.status in (Status.READY, Status.FAILED, Status.DESTROYED):
            await self._supervisor.settle(dep.id)

    async def retry(self, deployment_id: str, phase: str, body: bytes) -> RetryResponse:
        """`POST .../phases/{phase}/retry` (spec §6.6, DESIGN item 7)."""
        dep = self._deployments.get(deployment_id)
        if phase in PHASE1_NAMES:
            return self._phase1_manual_retry(dep, phase)
        if phase not in PHASE0_NAMES:
            raise InvalidRequest(
                "unknown-phase",
                body={
                    "error": f'unknown phase "{phase}" — see docs/RUNBOOK-PROVISIONING.md for the '
                    "canonical phase list"
                },
            )
        await self._settle(dep)
        if self._supervisor.is_running(dep.id) or dep.status in IN_FLIGHT_PHASE0:
            raise Conflict(
                "in-flight",
                body={
                    "error": "deployment is still in-flight — wait for the current phase to "
                    "finish before retrying"
                },
            )
        if dep.status is Status.DESTROYED:
            raise Conflict(
                "deployment-destroyed",
                "this deployment was destroyed; create a new deployment instead of retrying",
            )
        self._supervisor.check_accepting()
        # A failed deployment with nothing in its state released its FQDN (DESIGN item 6).
        self._deployments.check_fqdn_free(dep.request.sovereign_fqdn, exclude=dep)
        token = _token_from_body(body)
        if token:
            dep.request.hetzner_token = SecretStr(token)
        if not dep.request.hetzner_token_usable():
            raise _credentials_required("retry")
        stamp_server_secrets(dep.request, self._deps.settings)
        await self._pools.ensure_reservation(dep)
        if dep.bearer_token is None and not (dep.result and dep.result.kubeconfig_path):
            plaintext, digest = mint_bearer()
            dep.bearer_token = SecretStr(plaintext)
            dep.kubeconfig_bearer_hash = digest
        await self._lifecycle.begin_retry(dep)
        self._supervisor.start(dep, RunKind.PHASE0, self._runs.provision(dep, retry_phase=phase))
        return {
            "id": dep.id,
            "status": str(dep.status),
            "phase": phase,
            "streamURL": stream_url(dep.id),
            "message": "Phase 0 retry accepted — re-running tofu apply against the existing "
            "workdir (idempotent). Reopen the SSE stream to follow progress.",
        }

    def _phase1_manual_retry(self, dep: Deployment, phase: str) -> RetryResponse:
        release = phase if phase.startswith(RELEASE_PREFIX) else release_name(phase)
        if self._manual_retries.first_in_window((dep.id, release)):
            self._emit_manual_retry(dep, phase, release)
        return {
            "id": dep.id,
            "status": "manual-retry-required",
            "phase": phase,
            "streamURL": stream_url(dep.id),
            "runbook": "docs/RUNBOOK-PROVISIONING.md#rollback-procedures-per-phase",
            "message": f"Phase 1 ({phase}) is owned by Flux on the new Sovereign — operator "
            "action required if automatic remediation exhausted.",
        }

    def _emit_manual_retry(self, dep: Deployment, phase: str, release: str) -> None:
        """The runbook event, recorded once per phase per `MANUAL_RETRY_WINDOW` seconds."""
        self._deps.hub.stream(dep.id).emit(
            Event(
                phase=phase,
                message="Phase 1 retry: this HelmRelease is reconciled by Flux on the new "
                "Sovereign (not by catalyst-api). Flux applies install.remediation.retries=3 "
                "automatically; if those exhausted, the operator runs `kubectl annotate "
                f"--overwrite helmrelease/{release} -n flux-system "
                "reconcile.fluxcd.io/requestedAt=$(date +%s)` on the new Sovereign's "
                "kube-context. See docs/RUNBOOK-PROVISIONING.md §Rollback-procedures-per-phase "
                "for the full procedure.",
            )
        )

    # --- destroy -------------------------------------------------------------------------------

    async def destroy(self, deployment_id: str, body: bytes) -> DestroyResponse:
        """`DELETE /api/v1/deployments/{id}` (DESIGN item 5): 202 and a background destroy."""
        dep = self._deployments.get(deployment_id)
        await self._settle(dep)
        if (
            self._supervisor.is_running(dep.id)
            or dep.status in IN_FLIGHT_PHASE0
            or dep.status is Status.DESTROYING
        ):
            raise Conflict(
                "phase-running",
                "a phase is still running for this deployment — wait for it to finish (or for "
                "its timeout) before destroying",
            )
        if dep.status is Status.DESTROYED:
            raise Conflict("already-destroyed", "this deployment has already been destroyed")
        if self.refreshing.get(dep.id):
            raise Conflict(
                "watch-refresh-running",
                "a refresh-watch is starting a watcher on this deployment's cluster — wait for "
                "its answer before destroying",
            )
        self._supervisor.check_accepting()
        token = _token_from_body(body)
        secret = SecretStr(token) if token else dep.request.hetzner_token
        if not token and not dep.request.hetzner_token_usable():
            raise _credentials_required("destroy")
        if token:
            dep.request.hetzner_token = secret
        self._stop_refresh_watch(dep.id)  # the cluster is going away: nothing left to observe
        await self._lifecycle.begin_destroy(dep)
        self._supervisor.start(dep, RunKind.DESTROY, self._runs.destroy(dep, secret))
        return {"id": dep.id, "status": str(dep.status), "streamURL": stream_url(dep.id)}

    # --- refresh-watch guard -------------------------------------------------------------------

    @contextlib.contextmanager
    def refresh_window(self, dep: Deployment) -> Iterator[None]:
        """Around `POST .../refresh-watch`: refused (409) while a destroy runs or once it is
        destroyed; while inside, a DELETE is refused with `watch-refresh-running`."""
        if dep.status is Status.DESTROYED:
            raise Conflict(
                "deployment-destroyed",
                "this deployment was destroyed; there is no cluster left to watch",
            )
        if dep.status is Status.DESTROYING:
            raise Conflict(
                "destroy-running",
                "this deployment is being destroyed; there is no cluster left to watch",
            )
        self.refreshing[dep.id] = self.refreshing.get(dep.id, 0) + 1
        try:
            yield
        finally:
            left = self.refreshing.pop(dep.id) - 1
            if left:
                self.refreshing[dep.id] = left


def _credentials_required(action: str) -> Conflict:
    return Conflict(
        "credentials-required",
        f"the Hetzner token is no longer held by catalyst-api (it is never persisted); send "
        f'{{"hetznerToken": "..."}} in the {action} request body',
    )


def _token_from_body(body: bytes) -> str:
    """`hetznerToken` from an optional JSON body (retry / destroy)."""
    if not body.strip():
        return ""
    raw = decode_json_object(body, "handler.RetryRequest")
    for key, value in raw.items():
        if key.lower() == "hetznertoken" and value is not None:
            if not isinstance(value, str):
                raise InvalidBody(
                    "json: cannot unmarshal "
                    f"{type(value).__name__} into Go struct field .hetznerToken of type string"
                )
            return value.strip()
    return ""
