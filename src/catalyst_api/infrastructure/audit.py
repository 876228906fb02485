"""The Day-2 audit jobs (spec §9.5): one `mutation-<verb>-<kind>[-<slug>]` job per request in
batch `day-2-mutations`, its execution carrying the request, the submission and — ours — the
claim's progress until Crossplane says Ready or failed.

Job status follows the claim: `pending` once submitted (Crossplane has not picked it up),
`running` when Synced, `succeeded` when Ready, `failed` when the submission or the claim
failed. (The original marked the job succeeded as soon as the claim was written.) A DELETE's
job succeeds once the delete is accepted. Synchronous: call through `asyncio.to_thread`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ..jobs import BATCH_DAY2, MUTATION_PREFIX, Job, JobsStorage, LogLine
from .claims import ClaimPhase

__all__ = ["AuditJob", "MutationAudit", "OpenClaim"]


@dataclass(frozen=True, slots=True)
class AuditJob:
    job_id: str
    job_name: str
    execution_id: str


@dataclass(frozen=True, slots=True)
class OpenClaim:
    """An audit job still waiting on its claim (what a restart resumes following)."""

    audit: AuditJob
    kind: str
    name: str


_SUBMITTED = re.compile(r"^\[xrc-submitted\] kind=(\S+) name=(\S+)")


def job_name(verb: str, kind: str, slug: str) -> str:
    parts = [verb.strip().lower(), kind.strip().lower()]
    if slug.strip():
        parts.append(slug.strip().lower())
    return MUTATION_PREFIX + "-".join(parts)


class MutationAudit:
    """Writes the audit jobs of every deployment into the jobs store."""

    def __init__(self, store: JobsStorage) -> None:
        self.store = store

    def register(
        self, deployment_id: str, *, verb: str, kind: str, slug: str, action: str, diff: str
    ) -> AuditJob:
        """Job (running) + a new execution + `[mutation-request] <action>[ diff=…]`."""
        name = job_name(verb, kind, slug)
        text = f"[mutation-request] {action}"
        if diff:
            text += " diff=" + diff.replace("\n", " ")
        with self.store.transaction(deployment_id) as index:
            job = index.upsert_job(
                Job(job_name=name, app_id=kind, batch_id=BATCH_DAY2, status="running")
            )
            execution = index.start_execution(job.id, datetime.now(UTC))
            index.append_lines(execution.id, [LogLine(text, "INFO")])
            return AuditJob(job.id, name, execution.id)

    def _set_status(self, deployment_id: str, audit: AuditJob, status: str, line: LogLine) -> None:
        with self.store.transaction(deployment_id) as index:
            index.append_lines(audit.execution_id, [line])
            if status in ("succeeded", "failed"):
                if not index.execution(audit.execution_id).finished:
                    index.finish_execution(audit.execution_id, status, datetime.now(UTC))
            else:
                job = index.job_named(audit.job_name)
                if job is not None and job.status != status:
                    job.status = status
                    index.dirty = True

    def submitted(
        self, deployment_id: str, audit: AuditJob, *, kind: str, name: str, note: str, status: str
    ) -> None:
        """`[xrc-submitted] kind=<k> name=<n>[ note=<note>]`, then the job takes `status`."""
        text = f"[xrc-submitted] kind={kind} name={name}"
        if note:
            text += f" note={note}"
        self._set_status(deployment_id, audit, status, LogLine(text, "INFO"))

    def failed(self, deployment_id: str, audit: AuditJob, error: str) -> None:
        """`[xrc-submission-failed] <err>` (ERROR), execution and job failed."""
        self._set_status(
            deployment_id, audit, "failed", LogLine(f"[xrc-submission-failed] {error}", "ERROR")
        )

    def progress(self, deployment_id: str, audit: AuditJob, name: str, phase: ClaimPhase) -> None:
        """One line per claim phase change; Ready / failed finish the execution."""
        detail = " ".join(p for p in (phase.reason, phase.message) if p)
        text = f"[claim-{phase.phase}] {name}" + (f": {detail}" if detail else "")
        level = "ERROR" if phase.phase == "failed" else "INFO"
        self._set_status(deployment_id, audit, phase.job_status, LogLine(text, level))

    def note(self, deployment_id: str, audit: AuditJob, text: str, level: str = "WARN") -> None:
        """An extra line (e.g. the claim is still pending when tracking stops)."""
        with self.store.transaction(deployment_id) as index:
            index.append_lines(audit.execution_id, [LogLine(text, level)])

    def open_claims(self, deployment_id: str) -> list[OpenClaim]:
        """Day-2 jobs whose execution is still open after a submission: the claims a
        restarted service goes on following."""
        index = self.store.read(deployment_id)
        out: list[OpenClaim] = []
        for job in index.jobs.values():
            if job.batch_id != BATCH_DAY2 or not job.latest_execution_id:
                continue
            execution = index.execution(job.latest_execution_id)
            if execution.finished:
                continue
            lines = self.store.page_logs(execution.id, 1, 0)["lines"]
            for line in lines if isinstance(lines, list) else []:
                found = _SUBMITTED.match(str(line.get("message", "")))
                if found is not None:
                    audit = AuditJob(job.id, job.job_name, execution.id)
                    out.append(OpenClaim(audit, found.group(1), found.group(2)))
                    break
        return out
