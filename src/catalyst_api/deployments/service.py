"""The deployment rules behind every `/api/v1/deployments` route.

`DeploymentService` validates and records requests, answers reads from memory, and hands long
work to `Runs` through the `RunSupervisor`. It never touches HTTP: routers pass it bytes and
headers and map its `CatalystError`s to responses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import structlog
from pydantic import SecretStr

from ..errors import (
    Conflict,
    DeploymentNotFound,
    Forbidden,
    InvalidBody,
    InvalidRequest,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)
from ..events import DeploymentStream, Event
from ..store import EventLog, new_deployment_id
from ..timefmt import utcnow
from .bearer import bearer_matches, mint_bearer, parse_bearer_header
from .decode import decode_create_request, decode_json_object
from .kubeconfigs import describe_os_error
from .machine import (
    DESTROY_INTERRUPTED_MESSAGE,
    PHASE0_NAMES,
    PHASE1_NAMES,
    RestartAction,
    decide_restart,
    orphan_message,
)
from .models import IN_FLIGHT_PHASE0, Deployment, Result, Status
from .registry import Registry
from .runs import KUBECONFIG_WAIT_STAGE, Collaborators, Runs
from .supervisor import RunSupervisor
from .validation import validate_request

__all__ = ["KUBECONFIG_MAX_BYTES", "DeploymentService"]

log = structlog.get_logger(__name__)

KUBECONFIG_MAX_BYTES = 1 << 20
MAX_LIST_LIMIT = 500
DEFAULT_LIST_LIMIT = 50

IsManagedDomain = Callable[[str], bool]


def stream_url(deployment_id: str) -> str:
    return f"/api/v1/deployments/{deployment_id}/logs"


class DeploymentService:
    """Create, read, retry and destroy deployments; accept the kubeconfig postback."""

    def __init__(
        self,
        *,
        deps: Collaborators,
        supervisor: RunSupervisor,
        is_managed_domain: IsManagedDomain,
        pdm_mode: bool,
    ) -> None:
        self.deps = deps
        self.runs = Runs(deps)
        self.supervisor = supervisor
        self.registry = Registry()
        self.is_managed_domain = is_managed_domain
        self.pdm_mode = pdm_mode
        self._pending_resume: dict[str, RestartAction] = {}

    # --- startup -------------------------------------------------------------------------------

    async def load(self) -> None:
        """Rehydrate every record (spec §4.6 with DESIGN item 3) and resume what can resume."""
        records = self.deps.records
        eventlog = self.deps.hub.eventlog
        records.remove_stale_temp_files()

        def skipped(path: Path, why: str) -> None:
            log.warning("skipping unreadable deployment record", path=str(path), reason=why)

        loaded = resumed = 0
        for _path, raw in records.iter_records(skipped):
            try:
                dep = Deployment.from_record(raw)
            except (KeyError, TypeError, ValueError) as exc:
                skipped(_path, f"invalid record: {exc}")
                continue
            if self.registry.get(dep.id) is not None:
                continue
            changed = _migrate_embedded_events(raw, dep.id, eventlog)
            if changed and not eventlog.enabled and isinstance(raw.get("events"), list):
                self.deps.hub.stream(dep.id).load([e for e in raw["events"] if isinstance(e, dict)])
            changed |= self._apply_restart_rules(dep)
            self.registry.add(dep)
            loaded += 1
            if changed:
                await self.runs.save(dep)
            if self._resume(dep):
                resumed += 1
        log.info(
            "deployments loaded",
            count=loaded,
            resumed=resumed,
            dir=str(records.directory),
            persistent=records.writable,
        )

    def _apply_restart_rules(self, dep: Deployment) -> bool:
        changed = False
        path = dep.result.kubeconfig_path if dep.result else ""
        kubeconfig_exists = False
        if path:
            try:
                Path(path).stat()
                kubeconfig_exists = True
            except OSError as exc:
                dep.error = (
                    "kubeconfig file lost across catalyst-api restart: "
                    f"{path} — {describe_os_error('stat', path, exc)}"
                )
        decision = decide_restart(dep, kubeconfig_exists=kubeconfig_exists)
        if decision.action is RestartAction.ORPHANED:
            dep.status = Status.FAILED
            dep.finished_at = utcnow()
            dep.error = orphan_message(dep.id)
            dep.failure_stage = "phase0"
            changed = True
        elif decision.action is RestartAction.DESTROY_INTERRUPTED:
            dep.status = Status.FAILED
            dep.finished_at = utcnow()
            dep.error = DESTROY_INTERRUPTED_MESSAGE.replace("{id}", dep.id)
            dep.failure_stage = "destroy"
            changed = True
        elif decision.action in (RestartAction.RESUME_PHASE1, RestartAction.WAIT_FOR_KUBECONFIG):
            if dep.status is not Status.PHASE1_WATCHING:
                dep.status = Status.PHASE1_WATCHING
                changed = True
            self._pending_resume[dep.id] = decision.action
        return changed

    def _resume(self, dep: Deployment) -> bool:
        action = self._pending_resume.pop(dep.id, None)
        if action is None:
            return False
        stream = self.deps.hub.stream(dep.id)
        stream.begin_run()
        self.supervisor.start_run(dep.id, f"deploy:{dep.id}:resume", self.runs.phase1_only(dep))
        return True

    # --- reads ---------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> Deployment:
        dep = self.registry.get(deployment_id)
        if dep is None:
            raise DeploymentNotFound()
        return dep

    def state(self, dep: Deployment) -> dict[str, Any]:
        return dep.state(self.deps.hub.count(dep.id))

    def stream(self, dep: Deployment) -> DeploymentStream:
        return self.deps.hub.stream(dep.id)

    def events(self, dep: Deployment) -> dict[str, Any]:
        """`GET /events`: state, the buffered events and whether the run is finished."""
        stream = self.deps.hub.stream(dep.id)
        snapshot = stream.snapshot()
        return {
            "state": dep.state(len(snapshot)),
            "events": [stored.event.to_dict() for stored in snapshot],
            "done": stream.done,
        }

    def list(self, *, status: str | None, limit: str | None, cursor: str | None) -> dict[str, Any]:
        """`GET /api/v1/deployments`: newest first, optional status filter, cursor paging."""
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
        page, next_cursor = self.registry.page(status=status, limit=size, cursor=cursor or None)
        out: dict[str, Any] = {"deployments": [self.state(d) for d in page]}
        if next_cursor:
            out["nextCursor"] = next_cursor
        return out

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {s.value: 0 for s in Status}
        for dep in self.registry:
            counts[dep.status.value] += 1
        return counts

    # --- create --------------------------------------------------------------------------------

    async def create(self, body: bytes) -> dict[str, Any]:
        """Validate, reserve the pool subdomain, persist, start the run (spec §3.6)."""
        settings = self.deps.settings
        req = decode_create_request(body)
        if req.is_pool:
            req.dynadot_key = settings.dynadot_api_key
            req.dynadot_secret = settings.dynadot_api_secret
        if settings.ghcr_pull_token.get_secret_value():
            req.ghcr_pull_token = settings.ghcr_pull_token
        message = validate_request(req)
        if message is not None:
            raise InvalidRequest("validation", body={"error": message})

        pool_key: tuple[str, str] | None = None
        if req.is_pool:
            pool = req.sovereign_pool_domain.strip().lower()
            sub = req.sovereign_subdomain.strip().lower()
            label = _pool_label(req.sovereign_fqdn, pool)
            if label and label != sub:
                # The records are written for the subdomain and the cluster is named by the
                # FQDN: when the FQDN sits directly under the pool domain, its label wins.
                sub = label
                req.sovereign_subdomain = label
            if not self.is_managed_domain(pool):
                raise InvalidRequest(
                    "unmanaged-pool-domain",
                    f"pool domain {pool!r} is not in the managed-domain allowlist "
                    "(DYNADOT_MANAGED_DOMAINS)",
                )
            if not sub:
                raise InvalidRequest(
                    "invalid-subdomain", "sovereignSubdomain is required for pool deployments"
                )
            pool_key = (pool, sub)
            if not self.pdm_mode and not (
                settings.dynadot_api_key.get_secret_value()
                and settings.dynadot_api_secret.get_secret_value()
            ):
                raise ServiceUnavailable(
                    "dns-credentials-missing",
                    "DYNADOT_API_KEY and DYNADOT_API_SECRET must be set on catalyst-api to write "
                    "the DNS records of a managed-pool Sovereign (see docs/SECRET-ROTATION.md)",
                )
            # Also in PDM mode: a concurrent create for the same name must lose with
            # subdomain-conflict, not with the fqdn check below.
            if self.registry.pool_subdomain_held(pool, sub):
                raise _subdomain_conflict()
        fqdn = req.sovereign_fqdn.strip()
        if self.registry.fqdn_in_use(fqdn):
            raise Conflict(
                "fqdn-in-use",
                f"another deployment for {fqdn} is still in progress — wait for it to finish "
                "or destroy it first",
            )

        self.registry.claim(fqdn, pool_key)
        try:
            deployment_id = new_deployment_id()
            while self.registry.get(deployment_id) is not None:
                deployment_id = new_deployment_id()
            plaintext, digest = mint_bearer()
            dep = Deployment(
                id=deployment_id,
                status=Status.PROVISIONING,
                request=req,
                started_at=utcnow(),
                kubeconfig_bearer_hash=digest,
                bearer_token=SecretStr(plaintext),
            )
            if pool_key is not None and self.deps.pool_domains is not None:
                reservation = await self.deps.pool_domains.reserve(
                    deployment_id=deployment_id, pool_domain=pool_key[0], subdomain=pool_key[1]
                )
                dep.pdm_reservation_token = reservation.token
                dep.pdm_pool_domain = reservation.pool_domain
                dep.pdm_subdomain = reservation.subdomain
            self.registry.add(dep)
        finally:
            self.registry.unclaim(fqdn, pool_key)
        self.deps.hub.new_stream(dep.id)
        await self.runs.save(dep)
        self._start_provision(dep, retry_phase=None)
        log.info("deployment created", deployment_id=dep.id, fqdn=fqdn, pool=req.is_pool)
        return {"id": dep.id, "status": str(dep.status), "streamURL": stream_url(dep.id)}

    def _start_provision(self, dep: Deployment, *, retry_phase: str | None) -> None:
        self.deps.hub.stream(dep.id).begin_run()
        self.deps.phase1_started.discard(dep.id)
        self.supervisor.start_run(
            dep.id, f"deploy:{dep.id}:phase0", self.runs.provision(dep, retry_phase=retry_phase)
        )

    # --- kubeconfig ----------------------------------------------------------------------------

    def authorize_kubeconfig_put(self, deployment_id: str, authorization: str | None) -> Deployment:
        """Checks 1–5 of spec §3.11, before the body is read."""
        dep = self.get(deployment_id)
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
            path = await self.deps.kubeconfigs.write(dep.id, body)
            if dep.result is None:
                dep.result = Result(sovereign_fqdn=dep.request.sovereign_fqdn)
            dep.result.kubeconfig_path = str(path)
            await self.runs.save(dep)
        log.info(
            "kubeconfig captured",
            deployment_id=dep.id,
            fqdn=dep.request.sovereign_fqdn,
            path=str(path),
            bytes=len(body),
        )
        self.runs.kubeconfig_event(dep.id).set()
        if self.supervisor.is_running(dep.id) or not _postback_may_start_phase1(dep):
            return
        if dep.result.phase1_finished_at is None:
            self.deps.hub.stream(dep.id).begin_run()
            self.supervisor.start_run(dep.id, f"deploy:{dep.id}:phase1", self.runs.phase1_only(dep))

    async def read_kubeconfig(self, deployment_id: str) -> tuple[bytes, str]:
        """The kubeconfig bytes and the download file name (spec §3.10)."""
        dep = self.get(deployment_id)
        path = dep.result.kubeconfig_path if dep.result else ""
        if not path:
            raise Conflict(
                "not-implemented",
                "kubeconfig has not been captured for this deployment yet. Operator can fetch it "
                "via SSH per docs/RUNBOOK-PROVISIONING.md §Fetch kubeconfig via SSH; programmatic "
                "capture happens when the new Sovereign's cloud-init PUTs to this endpoint.",
            )
        try:
            data = await self.deps.kubeconfigs.read(path)
        except OSError as exc:
            raise Conflict(
                "kubeconfig-file-missing",
                "deployment record points at a kubeconfig file that no longer exists on disk: "
                + describe_os_error("open", path, exc),
            ) from None
        log.info("kubeconfig downloaded", deployment_id=dep.id, bytes=len(data))
        return data, f"{dep.request.sovereign_fqdn}-kubeconfig.yaml"

    # --- retry ---------------------------------------------------------------------------------

    async def retry(self, deployment_id: str, phase: str, body: bytes) -> dict[str, Any]:
        """`POST .../phases/{phase}/retry` (spec §6.6, DESIGN item 7)."""
        dep = self.get(deployment_id)
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
        if self.supervisor.is_running(dep.id) or dep.status in IN_FLIGHT_PHASE0:
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
        token = _token_from_body(body)
        if token:
            dep.request.hetzner_token = SecretStr(token)
        if not dep.request.hetzner_token_usable():
            raise _credentials_required("retry")
        if dep.request.is_pool and not dep.request.ghcr_pull_token.get_secret_value():
            dep.request.ghcr_pull_token = self.deps.settings.ghcr_pull_token
        if dep.request.is_pool:
            dep.request.dynadot_key = self.deps.settings.dynadot_api_key
            dep.request.dynadot_secret = self.deps.settings.dynadot_api_secret
        await self._ensure_reservation(dep)
        if dep.bearer_token is None and not (dep.result and dep.result.kubeconfig_path):
            plaintext, digest = mint_bearer()
            dep.bearer_token = SecretStr(plaintext)
            dep.kubeconfig_bearer_hash = digest
        dep.status = Status.PROVISIONING
        dep.error = ""
        dep.failure_stage = ""
        dep.finished_at = None
        if dep.result is not None:
            dep.result.phase1_finished_at = None
            dep.result.phase1_outcome = ""
        await self.runs.save(dep)
        self._start_provision(dep, retry_phase=phase)
        return {
            "id": dep.id,
            "status": str(dep.status),
            "phase": phase,
            "streamURL": stream_url(dep.id),
            "message": "Phase 0 retry accepted — re-running tofu apply against the existing "
            "workdir (idempotent). Reopen the SSE stream to follow progress.",
        }

    async def _ensure_reservation(self, dep: Deployment) -> None:
        """A retried pool deployment whose PDM reservation was released reserves again."""
        pool = self.deps.pool_domains
        if not dep.request.is_pool or pool is None or dep.pdm_reservation_token:
            return
        if not self.pdm_mode and dep.pdm_pool_domain:
            return
        pool_domain = dep.request.sovereign_pool_domain.strip().lower()
        sub = dep.request.sovereign_subdomain.strip().lower()
        if not self.is_managed_domain(pool_domain):
            return
        if not self.pdm_mode and self.registry.pool_subdomain_held(pool_domain, sub, exclude=dep):
            raise _subdomain_conflict()
        reservation = await pool.reserve(
            deployment_id=dep.id, pool_domain=pool_domain, subdomain=sub
        )
        dep.pdm_reservation_token = reservation.token
        dep.pdm_pool_domain = reservation.pool_domain
        dep.pdm_subdomain = reservation.subdomain

    def _phase1_manual_retry(self, dep: Deployment, phase: str) -> dict[str, Any]:
        release = phase if phase.startswith("bp-") else f"bp-{phase}"
        self.deps.hub.stream(dep.id).emit(
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
        return {
            "id": dep.id,
            "status": "manual-retry-required",
            "phase": phase,
            "streamURL": stream_url(dep.id),
            "runbook": "docs/RUNBOOK-PROVISIONING.md#rollback-procedures-per-phase",
            "message": f"Phase 1 ({phase}) is owned by Flux on the new Sovereign — operator "
            "action required if automatic remediation exhausted.",
        }

    # --- destroy -------------------------------------------------------------------------------

    async def destroy(self, deployment_id: str, body: bytes) -> dict[str, Any]:
        """`DELETE /api/v1/deployments/{id}` (DESIGN item 5): 202 and a background destroy."""
        dep = self.get(deployment_id)
        if (
            self.supervisor.is_running(dep.id)
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
        token = _token_from_body(body)
        secret = SecretStr(token) if token else dep.request.hetzner_token
        if not token and not dep.request.hetzner_token_usable():
            raise _credentials_required("destroy")
        if token:
            dep.request.hetzner_token = secret
        dep.status = Status.DESTROYING
        dep.error = ""
        dep.finished_at = None
        await self.runs.save(dep)
        self.deps.hub.stream(dep.id).begin_run()
        self.supervisor.start_run(
            dep.id, f"deploy:{dep.id}:destroy", self.runs.destroy(dep, secret)
        )
        return {"id": dep.id, "status": str(dep.status), "streamURL": stream_url(dep.id)}


def _postback_may_start_phase1(dep: Deployment) -> bool:
    """A late postback starts Phase 1 only where waiting for it was the problem: never over a
    Phase 0, DNS or destroy failure (that would turn them into `ready`)."""
    if dep.status is Status.PHASE1_WATCHING:
        return True
    if dep.status is Status.FAILED:
        return dep.failure_stage in (KUBECONFIG_WAIT_STAGE, "")
    return dep.status is Status.READY and dep.failure_stage == ""


def _pool_label(fqdn: str, pool: str) -> str:
    """`acme` for `acme.omani.works` in pool `omani.works`; "" when not directly under it."""
    name = fqdn.strip().lower().rstrip(".")
    if not pool or not name.endswith("." + pool):
        return ""
    label = name[: -len(pool) - 1]
    return "" if "." in label else label


def _refuse_if_already_set(dep: Deployment) -> None:
    if dep.result is not None and dep.result.kubeconfig_path:
        raise Forbidden(
            "already-set",
            "kubeconfig has already been captured for this deployment; bearer is single-use",
        )


def _subdomain_conflict() -> Conflict:
    return Conflict(
        "subdomain-conflict",
        "this subdomain has been reserved or activated for the chosen pool — pick a different name",
    )


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


def _migrate_embedded_events(raw: dict[str, Any], deployment_id: str, eventlog: EventLog) -> bool:
    """Move a record's embedded `events` (the original's format) into `<id>.events.jsonl`."""
    if "events" not in raw:
        return False
    events = raw.get("events")
    if isinstance(events, list) and events and eventlog.enabled:
        try:
            existing = eventlog.path_for(deployment_id).exists()
        except ValueError:
            return False
        if not existing:
            lines = []
            for seq, item in enumerate((e for e in events if isinstance(e, dict)), start=1):
                item = dict(item)
                item["seq"] = seq
                lines.append(orjson.dumps(item))
            eventlog.replace_sync(deployment_id, lines)
    return True
