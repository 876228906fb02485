"""The deployment rules behind every `/api/v1/deployments` route.

`DeploymentService` validates and records requests, answers reads from memory, and hands long
work to `Runs` through the `RunSupervisor`. It never touches HTTP: routers pass it bytes and
headers and map its `CatalystError`s to responses.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import SecretStr

from ..errors import (
    InvalidRequest,
    ServiceUnavailable,
)
from ..provisioner.workdir import new_workdir_name
from ..store import new_deployment_id
from ..timefmt import utcnow
from ._base import stream_url, subdomain_conflict
from .actions import ActionsMixin
from .bearer import mint_bearer
from .decode import decode_create_request
from .formats import label_problem
from .models import Deployment, Status
from .postback import PostbackMixin
from .rehydrate import RehydrateMixin
from .validation import validate_request

__all__ = ["DeploymentService"]

log = structlog.get_logger(__name__)

MAX_LIST_LIMIT = 500
DEFAULT_LIST_LIMIT = 50


class DeploymentService(RehydrateMixin, PostbackMixin, ActionsMixin):
    """Create, read, retry and destroy deployments; accept the kubeconfig postback.

    Assembled from parts with one job each: `rehydrate` (startup), `postback` (kubeconfig),
    `actions` (retry, destroy); this module holds reads and create.
    """

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
            problem = label_problem(sub)
            if problem is not None:
                raise InvalidRequest("invalid-subdomain", f"sovereignSubdomain {problem}")
            req.sovereign_subdomain = sub
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
                raise subdomain_conflict()
        fqdn = req.sovereign_fqdn.strip()
        self.check_fqdn_free(fqdn)

        deployment_id = new_deployment_id()
        while self.registry.get(deployment_id) is not None:
            deployment_id = new_deployment_id()
        self.registry.claim(fqdn, pool_key, deployment_id)
        try:
            plaintext, digest = mint_bearer()
            dep = Deployment(
                id=deployment_id,
                status=Status.PROVISIONING,
                request=req,
                started_at=utcnow(),
                kubeconfig_bearer_hash=digest,
                bearer_token=SecretStr(plaintext),
                tofu_workdir=new_workdir_name(fqdn, deployment_id),
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
        self.start_provision(dep, retry_phase=None)
        log.info("deployment created", deployment_id=dep.id, fqdn=fqdn, pool=req.is_pool)
        return {"id": dep.id, "status": str(dep.status), "streamURL": stream_url(dep.id)}


def _pool_label(fqdn: str, pool: str) -> str:
    """`acme` for `acme.omani.works` in pool `omani.works`; "" when not directly under it."""
    name = fqdn.strip().lower().rstrip(".")
    if not pool or not name.endswith("." + pool):
        return ""
    label = name[: -len(pool) - 1]
    return "" if "." in label else label
