"""`HelmReleaseWatcher`: watch the `bp-*` HelmReleases of one Sovereign until the bootstrap kit
is done or the budget runs out (spec §8.2–8.3), emitting one event per state change.

- List+watch through `kube.Reflector` (resume after drops, re-list on 410). Every listed or
  changed object is *observed*; an event is emitted only when the component's derived state
  differs from the last one recorded, so re-lists and replays never duplicate an event.
- After a list, the whole list is applied before the all-done gate is checked (the original
  checked per object and could end with a release of the same list still unseen). Sync hooks
  run once, after the initial list and before the gate; arrival hooks get the releases first
  observed after it (a watch that starts before Flux applied the kit lists none), so the jobs
  view learns every release's `dependsOn`.
- Deletions drop the object from the snapshot cache but never change a recorded state.
- Fail fast (issue 14): the gate ends the watch as soon as every component is installed,
  finally failed (Helm's remediation exhausted, `blocking.terminally_failed`) or blocked by a
  final failure through `dependsOn`; a failed release Flux will still retry keeps it going.
  A component that becomes blocked gets one more event in its unchanged state naming the
  failed dependency; the outcome's `failures` names each failure, its Helm message and what
  it blocks. Watch-level messages use the phase `phase1-watch`, never `component`.
- The overall budget is an `asyncio.timeout`; `stop()` moves that deadline to now, so a stop
  and a timeout end the same way (the original's "context canceled" / "context deadline
  exceeded"). Cancelling the task running `run()` propagates without an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal

import structlog

from ..config import Settings, format_go_duration
from ..events import Emit, Event, rfc3339_now
from ..kube import HELMRELEASES, Changed, KubeClient, Listed, Reflector, WatchTiming
from ..wire.kit import PHASE1_WATCH_PHASE
from .blocking import blocked_by, blocked_message, failure_summary, terminally_failed
from .derive import (
    DEFAULT_NAMESPACE,
    FAILED,
    INSTALLED,
    PREFIX,
    component_id,
    depends_on,
    level_for,
    message_of,
    ready_condition,
    snapshot_item,
    state_of,
)
from .logtail import LogTailTiming, tail_helm_controller
from .types import ComponentItem, HelmReleaseObj

__all__ = ["HelmReleaseWatcher", "Phase1Outcome", "SyncHook", "WatchConfig"]

log = structlog.get_logger(__name__)

SyncHook = Callable[[list[ComponentItem]], Any]

FIRST_SEEN_WARNING = (
    "Phase 1 watch saw 0 HelmReleases in {duration}; the bootstrap-kit Kustomization may not be "
    "reconciling. Operator: run `flux get kustomization -n flux-system` on the new cluster."
)
TERMINATED = (
    "Phase-1 watch terminated by context: {reason} — see ComponentStates for current outcome"
)
DEADLINE_EXCEEDED = "context deadline exceeded"
CANCELED = "context canceled"


@dataclass(frozen=True, slots=True)
class WatchConfig:
    """Budget and thresholds of one watch (seconds); `from_settings` reads the env values."""

    timeout: float = 3600.0
    min_bootstrap_kit_hrs: int = 11
    first_seen_timeout: float = 900.0
    namespace: str = DEFAULT_NAMESPACE
    timing: WatchTiming = field(default_factory=WatchTiming)
    log_tail: LogTailTiming | None = field(default_factory=LogTailTiming)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> WatchConfig:
        """`CATALYST_PHASE1_WATCH_TIMEOUT`, `…_MIN_BOOTSTRAP_KIT_HRS`, `…_FIRST_SEEN_TIMEOUT`;
        keyword overrides (field names) win."""
        base = cls(
            timeout=settings.phase1_watch_timeout.total_seconds(),
            min_bootstrap_kit_hrs=settings.phase1_min_bootstrap_kit_hrs,
            first_seen_timeout=settings.phase1_first_seen_timeout.total_seconds(),
        )
        return replace(base, **overrides)


OutcomeWord = Literal["ready", "failed", "timeout", "flux-not-reconciling"]
"""The outcome words of spec §8.3 (a closed set)."""


@dataclass(slots=True)
class Phase1Outcome:
    """How Phase 1 ended: the state of every observed component, the outcome word of spec §8.3
    (`ready` | `failed` | `timeout` | `flux-not-reconciling`), an error when the watch could
    not run (no client, the initial list never succeeded, a crash) and, when components failed,
    `failures`: each failed component with its Helm message and what it blocks
    (`blocking.failure_summary`)."""

    states: dict[str, str] = field(default_factory=dict)
    outcome: OutcomeWord | Literal[""] = ""
    error: str = ""
    failures: str = ""


class HelmReleaseWatcher:
    """One watch over one cluster; `run()` once."""

    def __init__(
        self,
        client: KubeClient,
        *,
        emit: Emit,
        config: WatchConfig,
        label: str = "",
        known_states: dict[str, str] | None = None,
    ) -> None:
        """`known_states`: states already reported (persisted), so only differences emit."""
        self.client = client
        self.emit = emit
        self.config = config
        self.label = label
        self._cache: dict[str, HelmReleaseObj] = {}
        self._states: dict[str, str] = dict(known_states or {})
        self._blocked: dict[str, list[str]] = {}
        self._first_seen = False
        self._synced = False
        self._hooks: list[SyncHook] = []
        self._arrival_hooks: list[SyncHook] = []
        self._reported: set[str] = set()
        self._reflector: Reflector | None = None
        self._deadline: asyncio.Timeout | None = None
        self._stop_requested = False
        self._quiet = False
        self.running = False

    # --- what other code reads -----------------------------------------------------------------

    @property
    def synced(self) -> bool:
        """The initial list has been applied."""
        return self._synced

    def states(self) -> dict[str, str]:
        """Component id → last derived state (every observed release)."""
        return dict(self._states)

    def snapshot(self) -> list[ComponentItem]:
        """The components/state items of the cached `bp-*` HelmReleases, by name."""
        return [snapshot_item(obj) for _, obj in sorted(self._cache.items())]

    @property
    def lists(self) -> int:
        """How many full lists the watch needed (1 + one per 410 / failed resume)."""
        return self._reflector.lists if self._reflector else 0

    def add_sync_hook(self, hook: SyncHook) -> None:
        """Call `hook(snapshot)` once, after the initial list (at once if already synced)."""
        self._hooks.append(hook)
        if self._synced:
            self._call_hook(hook)

    def add_arrival_hook(self, hook: SyncHook) -> None:
        """Call `hook(items)` with the snapshot items of releases first observed after the
        initial list (a watch that starts before Flux applied the kit lists none of them);
        together with the sync hook, every observed release reaches the hooks once."""
        self._arrival_hooks.append(hook)

    def stop(self, *, quiet: bool = False) -> None:
        """End `run()` now as if its context were cancelled (`quiet`: no termination event)."""
        self._stop_requested = True
        self._quiet = self._quiet or quiet
        if self._deadline is not None:
            self._deadline.reschedule(asyncio.get_running_loop().time())

    # --- the run -------------------------------------------------------------------------------

    async def run(self) -> Phase1Outcome:
        """Watch until all-done, timeout or `stop()`; see the module docstring."""
        loop = asyncio.get_running_loop()
        helpers: list[asyncio.Task[None]] = []
        self.running = True
        try:
            async with asyncio.timeout(self.config.timeout) as deadline:
                self._deadline = deadline
                if self._stop_requested:
                    deadline.reschedule(loop.time())
                helpers.append(
                    asyncio.create_task(self._first_seen_alarm(), name=self._name("first-seen"))
                )
                if self.config.log_tail is not None:
                    tail = tail_helm_controller(
                        self.client,
                        self.emit,
                        namespace=self.config.namespace,
                        timing=self.config.log_tail,
                    )
                    helpers.append(asyncio.create_task(tail, name=self._name("logs")))
                outcome = await self._consume()
            return Phase1Outcome(dict(self._states), outcome, failures=self._failures())
        except TimeoutError:
            return self._ended_by_context(CANCELED if self._stop_requested else DEADLINE_EXCEEDED)
        finally:
            self._deadline = None
            self.running = False
            for task in helpers:
                task.cancel()
            for task in helpers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _name(self, what: str) -> str:
        return f"phase1:{self.label}:{what}" if self.label else f"phase1:{what}"

    async def _consume(self) -> OutcomeWord | Literal[""]:
        reflector = Reflector(
            self.client, HELMRELEASES, namespace=self.config.namespace, timing=self.config.timing
        )
        self._reflector = reflector
        events = reflector.events()
        async with contextlib.aclosing(events):
            async for change in events:
                if isinstance(change, Listed):
                    self._apply_list(change)
                    if change.initial:
                        self._mark_synced()
                else:
                    self._apply_change(change)
                self._report_arrivals()
                outcome = self._gate()
                if outcome:
                    return outcome
        raise AssertionError("the reflector stream never ends")

    def _apply_list(self, listed: Listed) -> None:
        fresh: dict[str, HelmReleaseObj] = {}
        for raw in listed.items:
            name = _bp_name(raw)
            if name:
                fresh[name] = raw  # type: ignore[assignment]
        self._cache = fresh
        for name in sorted(fresh):
            self._observe(name, fresh[name])

    def _apply_change(self, change: Changed) -> None:
        name = _bp_name(change.object)
        if not name:
            return
        if change.type == "DELETED":
            self._cache.pop(name, None)
            return
        obj: HelmReleaseObj = change.object  # type: ignore[assignment]
        self._cache[name] = obj
        self._observe(name, obj)

    def _observe(self, name: str, obj: HelmReleaseObj) -> None:
        component = component_id(name)
        cond = ready_condition(obj)
        state = state_of(cond)
        self._first_seen = True
        if self._states.get(component) == state:
            return
        self._states[component] = state
        self.emit(
            Event(
                phase="component",
                level=level_for(state),
                component=component,
                state=state,
                message=message_of(cond, state),
                time=_now_text(),
            )
        )

    def _final_failures(self) -> set[str]:
        """Components Flux will not retry by themselves (`blocking.terminally_failed`); a
        failed component whose release is gone from the cache counts as final (spec §8.3)."""
        final: set[str] = set()
        for component, state in self._states.items():
            if state != FAILED:
                continue
            obj = self._cache.get(PREFIX + component)
            if obj is None or terminally_failed(obj, state):
                final.add(component)
        return final

    def _track_blocked(self, final: set[str]) -> dict[str, list[str]]:
        """Emit one event per component newly blocked by a final failure (same state, a
        message naming the dependency); returns the current blocked map."""
        graph = {component_id(name): depends_on(obj) for name, obj in self._cache.items()}
        blocked = blocked_by(self._states, graph, final)
        for component, roots in blocked.items():
            if self._blocked.get(component) == roots:
                continue
            self.emit(
                Event(
                    phase="component",
                    level="warn",
                    component=component,
                    state=self._states[component],
                    message=blocked_message(roots),
                    time=_now_text(),
                )
            )
        self._blocked = blocked
        return blocked

    def _gate(self) -> OutcomeWord | Literal[""]:
        """`ready` / `failed` once enough releases are observed and each one is installed,
        finally failed, or blocked by a final failure (fail fast: nothing can progress)."""
        final = self._final_failures()
        blocked = self._track_blocked(final)
        if not self._first_seen or len(self._states) < self.config.min_bootstrap_kit_hrs:
            return ""
        for component, state in self._states.items():
            if state != INSTALLED and component not in final and component not in blocked:
                return ""
        return "failed" if final else "ready"

    def _failures(self) -> str:
        """`failure_summary` of the components failed now (empty when none)."""
        messages: dict[str, str] = {}
        for component, state in self._states.items():
            if state == FAILED:
                obj = self._cache.get(PREFIX + component)
                messages[component] = message_of(ready_condition(obj) if obj else None, state)
        return failure_summary(messages, self._blocked) if messages else ""

    def _mark_synced(self) -> None:
        self._synced = True
        self._reported = set(self._cache)
        for hook in self._hooks:
            self._call_hook(hook)

    def _report_arrivals(self) -> None:
        """Releases in the cache that no hook has seen yet (after the initial list)."""
        if not self._synced:
            return
        fresh = sorted(set(self._cache) - self._reported)
        if not fresh:
            return
        self._reported.update(fresh)
        items = [snapshot_item(self._cache[name]) for name in fresh]
        for hook in self._arrival_hooks:
            try:
                hook(items)
            except Exception as exc:
                log.warning("phase1 arrival hook failed", watch=self.label, error=str(exc))

    def _call_hook(self, hook: SyncHook) -> None:
        try:
            hook(self.snapshot())
        except Exception as exc:
            log.warning("phase1 sync hook failed", watch=self.label, error=str(exc))

    async def _first_seen_alarm(self) -> None:
        await asyncio.sleep(self.config.first_seen_timeout)
        if not self._states:
            duration = format_go_duration(timedelta(seconds=self.config.first_seen_timeout))
            self.emit(
                Event(
                    phase=PHASE1_WATCH_PHASE,
                    level="warn",
                    message=FIRST_SEEN_WARNING.format(duration=duration),
                    time=rfc3339_now(),
                )
            )

    def _ended_by_context(self, reason: str) -> Phase1Outcome:
        states = dict(self._states)
        outcome: OutcomeWord = "timeout" if states else "flux-not-reconciling"
        if not self._synced:
            last = self._reflector.last_error if self._reflector else None
            detail = str(last) if last else "the apiserver did not answer"
            error = (
                "Phase-1 watch could not list HelmReleases in "
                f"{self.config.namespace} on the new Sovereign ({self.client.server}) before "
                f"the watch ended ({reason}): {detail}"
            )
            return Phase1Outcome(states, outcome, error, self._failures())
        if not self._quiet:
            self.emit(
                Event(
                    phase=PHASE1_WATCH_PHASE,
                    level="warn",
                    message=TERMINATED.format(reason=reason),
                    time=rfc3339_now(),
                )
            )
        return Phase1Outcome(states, outcome, failures=self._failures())


class _SecondClock:
    """`rfc3339_now()`, formatted at most once per second (it is on the per-event path)."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, rfc3339_now()
        return self._text


_now_text = _SecondClock()


def _bp_name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name.startswith(PREFIX) else ""
