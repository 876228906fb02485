"""Rich terminal output: a live view of phases (one progress bar each) and component states.

`LiveFollower` redraws `render_view()` of a `RunView` while events arrive and prints notable
event lines above it; the other functions build static tables for `list` and `get`. Colours
follow the state: installed/ready green, installing/in-flight yellow, degraded orange, failed
red, pending dim. `rich` drops the colours itself with `--no-color` or `NO_COLOR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..wire.shapes import DeploymentState, WireEvent
from .view import RunView

__all__ = [
    "COMPONENT_STYLES",
    "STATUS_STYLES",
    "LiveFollower",
    "component_table",
    "deployments_table",
    "event_text",
    "render_view",
    "state_table",
]

COMPONENT_STYLES = {
    "pending": "dim",
    "installing": "yellow",
    "installed": "green",
    "degraded": "dark_orange",
    "failed": "bold red",
}
STATUS_STYLES = {
    "ready": "bold green",
    "failed": "bold red",
    "destroyed": "dim",
    "destroying": "magenta",
    "phase1-watching": "cyan",
}
_LEVEL_STYLES = {"warn": "yellow", "error": "bold red"}
_QUIET_PHASES = frozenset({"tofu", "component-log"})
_BAR_WIDTH = 32


def _status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, "yellow"))


def _phase_rows(view: RunView) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1)
    table.add_column(min_width=14, no_wrap=True)
    table.add_column(width=_BAR_WIDTH)
    table.add_column(justify="right", min_width=7, no_wrap=True)
    table.add_column(overflow="ellipsis", no_wrap=True, style="dim", ratio=1)
    for phase in view.phases.values():
        if phase.status == "done":
            mark = Text("✓", "green")
            bar = ProgressBar(total=1, completed=1, width=_BAR_WIDTH, finished_style="green")
        elif phase.status == "failed":
            mark = Text("✗", "bold red")
            bar = ProgressBar(
                total=phase.total or 1,
                completed=phase.done if phase.total else 1,
                width=_BAR_WIDTH,
                complete_style="red",
                finished_style="red",
            )
        else:
            mark = Text("•", "yellow")
            bar = ProgressBar(
                total=phase.total if phase.total else None,
                completed=phase.done,
                width=_BAR_WIDTH,
                complete_style="cyan",
                finished_style="green",
            )
        count = f"{phase.done}/{phase.total}" if phase.total else ""
        table.add_row(mark, phase.name, bar, count, phase.last_message)
    return table


def component_table(view: RunView) -> Table:
    installed = sum(1 for c in view.components.values() if c.state == "installed")
    table = Table(
        title=f"Bootstrap kit — {installed}/{view.expected_components} installed",
        title_justify="left",
        expand=False,
    )
    table.add_column("Component", no_wrap=True)
    table.add_column("Needs", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Message", overflow="ellipsis", no_wrap=True, max_width=80)
    for comp in view.ordered_components():
        style = COMPONENT_STYLES.get(comp.state, "")
        table.add_row(
            comp.name,
            Text(", ".join(comp.depends_on), style="dim"),
            Text(comp.state, style=style),
            Text(comp.message, style="dim"),
        )
    return table


def render_view(view: RunView) -> RenderableType:
    """The live picture: one row per phase with its bar, then the component table."""
    parts: list[RenderableType] = [_phase_rows(view)]
    if view.components:
        parts.append(component_table(view))
    return Group(*parts)


def event_text(event: WireEvent) -> Text:
    """One event as a styled line (printed above the live view)."""
    text = Text()
    text.append(f"{event.get('time') or '':>20} ", style="dim")
    text.append(f"{event.get('phase', '')} ", style="bold")
    component = event.get("component", "")
    if component:
        state = event.get("state", "")
        text.append(f"{component} ")
        if state:
            text.append(f"{state} ", style=COMPONENT_STYLES.get(state, ""))
    text.append(event.get("message", ""), style=_LEVEL_STYLES.get(event.get("level", ""), ""))
    return text


def state_table(state: DeploymentState) -> Table:
    """A deployment state as a two-column table."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    result = state.get("result") or {}
    rows: list[tuple[str, str | Text]] = [
        ("id", state.get("id", "")),
        ("status", _status_text(state.get("status", ""))),
        ("fqdn", state.get("sovereignFQDN", "")),
        ("region", state.get("region", "")),
        ("started", state.get("startedAt", "")),
        ("finished", state.get("finishedAt") or "-"),
        ("events", str(state.get("numEvents", ""))),
    ]
    for label, key in (
        ("control plane", "controlPlaneIP"),
        ("load balancer", "loadBalancerIP"),
        ("console", "consoleURL"),
        ("gitops", "gitopsRepoURL"),
    ):
        value = result.get(key)
        if isinstance(value, str) and value:
            rows.append((label, value))
    if state.get("error"):
        rows.append(("error", Text(state.get("error", ""), style="red")))
    for label, value in rows:
        if value:
            table.add_row(label, value)
    return table


def deployments_table(states: Sequence[DeploymentState]) -> Table:
    """`list` output: id, status, fqdn, started, finished."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("ID", no_wrap=True, min_width=16)
    table.add_column("STATUS", no_wrap=True, min_width=15)
    table.add_column("FQDN", overflow="fold")
    table.add_column("STARTED", overflow="fold")
    table.add_column("FINISHED", overflow="fold")
    for state in states:
        table.add_row(
            state.get("id", ""),
            _status_text(state.get("status", "")),
            state.get("sovereignFQDN", ""),
            state.get("startedAt", ""),
            state.get("finishedAt") or "-",
        )
    return table


class LiveFollower:
    """Follows a run on a terminal: live phases + components, notable events printed above."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.view = RunView()
        self._live = Live(
            console=console,
            get_renderable=lambda: render_view(self.view),
            refresh_per_second=8,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveFollower:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()

    def event(self, event: WireEvent) -> None:
        self.view.apply(event)
        quiet = event.get("phase") in _QUIET_PHASES and event.get("level") not in {"warn", "error"}
        if not quiet:
            self._live.console.print(event_text(event))

    def notice(self, message: str) -> None:
        self._live.console.print(Text(message, style="yellow"))

    def finish(self, state: DeploymentState) -> None:
        self.view.finish(state)
        self._live.refresh()
        self._live.stop()
        self.console.print(state_table(state))
