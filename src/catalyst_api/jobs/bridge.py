"""Phase 1 events → jobs (spec §9.3), per deployment, with in-memory cursors.

`DeploymentBridge` keeps, for each component, the active execution (if any) and the last
state it saw, and applies events / seeds to a `JobsIndex` inside a store transaction. Unlike
the original, a state transition never wipes the `dependsOn` a seed wrote (spec §13 item 9),
and a bridge that starts after a restart primes its cursors from the stored jobs, so a
re-reported state does not open a second execution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..events import Event
from ..phase1.blocking import blocking_components
from .index import ExecutionNotFound, JobsIndex
from .models import (
    BATCH_BOOTSTRAP_KIT,
    EXECUTION_TERMINAL,
    INSTALL_PREFIX,
    Job,
    LogLine,
    parse_time,
)

__all__ = ["DeploymentBridge", "job_status_for", "log_level_for", "relevant"]

_TERMINAL_STATES = {"installed": "succeeded", "failed": "failed"}


def job_status_for(state: str) -> str:
    """installed → succeeded, failed → failed, installing/degraded → running, else pending."""
    if state in _TERMINAL_STATES:
        return _TERMINAL_STATES[state]
    if state in ("installing", "degraded"):
        return "running"
    return "pending"


def log_level_for(level: str) -> str:
    """error → ERROR, warn/warning → WARN, debug → DEBUG, anything else → INFO."""
    lowered = level.strip().lower()
    if lowered == "error":
        return "ERROR"
    if lowered in ("warn", "warning"):
        return "WARN"
    if lowered == "debug":
        return "DEBUG"
    return "INFO"


def relevant(event: Event) -> bool:
    """Whether the bridge acts on this event at all (cheap pre-filter for the emit path)."""
    if not event.component:
        return False
    return (event.phase == "component" and bool(event.state)) or event.phase == "component-log"


def event_time(raw: str) -> datetime:
    """RFC3339(Nano) event time, or now."""
    return parse_time(raw) or datetime.now(UTC)


class DeploymentBridge:
    """Cursors of one deployment: active execution and last state per component."""

    def __init__(self, deployment_id: str) -> None:
        self.deployment_id = deployment_id
        self.active: dict[str, str] = {}
        self.last_state: dict[str, str] = {}

    def apply(self, index: JobsIndex, event: Event) -> None:
        """Route one event (see `relevant`)."""
        if not relevant(event):
            return
        when = event_time(event.time)
        if event.phase == "component":
            self.transition(index, event.component, event.state, event.level, event.message, when)
        else:
            self.raw_line(
                index, event.component, event.level, event.message, when, state=event.state
            )

    def transition(
        self,
        index: JobsIndex,
        component: str,
        state: str,
        level: str,
        message: str,
        when: datetime,
    ) -> None:
        """A component state change: job status, execution start / line / finish."""
        if component not in self.last_state:
            self._prime(index, component)
        blockers = blocking_components(message)
        if blockers:
            self._blocked(index, component, state, blockers, level, message, when)
            return
        if self.last_state.get(component) == state:
            return
        self.last_state[component] = state
        job = index.upsert_job(
            Job(
                job_name=INSTALL_PREFIX + component,
                app_id=component,
                batch_id=BATCH_BOOTSTRAP_KIT,
                depends_on=None,  # keep what a seed wrote
                status=job_status_for(state),
                blocked_by=None if state == "pending" else [],
            )
        )
        active = self.active.get(component)
        if active is None and state != "pending":
            active = index.start_execution(job.id, when).id
            self.active[component] = active
        if active is not None:
            text = f"[{state}] {message}" if message else f"[{state}] {component}"
            index.append_lines(active, [LogLine(text, log_level_for(level), when)])
            if state in _TERMINAL_STATES:
                index.finish_execution(active, _TERMINAL_STATES[state], when)
                del self.active[component]

    def _blocked(
        self,
        index: JobsIndex,
        component: str,
        state: str,
        blockers: list[str],
        level: str,
        message: str,
        when: datetime,
    ) -> None:
        """The component waits for failed ones for good: its job says so (`blockedBy`) in the
        status of its unchanged state, and an open execution gets the line."""
        self.last_state[component] = state
        index.upsert_job(
            Job(
                job_name=INSTALL_PREFIX + component,
                app_id=component,
                batch_id=BATCH_BOOTSTRAP_KIT,
                depends_on=None,
                status=job_status_for(state),
                blocked_by=[INSTALL_PREFIX + b for b in blockers],
            )
        )
        active = self.active.get(component)
        if active is not None:
            index.append_lines(
                active, [LogLine(f"[blocked] {message}", log_level_for(level), when)]
            )

    def _prime(self, index: JobsIndex, component: str) -> None:
        """Cursors for a component this bridge has not seen (e.g. after a restart), from the
        stored job: a replayed terminal state is then a duplicate, and a running job's open
        execution keeps receiving lines instead of a second execution being started."""
        job = index.job_named(INSTALL_PREFIX + component)
        if job is None:
            return
        known = {"succeeded": "installed", "failed": "failed", "pending": "pending"}
        if job.status in known:
            self.last_state[component] = known[job.status]
        elif job.status == "running" and job.latest_execution_id:
            with contextlib.suppress(ExecutionNotFound):
                if not index.execution(job.latest_execution_id).finished:
                    self.active[component] = job.latest_execution_id

    def raw_line(
        self,
        index: JobsIndex,
        component: str,
        level: str,
        message: str,
        when: datetime,
        state: str = "",
    ) -> None:
        """A helm-controller line for a component: appended to its open execution. A line
        that only says the release waits for a dependency (`state` pending) starts nothing:
        without an open execution it is dropped, so a waiting job stays pending."""
        text = message.rstrip("\r\n")
        if not text:
            return
        active = self.active.get(component)
        if active is None and state == "pending":
            return
        if active is None:
            job = index.job_named(INSTALL_PREFIX + component)
            if job is None:
                job = index.upsert_job(
                    Job(
                        job_name=INSTALL_PREFIX + component,
                        app_id=component,
                        batch_id=BATCH_BOOTSTRAP_KIT,
                        depends_on=[],
                        status="running",
                    )
                )
                active = index.start_execution(job.id, when).id
                self.last_state[component] = "installing"
            elif job.status in EXECUTION_TERMINAL:
                return
            elif job.latest_execution_id:
                active = job.latest_execution_id
            else:
                active = index.start_execution(job.id, when).id
                job.status = "running"
                self.last_state[component] = "installing"
            self.active[component] = active
        index.append_lines(active, [LogLine(text, log_level_for(level), when)])

    def seed(self, index: JobsIndex, items: list[Mapping[str, Any]]) -> tuple[int, int]:
        """Jobs from a watch snapshot (idempotent); returns (jobs written, new executions)."""
        jobs = created = 0
        for item in items:
            component = str(item.get("appId") or "").strip()
            if not component:
                continue
            state = str(item.get("status") or "")
            message = str(item.get("message") or "")
            deps = item.get("dependsOn") or []
            job = index.upsert_job(
                Job(
                    job_name=INSTALL_PREFIX + component,
                    app_id=component,
                    batch_id=BATCH_BOOTSTRAP_KIT,
                    depends_on=[INSTALL_PREFIX + str(d) for d in deps],
                    status=job_status_for(state),
                )
            )
            jobs += 1
            self.last_state[component] = state
            if state == "pending":
                continue
            if job.latest_execution_id:
                if state in _TERMINAL_STATES:
                    self.active.pop(component, None)
                else:
                    self.active[component] = job.latest_execution_id
                continue
            when = parse_time(item.get("lastTransitionAt")) or datetime.now(UTC)
            execution = index.start_execution(job.id, when)
            created += 1
            text = f"[seeded] state={state} at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            if message.strip():
                text += f": {message}"
            level = {"failed": "ERROR", "degraded": "WARN"}.get(state, "INFO")
            index.append_lines(execution.id, [LogLine(text, level, when)])
            if state in _TERMINAL_STATES:
                index.finish_execution(execution.id, _TERMINAL_STATES[state], when)
                self.active.pop(component, None)
            else:
                self.active[component] = execution.id
        return jobs, created
