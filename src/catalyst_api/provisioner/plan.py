"""The plan preview: `tofu init` + `tofu plan` of the create's module and inputs, nothing kept.

`TofuPlanner.plan(job)` stages `CATALYST_TOFU_MODULE_PATH` into a throwaway workdir (a fresh
0700 directory under the system temp dir, never under `CATALYST_TOFU_WORKDIR`), writes the
same tfvars file and `TF_VAR_*` secrets Phase 0 would (`tfvars.py`), then runs

    init -input=false -no-color
    plan -input=false -no-color -json -out=tfplan
    show -json -no-color tfplan          (captured in memory: it holds every variable value)

against one deadline (`CATALYST_PLAN_TIMEOUT`) and returns the planned resource changes with
their planned values (`after`). The workdir is removed when the plan ends, whatever happens
(success, failure, timeout, cancellation): the tfvars file, the plan file and the local state
never outlive the call.

What it never touches: the deployments' workdirs and their state (local files or the
PostgreSQL `tofu_<id>` schemas — no backend file is written, so OpenTofu plans against an empty
local state and every resource is an add), the pool-domain reservations, records, event logs
and kubeconfigs (it knows nothing of them).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from catalyst_api.config import Settings, format_go_duration
from catalyst_api.events.models import Event
from catalyst_api.logs import scrubber
from catalyst_api.provisioner import workdir as wd
from catalyst_api.provisioner.environment import default_base_env, require_binary, tofu_env
from catalyst_api.provisioner.models import ProvisionError, ProvisionJob
from catalyst_api.provisioner.steps import StepHook, TofuRun
from catalyst_api.provisioner.tfvars import (
    effective_ghcr_token,
    stage_run_inputs,
)

__all__ = ["PLAN_DIR_PREFIX", "PlannedChange", "TofuPlanner", "action_of"]

PLAN_DIR_PREFIX = "catalyst-plan-"
"""Name prefix of the throwaway workdirs (under the system temp dir)."""

_ACTIONS: dict[tuple[str, ...], str] = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("read",): "read",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
}


def action_of(actions: list[str]) -> str | None:
    """The machine-readable UI's action for a plan's `actions` list; None for `no-op`."""
    return _ACTIONS.get(tuple(actions))


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One planned resource change: its address, type, action (`create`, `update`, `delete`,
    `replace`, `read`) and planned values (`after`; {} when unknown or deleted). The values
    may hold secrets (a server's `user_data`): they are read, never shown (not in `repr`)."""

    address: str
    type: str
    action: str
    values: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _changes(stdout: bytes) -> list[PlannedChange]:
    """The resource changes of a `show -json` plan document (no-ops left out)."""
    try:
        doc: Any = orjson.loads(stdout or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ProvisionError(f"parse tofu plan: {exc}", step="show") from None
    entries = doc.get("resource_changes") if isinstance(doc, dict) else None
    out: list[PlannedChange] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("mode", "managed") != "managed":
            continue
        change = entry.get("change")
        if not isinstance(change, dict):
            continue
        actions = change.get("actions")
        action = action_of(actions) if isinstance(actions, list) else None
        if action is None:
            continue
        after = change.get("after")
        out.append(
            PlannedChange(
                address=str(entry.get("address", "")),
                type=str(entry.get("type", "")),
                action=action,
                values=after if isinstance(after, dict) else {},
            )
        )
    return out


class TofuPlanner:
    """Plans a job against an empty state in a throwaway workdir (see module docs).

    `plugin_mirror_dir` and `base_env` as for `TofuProvisioner`; `kill_grace_seconds` is the
    wait between SIGINT, SIGTERM and SIGKILL when a plan times out or is cancelled (a plan has
    no state to write, so it is short). `on_step_finished(step, outcome)` feeds the metrics.
    `temp_root` is where the throwaway workdirs go (default: the system temp dir).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        plugin_mirror_dir: Path | None = None,
        kill_grace_seconds: float = 2.0,
        on_step_finished: StepHook | None = None,
        base_env: Mapping[str, str] | None = None,
        temp_root: Path | None = None,
    ) -> None:
        self._settings = settings
        self._temp_root = temp_root
        self._mirror = plugin_mirror_dir
        self._kill_grace = kill_grace_seconds
        self._on_step_finished = on_step_finished
        self._base_env = dict(base_env) if base_env is not None else default_base_env()

    async def plan(self, job: ProvisionJob) -> list[PlannedChange]:
        """The planned changes of `job`; `ProvisionError` when a step fails
        (`ProvisionTimedOut` past `CATALYST_PLAN_TIMEOUT`)."""
        ghcr_token = effective_ghcr_token(job, self._settings, require=True)
        binary = require_binary(self._settings.tofu_binary, self._base_env)
        budget = self._settings.plan_timeout
        deadline = asyncio.get_running_loop().time() + budget.total_seconds()
        workdir = Path(tempfile.mkdtemp(prefix=PLAN_DIR_PREFIX, dir=self._temp_root))  # 0700
        try:
            with scrubber.registered(*job.secret_values()):
                secrets_env = stage_run_inputs(
                    job,
                    self._settings,
                    workdir,
                    ghcr_token=ghcr_token,
                    plugin_mirror_dir=self._mirror,
                )
                run = TofuRun(
                    binary=binary,
                    workdir=workdir,
                    env=tofu_env(self._base_env, workdir / wd.CLI_CONFIG_FILE, secrets_env),
                    emit=_discard,
                    secrets=[*job.secret_values(), *self._settings.secret_values()],
                    deadline=deadline,
                    budget_text=format_go_duration(budget),
                    kill_grace=self._kill_grace,
                    on_step_finished=self._on_step_finished,
                )
                await run.step("init")
                await run.step("plan")
                shown = await run.step("show", capture=True)
                return _changes(shown.stdout)
        finally:
            await asyncio.shield(asyncio.to_thread(shutil.rmtree, workdir, True))


def _discard(_: Event) -> None:
    """A plan's output lines are not a deployment's events: only its diagnostics are kept."""
