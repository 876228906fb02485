"""One OpenTofu invocation's steps: arguments, one deadline, event emission and scrubbing.

`TofuRun` runs named steps (`STEP_ARGS`) in one workdir against one deadline, turns every output
line into an `Event` scrubbed of the run's secret values, keeps the error diagnostics of the
current step and raises `ProvisionError` in the original's shape (`ProvisionTimedOut` when the
budget runs out). Used by Phase 0 and destroy (`runner.py`) and by the plan preview (`plan.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path

from catalyst_api.events.models import Emit, Event
from catalyst_api.provisioner import workdir as wd
from catalyst_api.provisioner.jsonui import ProgressTracker, parse_line
from catalyst_api.provisioner.models import ProvisionError, ProvisionTimedOut
from catalyst_api.provisioner.process import (
    CommandResult,
    CommandTimedOut,
    Stream,
    describe_exit,
    run_command,
)

__all__ = ["STEP_ARGS", "StepHook", "TofuRun"]

StepHook = Callable[[str, str], None]
"""`on_step_finished(step, outcome)`; outcome is `ok`, `error`, `timeout` or `cancelled`."""

STEP_ARGS: dict[str, tuple[str, ...]] = {
    "init": ("init", "-input=false", "-no-color"),
    "plan": ("plan", "-input=false", "-no-color", "-json", f"-out={wd.PLAN_FILE}"),
    "apply": ("apply", "-input=false", "-no-color", "-json", "-auto-approve", wd.PLAN_FILE),
    "output": ("output", "-json", "-no-color"),
    "show": ("show", "-json", "-no-color", wd.PLAN_FILE),
    "destroy": ("destroy", "-input=false", "-no-color", "-json", "-auto-approve"),
}
"""The arguments of each step, exactly as run (and as quoted in error messages)."""

_MIN_SCRUB_LEN = 3
_REDACTED = "<redacted>"


class TofuRun:
    """One apply or destroy invocation: emits events, runs steps against one deadline."""

    def __init__(
        self,
        *,
        binary: str,
        workdir: Path,
        env: Mapping[str, str],
        emit: Emit,
        secrets: list[str],
        deadline: float,
        budget_text: str,
        kill_grace: float,
        on_step_finished: StepHook | None,
    ) -> None:
        self.binary = binary
        self.display = Path(binary).name
        self.workdir = workdir
        self.env = env
        self.emit = emit
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SCRUB_LEN}, key=len)[::-1]
        self.deadline = deadline
        self.budget_text = budget_text
        self.kill_grace = kill_grace
        self.on_step_finished = on_step_finished
        self.tracker = ProgressTracker()
        self.diagnostics: list[str] = []

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def event(self, phase: str, message: str, level: str = "info") -> None:
        self.emit(Event(phase=phase, message=self.scrub(message), level=level))

    def _on_line(self, stream: Stream, text: str) -> None:
        parsed = parse_line(text, raw_level="info" if stream == "stdout" else "warn")
        progress = None
        if parsed.ui is not None:
            self.tracker.observe(parsed.ui)
            progress = self.tracker.snapshot()
            diagnostic = parsed.error_diagnostic
            if diagnostic:
                self.diagnostics.append(self.scrub(diagnostic))
        self.emit(
            Event(
                phase="tofu",
                message=self.scrub(parsed.message),
                level=parsed.level,
                progress=progress,
            )
        )

    def _finished(self, step: str, outcome: str) -> None:
        if self.on_step_finished is not None:
            self.on_step_finished(step, outcome)

    async def step(self, step: str, *, capture: bool = False) -> CommandResult:
        """Run one step; raise `ProvisionError` (verbatim shape) unless it exits 0."""
        args = STEP_ARGS[step]
        command = " ".join((self.display, *args))
        prefix = "read tofu outputs" if step == "output" else f"tofu {step}"
        self.diagnostics = []
        try:
            result = await run_command(
                (self.binary, *args),
                cwd=self.workdir,
                env=self.env,
                on_line=self._on_line,
                deadline=self.deadline,
                kill_grace=self.kill_grace,
                capture_stdout=capture,
                on_stopping=lambda reason: self._stopping(step, reason),
            )
        except CommandTimedOut:
            self._finished(step, "timeout")
            raise ProvisionTimedOut(
                f"tofu {step}: timed out after {self.budget_text}", step=step
            ) from None
        except asyncio.CancelledError:
            self._finished(step, "cancelled")
            raise
        except OSError as exc:
            self._finished(step, "error")
            reason = (exc.strerror or str(exc)).lower()
            raise ProvisionError(f'{prefix}: exec: "{self.binary}": {reason}', step=step) from None
        if result.returncode != 0:
            self._finished(step, "error")
            raise ProvisionError(
                f"{prefix}: {command} failed: {describe_exit(result.returncode)}",
                step=step,
                diagnostics=self.diagnostics,
            )
        self._finished(step, "ok")
        return result

    def _stopping(self, step: str, reason: str) -> None:
        if reason == "timeout":
            self.event(
                "tofu",
                f"tofu {step} timed out after {self.budget_text} — interrupting OpenTofu",
                "error",
            )
        else:
            self.event("tofu", f"tofu {step} cancelled — interrupting OpenTofu", "warn")
