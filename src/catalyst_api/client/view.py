"""What a follower knows about a run: phases with progress, and component states.

A pure model fed by events (`RunView.apply`) and the final state (`RunView.finish`); the
renderers draw it. Rules:

- a phase starts with its first event; when another phase starts the previous one is done
  (phases run one after another);
- `tofu` lines (raw OpenTofu output) belong to the current `tofu-*` step, and their
  `progress: {"done", "total"}` drives that step's bar;
- `component-log` lines and `phase1-watch` messages belong to the `component` phase; only
  `component` events set a component's state (a waiting helm-controller line carries
  `pending` but says nothing new); the `component` bar counts components that reached a
  terminal state (`installed`/`failed`) out of the 11 of the bootstrap kit (or more, if more
  were observed);
- at the end every phase is done, except the last one of a `failed` run, which failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..wire.kit import COMPONENT_IDS as BOOTSTRAP_KIT
from ..wire.kit import PHASE1_WATCH_PHASE, component
from ..wire.shapes import DeploymentState, WireEvent

__all__ = [
    "COMPONENT_STATES",
    "TERMINAL_COMPONENT_STATES",
    "ComponentView",
    "PhaseView",
    "RunView",
]

COMPONENT_STATES = ("pending", "installing", "installed", "degraded", "failed")
TERMINAL_COMPONENT_STATES = frozenset({"installed", "failed"})
_ATTACHED = {"tofu": "tofu-", "component-log": "component", PHASE1_WATCH_PHASE: "component"}

PhaseStatus = Literal["running", "done", "failed"]


@dataclass(slots=True)
class PhaseView:
    """One phase row: status, bar values (`total` None = no measurable progress), last line."""

    name: str
    status: PhaseStatus = "running"
    done: int = 0
    total: int | None = None
    last_message: str = ""


@dataclass(slots=True)
class ComponentView:
    name: str
    state: str
    message: str = ""

    @property
    def depends_on(self) -> tuple[str, ...]:
        """The kit's `dependsOn` of this component (none for one outside the kit)."""
        try:
            return component(self.name).depends_on
        except KeyError:
            return ()


@dataclass
class RunView:
    """Phases (in the order they started) and components of one deployment run."""

    phases: dict[str, PhaseView] = field(default_factory=dict)
    components: dict[str, ComponentView] = field(default_factory=dict)
    current: str | None = None
    final: DeploymentState | None = None

    # --- feeding -------------------------------------------------------------------------------

    def apply(self, event: WireEvent) -> None:
        """Account for one event."""
        phase = self._phase_for(event.get("phase", ""))
        if not phase:
            return
        view = self._enter(phase)
        view.last_message = event.get("message", "")
        progress = event.get("progress")
        if progress is not None and phase != "component":
            view.total = int(progress.get("total", 0))
            view.done = int(progress.get("done", 0))
        name = event.get("component", "")
        state = event.get("state", "")
        if name and state and event.get("phase") == "component":
            entry = self.components.setdefault(name, ComponentView(name, state))
            entry.state = state
            entry.message = event.get("message", "")
            self._count_components()

    def finish(self, state: DeploymentState) -> None:
        """The run ended with `state` (the `event: done` payload or a final GET)."""
        self.final = state
        for name, value in (state.get("componentStates") or {}).items():
            entry = self.components.setdefault(name, ComponentView(name, value))
            entry.state = value
        if self.components:
            self._count_components()
        failed = state.get("status") == "failed"
        for view in self.phases.values():
            if view.status == "running":
                view.status = "failed" if failed and view.name == self.current else "done"

    # --- reading -------------------------------------------------------------------------------

    def ordered_components(self) -> list[ComponentView]:
        """Bootstrap-kit order first, then any other component alphabetically."""
        rank = {name: i for i, name in enumerate(BOOTSTRAP_KIT)}
        return sorted(self.components.values(), key=lambda c: (rank.get(c.name, len(rank)), c.name))

    @property
    def expected_components(self) -> int:
        return max(len(BOOTSTRAP_KIT), len(self.components))

    # --- internals -----------------------------------------------------------------------------

    def _phase_for(self, phase: str) -> str:
        attach = _ATTACHED.get(phase)
        if attach is None:
            return phase
        current = self.current or ""
        if attach.endswith("-"):  # raw tofu line: the current tofu step, if any
            return current if current.startswith(attach) else phase
        return attach

    def _enter(self, phase: str) -> PhaseView:
        if phase != self.current:
            if self.current is not None:
                previous = self.phases[self.current]
                if previous.status == "running":
                    previous.status = "done"
            self.current = phase
            view = self.phases.get(phase)
            if view is None:
                view = self.phases[phase] = PhaseView(phase)
            elif view.status != "running":  # a step that runs again (retry): start over
                view.status, view.done = "running", 0
                view.total = None if phase != "component" else view.total
        return self.phases[phase]

    def _count_components(self) -> None:
        view = self.phases.get("component")
        if view is None:
            view = self.phases.setdefault("component", PhaseView("component"))
        view.total = self.expected_components
        view.done = sum(1 for c in self.components.values() if c.state in TERMINAL_COMPONENT_STATES)
