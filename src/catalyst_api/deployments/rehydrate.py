"""Startup: load every record, migrate the original's format, apply the restart rules
(spec §4.6 with DESIGN item 3) and resume what can resume."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import structlog

from ..store import is_safe_id
from ..store.ports import EventStorage
from .kubeconfigs import describe_os_error
from .lifecycle import Lifecycle
from .machine import RestartAction
from .models import Deployment
from .registry import Registry
from .runs import Collaborators, Runs
from .supervisor import RunKind, RunSupervisor

__all__ = ["Rehydrator", "kubeconfig_problem"]

log = structlog.get_logger(__name__)


class Rehydrator:
    """Loads the records at startup and starts the runs that resume."""

    def __init__(
        self,
        *,
        deps: Collaborators,
        lifecycle: Lifecycle,
        registry: Registry,
        runs: Runs,
        supervisor: RunSupervisor,
    ) -> None:
        self._deps = deps
        self._lifecycle = lifecycle
        self._registry = registry
        self._runs = runs
        self._supervisor = supervisor
        # Several replicas: whether this one applies the restart rules to a record (it took
        # the deployment's lease), and how to give the lease back when nothing resumed.
        self.claim: Callable[[Deployment], Awaitable[bool]] | None = None
        self.release: Callable[[str], Awaitable[None]] | None = None

    async def load(self) -> None:
        """Rehydrate every record (spec §4.6 with DESIGN item 3) and resume what can resume."""
        records = self._deps.records
        eventlog = self._deps.hub.eventlog
        records.remove_stale_temp_files()

        def skipped(path: object, why: str) -> None:
            log.warning("skipping unreadable deployment record", path=str(path), reason=why)

        loaded = resumed = 0
        for path, raw in records.iter_records(skipped):
            try:
                dep = Deployment.from_record(raw)
            except (KeyError, TypeError, ValueError) as exc:
                skipped(path, f"invalid record: {exc}")
                continue
            if self._registry.get(dep.id) is not None:
                continue
            if self.claim is not None and not await self.claim(dep):
                self._registry.add(dep)  # another replica runs it
                loaded += 1
                continue
            if self._deps.kubeconfigs.vault is not None:
                await self._deps.kubeconfigs.materialize(dep.id)
            migrated = _migrate_embedded_events(raw, dep.id, eventlog)
            if migrated and not eventlog.enabled and isinstance(raw.get("events"), list):
                self._deps.hub.stream(dep.id).load(
                    [e for e in raw["events"] if isinstance(e, dict)]
                )
            action = await self._lifecycle.restarted(
                dep, kubeconfig_problem=kubeconfig_problem(dep), rewrite=migrated
            )
            self._registry.add(dep)
            loaded += 1
            if action in (RestartAction.RESUME_PHASE1, RestartAction.WAIT_FOR_KUBECONFIG):
                self._supervisor.start(dep, RunKind.RESUME, self._runs.phase1_only(dep))
                resumed += 1
            elif self.release is not None and self.claim is not None:
                await self.release(dep.id)
        log.info(
            "deployments loaded",
            count=loaded,
            resumed=resumed,
            **records.describe(),
            persistent=records.writable,
        )


def kubeconfig_problem(dep: Deployment) -> str | None:
    """Why the record's kubeconfig file cannot be used (None when there is none, or it is fine)."""
    path = dep.result.kubeconfig_path if dep.result else ""
    if not path:
        return None
    try:
        Path(path).stat()
    except OSError as exc:
        return describe_os_error("stat", path, exc)
    return None


def _migrate_embedded_events(
    raw: dict[str, Any], deployment_id: str, eventlog: EventStorage
) -> bool:
    """Move a record's embedded `events` (the original's format) into `<id>.events.jsonl`."""
    if "events" not in raw:
        return False
    events = raw.get("events")
    if isinstance(events, list) and events and eventlog.enabled:
        if not is_safe_id(deployment_id):
            return False
        if not eventlog.has_log(deployment_id):
            lines = []
            for seq, item in enumerate((e for e in events if isinstance(e, dict)), start=1):
                item = dict(item)
                item["seq"] = seq
                lines.append(orjson.dumps(item))
            eventlog.replace_sync(deployment_id, lines)
    return True
