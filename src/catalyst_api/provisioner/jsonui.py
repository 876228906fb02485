"""OpenTofu/Terraform machine-readable UI (`-json`) lines → event level, message and progress.

Every `-json` line is one object with `@level`, `@message` and a `type` (`version`,
`planned_change`, `change_summary`, `apply_start`, `apply_progress`, `apply_complete`,
`apply_errored`, `diagnostic`, `outputs`, `log`, …). We keep the human `@message` as the event
message; a `diagnostic` line also carries its `detail` (the variable validation message, the
provider error) so users see *why* a step failed.

Progress (DESIGN "Progress"): `total` = distinct resource changes planned (`planned_change`
lines; a replace counts once but completes only after both its delete and its create),
`done` = distinct planned changes whose apply completed. The plan is "known" from the first
`change_summary` on; only lines from then on carry progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

import orjson

from catalyst_api.events.models import Progress

__all__ = [
    "ParsedLine",
    "ProgressTracker",
    "UiLine",
    "parse_line",
]

LevelName = Literal["info", "warn", "error"]


class _Resource(TypedDict, total=False):
    addr: str


class _Change(TypedDict, total=False):
    resource: _Resource
    action: str


class _Diagnostic(TypedDict, total=False):
    severity: str
    summary: str
    detail: str
    address: str


class UiLine(TypedDict, total=False):
    """One machine-readable UI line (only the fields we read)."""

    type: str
    change: _Change
    hook: _Change
    diagnostic: _Diagnostic


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A tofu output line as an event: `ui` is the decoded JSON object, or None for raw text."""

    level: LevelName
    message: str
    ui: UiLine | None = None

    @property
    def error_diagnostic(self) -> str | None:
        """`summary: detail` of an error diagnostic line, else None."""
        diag = self.ui.get("diagnostic") if self.ui is not None else None
        if not diag or diag.get("severity") != "error":
            return None
        summary = str(diag.get("summary") or "")
        detail = _one_line(str(diag.get("detail") or ""))
        return f"{summary}: {detail}" if detail else summary


def _one_line(text: str) -> str:
    return " ".join(text.split())


_LEVELS: dict[str, LevelName] = {"error": "error", "warn": "warn", "warning": "warn"}


def parse_line(text: str, *, raw_level: LevelName) -> ParsedLine:
    """Decode one (stripped, non-empty) line; non-JSON text keeps `raw_level`."""
    obj: Any = None
    if text.startswith("{"):
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            obj = None
    if not isinstance(obj, dict) or not isinstance(obj.get("@message"), str):
        return ParsedLine(level=raw_level, message=text)
    ui = cast(UiLine, obj)
    level = _LEVELS.get(str(obj.get("@level", "")).lower(), "info")
    message: str = obj["@message"]
    diag = ui.get("diagnostic")
    if ui.get("type") == "diagnostic" and isinstance(diag, dict):
        level = _LEVELS.get(str(diag.get("severity", "")).lower(), level)
        detail = _one_line(str(diag.get("detail") or ""))
        if detail and detail not in message:
            message = f"{message}: {detail}"
    return ParsedLine(level=level, message=message, ui=ui)


_COUNTED_ACTIONS = {"create", "update", "delete", "replace", "read"}


@dataclass(slots=True)
class ProgressTracker:
    """Counts planned and completed resource changes across the steps of one run."""

    known: bool = False
    _expected: dict[str, int] = field(default_factory=dict)
    _completed: dict[str, int] = field(default_factory=dict)

    def observe(self, ui: UiLine) -> None:
        """Update the counts from one machine-readable line."""
        kind = ui.get("type")
        if kind == "planned_change":
            change = ui.get("change") or {}
            addr = (change.get("resource") or {}).get("addr")
            action = change.get("action", "")
            if addr and action in _COUNTED_ACTIONS:
                self._expected[addr] = 2 if action == "replace" else 1
        elif kind == "change_summary":
            self.known = True
        elif kind == "apply_complete":
            addr = ((ui.get("hook") or {}).get("resource") or {}).get("addr")
            if addr:
                self._expected.setdefault(addr, 1)
                self._completed[addr] = self._completed.get(addr, 0) + 1

    @property
    def total(self) -> int:
        return len(self._expected)

    @property
    def done(self) -> int:
        return sum(
            1 for addr, want in self._expected.items() if self._completed.get(addr, 0) >= want
        )

    def snapshot(self) -> Progress | None:
        """`{"done", "total"}` once the plan is known, else None."""
        if not self.known:
            return None
        return Progress(done=self.done, total=self.total)
