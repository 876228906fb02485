"""`ClaimTracker`: follows a submitted claim's Synced/Ready conditions into its audit job and
onto the deployment's event stream.

One task per claim (`day2:<deployment>:<claim>`), reading the claim every poll interval — from
the k8scache when it holds it, else with one GET — until it is Ready or failed, gone, or the
tracking budget runs out (the claim then stays `pending`, and its job says so). Every phase
change is one job line and one `infrastructure` event. Tasks are cancelled by `aclose()`;
after a restart the service follows the claims of still-open jobs again
(`InfrastructureService.resume`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from ..config import format_go_duration
from ..events import Event
from ..kube import KubeClient, KubeConfigError, KubeError
from .audit import AuditJob, MutationAudit
from .claims import ClaimKind, ClaimPhase, claim_phase
from .live import LiveReader

__all__ = ["EVENT_PHASE", "ClaimTracker", "TrackedClaim"]

log = structlog.get_logger(__name__)

EVENT_PHASE = "infrastructure"
"""The `phase` of the deployment events about Day-2 claims."""

_LEVELS = {"failed": "error", "pending": "warn"}


@dataclass(frozen=True, slots=True)
class TrackedClaim:
    """A claim to follow; `generation` < 0: whatever generation the claim has when first read
    (a claim followed again after a restart)."""

    deployment_id: str
    claim: ClaimKind
    name: str
    generation: int
    audit: AuditJob | None


class ClaimTracker:
    """Owns the claim-following tasks (see the module docstring)."""

    def __init__(
        self,
        *,
        reader: LiveReader,
        audit: MutationAudit | None,
        emit_for: Callable[[str], Callable[[Event], None]],
        interval: float,
        timeout: float,
    ) -> None:
        self.reader = reader
        self.audit = audit
        self.emit_for = emit_for
        self.interval = interval
        self.timeout = timeout
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def emit(self, deployment_id: str, message: str, level: str = "info") -> None:
        """One `infrastructure` event on the deployment's stream (never raises)."""
        try:
            self.emit_for(deployment_id)(Event(phase=EVENT_PHASE, message=message, level=level))
        except Exception as exc:  # the event feed must not break a mutation
            log.warning("infrastructure event not emitted", error=str(exc))

    def track(self, claim: TrackedClaim, kubeconfig: bytes) -> None:
        """Follow `claim` (a new request for the same claim replaces the previous follower)."""
        key = (claim.deployment_id, claim.name)
        previous = self._tasks.pop(key, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(
            self._follow(claim, kubeconfig), name=f"day2:{claim.deployment_id}:{claim.name}"
        )
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _record(self, claim: TrackedClaim, phase: ClaimPhase) -> None:
        if self.audit is not None and claim.audit is not None:
            try:
                await asyncio.to_thread(
                    self.audit.progress, claim.deployment_id, claim.audit, claim.name, phase
                )
            except Exception as exc:
                log.warning("day-2 job not updated", claim=claim.name, error=str(exc))
        detail = " ".join(p for p in (phase.reason, phase.message) if p)
        self.emit(
            claim.deployment_id,
            f"{claim.claim.kind} {claim.name}: {phase.phase}" + (f" ({detail})" if detail else ""),
            _LEVELS.get(phase.phase, "info"),
        )

    async def _follow(self, claim: TrackedClaim, kubeconfig: bytes) -> None:
        try:
            client = KubeClient.from_kubeconfig(
                kubeconfig, request_timeout=self.reader.timeout, trust_env=False
            )
        except KubeConfigError as exc:
            log.warning("day-2 claim not followed", claim=claim.name, error=str(exc))
            return
        deadline = time.monotonic() + self.timeout
        last = ClaimPhase("pending")
        generation = claim.generation
        async with client:
            while time.monotonic() < deadline:
                try:
                    obj = await self.reader.claim(
                        claim.deployment_id, claim.claim.cache_kind, claim.name, client
                    )
                except (KubeError, TimeoutError) as exc:
                    log.info("day-2 claim read failed", claim=claim.name, error=str(exc))
                    obj = {}
                if obj is None:
                    self.emit(claim.deployment_id, f"{claim.claim.kind} {claim.name}: deleted")
                    return
                if obj:
                    if generation < 0:  # resumed: the generation the claim has now
                        seen = (obj.get("metadata") or {}).get("generation")
                        generation = seen if isinstance(seen, int) else 0
                    phase = claim_phase(obj, generation=generation)
                    if phase.phase != last.phase:
                        last = phase
                        await self._record(claim, phase)
                    if phase.terminal:
                        return
                await asyncio.sleep(self.interval)
        since = format_go_duration(timedelta(seconds=self.timeout))
        if self.audit is not None and claim.audit is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    self.audit.note,
                    claim.deployment_id,
                    claim.audit,
                    f"[claim-pending] {claim.name}: not Ready after {since}; no longer followed",
                )
        self.emit(
            claim.deployment_id,
            f"{claim.claim.kind} {claim.name}: still pending after {since}",
            "warn",
        )

    async def wait_idle(self, deployment_id: str | None = None) -> None:
        """Until no claim (of one deployment, or any) is being followed (tests, shutdown)."""
        tasks = [t for (dep, _), t in self._tasks.items() if deployment_id in (None, dep)]
        if tasks:
            await asyncio.wait(tasks)

    async def aclose(self) -> None:
        """Stop following every claim."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
