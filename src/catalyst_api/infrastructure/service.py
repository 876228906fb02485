"""`InfrastructureService`: the rules behind the infrastructure routes (spec §10.2).

Reads compose the record with live data (`LiveReader`). A mutation is: deployment (404) →
body (400) → the Sovereign's kubeconfig (503 `sovereign-cluster-unreachable`) → audit job
(500 `mutation-job-register-failed`) → the claim, created in `catalyst-day2` (409
`xrc-name-conflict`; a PATCH merges into an existing claim instead; other failures 503
`xrc-submit-failed`) → 202, then the claim is followed (`ClaimTracker`). A DELETE resolves its
kind alias to the claim kind and the claim name the create wrote, previews the cascade from the
topology, deletes with foreground propagation (absent → 202 `already-absent`, failure 503
`xrc-delete-failed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from ..deployments import Deployment, KubeconfigFiles
from ..errors import Conflict, InternalError, InvalidRequest, NotFound, ServiceUnavailable
from ..events import Event
from ..jobs import JobsError, JobsStorage
from ..kube import KubeClient, KubeConfigError, KubeError, KubeNotFound, KubeStatusError
from ..timefmt import format_rfc3339_nano
from .audit import AuditJob, MutationAudit, job_name
from .cascade import cascade_for
from .claims import (
    ANNOTATION_ACTION,
    ANNOTATION_DIFF,
    CLAIM_NAMESPACE,
    claim_object,
    kind_for_alias,
    kind_named,
)
from .live import LiveReader
from .mutations import MutationRequest, check_node_action, plan
from .progress import ClaimTracker, TrackedClaim
from .topology import compute_view, first_provider, network_view, storage_view, topology
from .treemap import ClusterObjects, parse_query, render, workloads

__all__ = ["SUBMITTED", "InfrastructureService"]

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
SUBMITTED = "submitted-pending-composition"
NO_KUBECONFIG = (
    "sovereign cluster kubeconfig not yet posted back — cloud-init in flight or PUT "
    "/kubeconfig missed; retry once the wizard's success screen reaches Phase-1 ready"
)


class InfrastructureService:
    """Topology reads and Day-2 mutations for every deployment."""

    def __init__(
        self,
        *,
        lookup: Callable[[str], Deployment | None],
        kubeconfigs: KubeconfigFiles,
        jobs: JobsStorage | None,
        reader: LiveReader,
        emit_for: Callable[[str], Callable[[Event], None]],
        poll_interval: float,
        claim_timeout: float,
    ) -> None:
        self._lookup = lookup
        self._kubeconfigs = kubeconfigs
        self.reader = reader
        self.audit = MutationAudit(jobs) if jobs is not None else None
        self.tracker = ClaimTracker(
            reader=reader,
            audit=self.audit,
            emit_for=emit_for,
            interval=poll_interval,
            timeout=claim_timeout,
        )

    async def aclose(self) -> None:
        await self.tracker.aclose()

    async def resume(self, deployments: Iterable[Deployment]) -> int:
        """After a restart: follow again every claim whose audit job is still open (its
        execution not finished); returns how many. A deployment without a readable kubeconfig
        or jobs is skipped (logged)."""
        if self.audit is None:
            return 0
        resumed = 0
        for dep in deployments:
            if dep.result is None or not dep.result.kubeconfig_path:
                continue
            try:
                open_claims = await asyncio.to_thread(self.audit.open_claims, dep.id)
                kubeconfig = await self._kubeconfig(dep) if open_claims else b""
            except (OSError, JobsError, ServiceUnavailable) as exc:
                log.warning("day-2 claims not resumed", deployment_id=dep.id, error=str(exc))
                continue
            for item in open_claims:
                try:
                    claim = kind_named(item.kind)
                except KeyError:
                    continue
                self.tracker.track(
                    TrackedClaim(dep.id, claim, item.name, -1, item.audit), kubeconfig
                )
                resumed += 1
        if resumed:
            log.info("day-2 claims followed again after a restart", claims=resumed)
        return resumed

    # --- reads ---------------------------------------------------------------------------------

    def deployment(self, deployment_id: str) -> Deployment:
        dep = self._lookup(deployment_id)
        if dep is None:
            raise NotFound("deployment-not-found", f"no deployment with id {deployment_id}")
        return dep

    async def _kubeconfig(self, dep: Deployment) -> bytes:
        """The Sovereign's kubeconfig, or 503 `sovereign-cluster-unreachable`."""
        path = dep.result.kubeconfig_path if dep.result is not None else ""
        if not path:
            raise ServiceUnavailable("sovereign-cluster-unreachable", NO_KUBECONFIG)
        try:
            return await self._kubeconfigs.read(path)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ServiceUnavailable(
                "sovereign-cluster-unreachable", f"read kubeconfig: {reason}"
            ) from None

    async def _live_kubeconfig(self, dep: Deployment) -> bytes | None:
        try:
            return await self._kubeconfig(dep)
        except ServiceUnavailable:
            return None

    async def topology(self, deployment_id: str) -> Obj:
        dep = self.deployment(deployment_id)
        return await self._topology(dep)

    async def _topology(self, dep: Deployment) -> Obj:
        live = await self.reader.read(dep.id, await self._live_kubeconfig(dep))
        return topology(dep, live)

    def compute(self, deployment_id: str) -> Obj:
        return compute_view(self.deployment(deployment_id))

    def storage(self, deployment_id: str) -> Obj:
        self.deployment(deployment_id)
        return storage_view()

    def network(self, deployment_id: str) -> Obj:
        return network_view(self.deployment(deployment_id))

    # --- mutations -----------------------------------------------------------------------------

    def _client(self, kubeconfig: bytes) -> KubeClient:
        try:
            return KubeClient.from_kubeconfig(
                kubeconfig, request_timeout=self.reader.timeout, trust_env=False
            )
        except KubeConfigError as exc:
            raise ServiceUnavailable("sovereign-cluster-unreachable", str(exc)) from None

    async def _register(
        self, dep: Deployment, *, verb: str, kind: str, slug: str, action: str, diff: str
    ) -> AuditJob:
        if self.audit is None:  # no jobs store: the id the job would have, nothing written
            name = job_name(verb, kind, slug)
            return AuditJob(f"{dep.id}:{name}", name, "")
        try:
            return await asyncio.to_thread(
                self.audit.register,
                dep.id,
                verb=verb,
                kind=kind,
                slug=slug,
                action=action,
                diff=diff,
            )
        except Exception as exc:
            log.warning("day-2 audit job not registered", deployment_id=dep.id, error=str(exc))
            raise InternalError("mutation-job-register-failed", str(exc)) from None

    async def _audit(
        self, method: str, deployment_id: str, audit: AuditJob, *args: Any, **kwargs: Any
    ) -> None:
        """Call `MutationAudit.<method>` off the loop; a store failure is logged, not raised."""
        if self.audit is None or not audit.execution_id:
            return
        try:
            await asyncio.to_thread(
                getattr(self.audit, method), deployment_id, audit, *args, **kwargs
            )
        except Exception as exc:
            log.warning("day-2 audit job not updated", error=str(exc))

    async def mutate(self, deployment_id: str, req: MutationRequest) -> Obj:
        """One Day-2 create/update: the 202 body, or a `CatalystError`."""
        if req.operation == "node-action":
            check_node_action(req.action)
        dep = self.deployment(deployment_id)
        m = plan(dep.id, req, default_provider=first_provider(dep))
        kubeconfig = await self._kubeconfig(dep)
        client = self._client(kubeconfig)
        audit = await self._register(
            dep, verb=m.verb, kind=m.kind, slug=m.slug, action=m.action, diff=m.diff
        )
        obj = claim_object(
            m.claim, name=m.name, deployment_id=dep.id, action=m.action, diff=m.diff, spec=m.spec
        )
        note = "awaiting Crossplane Composition reconciliation"
        async with client:
            try:
                stored = await client.create_object(m.claim.ref, obj)
            except KubeStatusError as exc:
                if exc.code != 409:
                    await self._fail(dep, audit, exc)
                    raise ServiceUnavailable("xrc-submit-failed", str(exc)) from None
                if not m.patch:
                    await self._audit("failed", dep.id, audit, f"xrc name conflict: {m.name}")
                    raise Conflict(
                        "xrc-name-conflict", f"an XRC with name {m.name} already exists"
                    ) from None
                stored = await self._merge(client, m.claim.ref, obj, dep, audit)
                note = "existing claim updated in place"
            except KubeError as exc:
                await self._fail(dep, audit, exc)
                raise ServiceUnavailable("xrc-submit-failed", str(exc)) from None
        generation = (stored.get("metadata") or {}).get("generation")
        await self._audit(
            "submitted",
            dep.id,
            audit,
            kind=m.claim.kind,
            name=m.name,
            note=note,
            status="pending",
        )
        self.tracker.emit(dep.id, f"{m.claim.kind} {m.name}: submitted ({m.action})")
        self.tracker.track(
            TrackedClaim(
                dep.id,
                m.claim,
                m.name,
                generation if isinstance(generation, int) else 0,
                audit if audit.execution_id else None,
            ),
            kubeconfig,
        )
        return {
            "jobId": audit.job_id,
            "xrcKind": m.claim.kind,
            "xrcName": m.name,
            "status": SUBMITTED,
            "submittedAt": format_rfc3339_nano(datetime.now(UTC)),
        }

    async def _merge(
        self, client: KubeClient, ref: Any, obj: Obj, dep: Deployment, audit: AuditJob
    ) -> Obj:
        """A PATCH whose claim exists: merge the new spec and annotations into it."""
        meta = obj["metadata"]
        patch = {
            "metadata": {
                "annotations": {
                    ANNOTATION_ACTION: meta.get("annotations", {}).get(ANNOTATION_ACTION),
                    ANNOTATION_DIFF: meta.get("annotations", {}).get(ANNOTATION_DIFF),
                }
            },
            "spec": obj["spec"],
        }
        try:
            return await client.merge_patch_object(
                ref, namespace=CLAIM_NAMESPACE, name=meta["name"], patch=patch
            )
        except KubeError as exc:
            await self._fail(dep, audit, exc)
            raise ServiceUnavailable("xrc-submit-failed", str(exc)) from None

    async def _fail(self, dep: Deployment, audit: AuditJob, exc: Exception) -> None:
        await self._audit("failed", dep.id, audit, str(exc))
        self.tracker.emit(dep.id, f"Day-2 claim not written: {exc}", "error")

    async def delete(self, deployment_id: str, kind_alias: str, resource_id: str) -> Obj:
        """DELETE `…/{kind}/{id}`: the 202 body (with the cascade), or a `CatalystError`."""
        claim = kind_for_alias(kind_alias)
        if claim is None:
            raise InvalidRequest("unknown-kind", f"unsupported resource kind: {kind_alias.lower()}")
        dep = self.deployment(deployment_id)
        names = claim.names_for(dep.id, resource_id)
        cascade = cascade_for(claim.resource, resource_id, names, await self._topology(dep))
        kubeconfig = await self._kubeconfig(dep)
        client = self._client(kubeconfig)
        audit = await self._register(
            dep,
            verb="remove",
            kind=claim.resource,
            slug=resource_id,
            action=f"remove-{claim.resource} id={resource_id}",
            diff=f"- {claim.resource}: {resource_id}",
        )
        deleted: list[str] = []
        async with client:
            for name in names:
                try:
                    await client.delete_object(
                        claim.ref, namespace=CLAIM_NAMESPACE, name=name, foreground=True
                    )
                except KubeNotFound:
                    continue
                except KubeError as exc:
                    await self._fail(dep, audit, exc)
                    raise ServiceUnavailable("xrc-delete-failed", str(exc)) from None
                deleted.append(name)
                if claim.kind != "NodeActionClaim":
                    break  # node actions: every action claim of the node goes
        name = deleted[0] if deleted else names[0]
        status = SUBMITTED if deleted else "already-absent"
        await self._audit(
            "submitted",
            dep.id,
            audit,
            kind=claim.kind,
            name=name,
            note=f"deletionPolicy=Delete; cascade rows: {len(cascade)}",
            status="succeeded",
        )
        self.tracker.emit(dep.id, f"{claim.kind} {name}: " + ("deleting" if deleted else status))
        return {
            "jobId": audit.job_id,
            "xrcKind": claim.kind,
            "xrcName": name,
            "status": status,
            "submittedAt": format_rfc3339_nano(datetime.now(UTC)),
            "cascade": cascade,
        }

    # --- dashboard -----------------------------------------------------------------------------

    def treemap(self, params: Mapping[str, str]) -> Obj:
        """`GET /api/v1/dashboard/treemap` from what the k8scache holds (400 on a bad query)."""
        query = parse_query(params)
        cache = self.reader.cache
        only = params.get("deployment_id", "").strip()
        clusters: list[ClusterObjects] = []
        for cid in cache.clusters() if cache is not None else []:
            if only and cid != only:
                continue
            dep = self._lookup(cid)
            objects = ClusterObjects(
                cid, dep.request.sovereign_fqdn if dep and dep.request.sovereign_fqdn else cid
            )
            for field_name, kind_name in _TREEMAP_KINDS:
                kind = cache.kind(kind_name) if cache is not None else None
                if kind is not None and cache is not None:
                    setattr(objects, field_name, cache.objects(cid, kind))
            clusters.append(objects)
        return render(workloads(clusters), query)


_TREEMAP_KINDS = (
    ("pods", "pod"),
    ("pvcs", "persistentvolumeclaim"),
    ("metrics", "podmetrics"),
    ("helmreleases", "helmrelease"),
)
