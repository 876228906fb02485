"""Plain-text output: one line per event, `key: value` summaries, aligned tables.

Used when stdout is not a terminal (CI logs, pipes, tests) or with `--plain`. No colours, no
cursor movement; every event line starts with `#<seq> ` so it can be grepped and checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..wire.shapes import DeploymentState, PlanResponse, WireEvent
from .view import RunView

__all__ = ["PlainFollower", "event_line", "plan_lines", "state_lines", "table_lines"]


def event_line(event: WireEvent) -> str:
    """`#<seq> <time> <phase> <level> [<component> <state>: ]<message>[ [done/total]]`."""
    seq = event.get("seq")
    head = " ".join(
        (
            f"#{seq}" if seq else "#-",
            event.get("time") or "-",
            event.get("phase") or "-",
            event.get("level") or "info",
        )
    )
    message = event.get("message", "")
    component = event.get("component", "")
    if component:
        state = event.get("state", "")
        message = f"{component} {state}: {message}" if state else f"{component}: {message}"
    progress = event.get("progress")
    if progress is not None:
        message = f"{message} [{progress.get('done', 0)}/{progress.get('total', 0)}]"
    return f"{head} {message}".replace("\n", "\n    ")


def _result_field(state: DeploymentState, key: str) -> str:
    value = (state.get("result") or {}).get(key)
    return value if isinstance(value, str) else ""


def state_lines(state: DeploymentState) -> list[str]:
    """A deployment state as `key: value` lines, then its component states."""
    rows = [
        ("id", state.get("id", "")),
        ("status", state.get("status", "")),
        ("fqdn", state.get("sovereignFQDN", "")),
        ("region", state.get("region", "")),
        ("started", state.get("startedAt", "")),
        ("finished", state.get("finishedAt") or "-"),
        ("events", str(state.get("numEvents", ""))),
        ("control plane", _result_field(state, "controlPlaneIP")),
        ("load balancer", _result_field(state, "loadBalancerIP")),
        ("console", _result_field(state, "consoleURL")),
        ("gitops", _result_field(state, "gitopsRepoURL")),
        ("error", state.get("error", "")),
    ]
    lines = [f"{key + ':':<15}{value}" for key, value in rows if value]
    components = state.get("componentStates") or {}
    if components:
        view = RunView()
        view.finish(state)
        installed = sum(1 for v in components.values() if v == "installed")
        lines.append(f"components:    {installed}/{view.expected_components} installed")
        lines.extend(f"  {c.name:<20}{c.state}" for c in view.ordered_components())
    return lines


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces (trailing spaces stripped)."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def plan_lines(plan: PlanResponse) -> list[str]:
    """A plan preview: the resource table, OpenTofu's summary, the estimate and its warnings."""
    resources = [(r["address"], r["type"], r["action"]) for r in plan.get("resources", [])]
    lines = table_lines(("ADDRESS", "TYPE", "ACTION"), resources) if resources else []
    counts = plan.get("counts", {"add": 0, "change": 0, "destroy": 0})
    lines.append(
        f"Plan: {counts.get('add', 0)} to add, {counts.get('change', 0)} to change, "
        f"{counts.get('destroy', 0)} to destroy."
    )
    estimate = plan.get("estimate")
    if estimate is not None:
        currency = estimate.get("currency", "")
        rows = [
            (
                line["item"],
                line["sku"],
                str(line["count"]),
                f"{line['unitMonthly']:.2f}",
                f"{line['count'] * line['unitMonthly']:.2f}",
            )
            for line in estimate.get("lines", [])
        ]
        lines.append("")
        if rows:
            lines += table_lines(("ITEM", "SKU", "COUNT", "UNIT/MONTH", "MONTHLY"), rows)
        lines.append(
            f"Estimate: {estimate.get('monthly', 0):.2f} {currency}/month "
            f"({estimate.get('hourly', 0):.4f} {currency}/hour), net of VAT"
        )
    warnings = plan.get("warnings", [])
    lines += [f"warning: {warning}" for warning in warnings]
    if any("price table" in warning for warning in warnings):
        lines.append(
            "hint: `HCLOUD_TOKEN=… catalyst-api prices fetch -o prices.json` writes your "
            "project's full price list; the server reads it from CATALYST_PRICES_FILE"
        )
    return lines


class PlainFollower:
    """Prints each event as one line; at the end the final state's summary."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err

    def __enter__(self) -> PlainFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.flush()

    def event(self, event: WireEvent) -> None:
        print(event_line(event), file=self.out, flush=True)

    def notice(self, message: str) -> None:
        print(message, file=self.err, flush=True)

    def finish(self, state: DeploymentState) -> None:
        for line in state_lines(state):
            print(line, file=self.out)
        self.out.flush()
