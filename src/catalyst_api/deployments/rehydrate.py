"""Startup: load every record, migrate the original's format, apply the restart rules
(spec §4.6 with DESIGN item 3) and resume what can resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import structlog

from ..store import EventLog
from ..timefmt import utcnow
from ._base import ServiceBase
from .kubeconfigs import describe_os_error
from .machine import DESTROY_INTERRUPTED_MESSAGE, RestartAction, decide_restart, orphan_message
from .models import Deployment, Status

__all__ = ["RehydrateMixin"]

log = structlog.get_logger(__name__)


class RehydrateMixin(ServiceBase):
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
