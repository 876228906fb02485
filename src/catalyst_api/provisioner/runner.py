"""`TofuProvisioner`: Phase 0 (init → plan → apply → output) and destroy, streamed as events.

One run = one workdir (`<CATALYST_TOFU_WORKDIR>/<job.workdir>`, the name the deployment
recorded, or the legacy `<fqdn-dashed>` for records without one; see workdir.py), one time budget
(`CATALYST_TOFU_TIMEOUT` for all steps together) and one event stream:

    tofu-init banner      → `init -input=false -no-color`                       (text lines)
    tofu-plan banner      → `plan -input=false -no-color -json -out=tfplan`     (JSON lines)
    tofu-apply banner     → `apply -input=false -no-color -json -auto-approve tfplan`
    tofu-output banner    → `output -json -no-color`                            (captured)
    flux-bootstrap banner (verbatim from the original)

Destroy: `tofu-init` → `tofu-destroy` banner → `destroy -input=false -no-color -json
-auto-approve` (its JSON stream carries the destroy plan, so progress works the same).

Decisions where the original is silent or differs:
- Error strings keep the original's shape `tofu <step>: <binary> <args> failed: exit status N`;
  `<binary>` is the basename of the configured executable (`tofu` in production, `terraform`
  in development) and `<args>` are the arguments we actually ran (they include `-json`).
- The subprocess environment is an allowlist (PATH, HOME, locale, proxies, CA bundle), our
  `TF_*` settings and the run's five secret variables as `TF_VAR_<name>` (tfvars.py): secrets
  exist only in memory and in that child's environment for the duration of the run, never in
  a file. catalyst-api's own environment (e.g. `CATALYST_GHCR_PULL_TOKEN`) is not inherited.
- OpenTofu runs with umask 077 (process.py): state, backup, plan and `.terraform/` are private.
- Every message is scrubbed of the job's secret values before it becomes an event, and the
  process log scrubber masks them while the run lasts (`logs.SecretScrubber.registered`).
- The plan file (`tfplan`) embeds every variable value, secrets included; it is deleted as soon
  as `apply` ends (success, failure, timeout or cancellation), and the startup sweep
  (`workdir.secure_root`) deletes one a kill -9 left behind. State never holds variables.
- One run per workdir at a time: a second concurrent run in the same workdir fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from catalyst_api.config import Settings, format_go_duration
from catalyst_api.events.models import Emit, Event
from catalyst_api.logs import scrubber
from catalyst_api.provisioner import workdir as wd
from catalyst_api.provisioner.environment import default_base_env, require_binary, tofu_env
from catalyst_api.provisioner.models import (
    BANNERS,
    DESTROY_BANNER,
    Phase0Outputs,
    ProvisionError,
    ProvisionJob,
    flux_bootstrap_banner,
)
from catalyst_api.provisioner.pgstate import StateDatabase, deployment_id_of
from catalyst_api.provisioner.steps import STEP_ARGS, StepHook, TofuRun
from catalyst_api.provisioner.tfvars import (
    TFVARS_FILE,
    effective_ghcr_token,
    stage_run_inputs,
)

__all__ = ["STEP_ARGS", "StepHook", "TofuProvisioner"]


def _outputs(job: ProvisionJob, stdout: bytes) -> Phase0Outputs:
    try:
        parsed: Any = orjson.loads(stdout or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ProvisionError(f"parse tofu output: {exc}", step="output") from None
    if not isinstance(parsed, dict):
        raise ProvisionError("parse tofu output: top-level value is not an object", step="output")
    raw: dict[str, Any] = {}
    for name, entry in parsed.items():
        if isinstance(entry, dict) and not entry.get("sensitive"):
            raw[name] = entry.get("value")

    def text(name: str) -> str:
        value = raw.get(name)
        return value if isinstance(value, str) else ""

    fqdn = job.sovereign_fqdn
    return Phase0Outputs(
        control_plane_ip=text("control_plane_ip"),
        load_balancer_ip=text("load_balancer_ip"),
        sovereign_fqdn=fqdn,
        console_url=f"https://console.{fqdn}",
        gitops_repo_url=f"https://gitea.{fqdn}",
        raw=raw,
    )


class TofuProvisioner:
    """Runs OpenTofu for Phase 0 and destroy in per-Sovereign workdirs (see module docs).

    `plugin_mirror_dir` makes OpenTofu install providers only from that filesystem mirror
    (offline tests, sandbox). `kill_grace_seconds` is the wait between SIGINT, SIGTERM and
    SIGKILL when a run times out or is cancelled. `on_step_finished(step, outcome)` is called
    after every step (for `catalyst_tofu_runs_total{step,outcome}`). `base_env` replaces the
    allowlisted slice of `os.environ` the subprocess inherits.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        plugin_mirror_dir: Path | None = None,
        kill_grace_seconds: float = 30.0,
        on_step_finished: StepHook | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._mirror = plugin_mirror_dir
        self._kill_grace = kill_grace_seconds
        self._on_step_finished = on_step_finished
        self._base_env = dict(base_env) if base_env is not None else default_base_env()
        self._busy: set[str] = set()
        url = settings.database_url.get_secret_value()
        self._states = StateDatabase(url) if url else None

    # --- workdir -------------------------------------------------------------------------------

    @staticmethod
    def _name(fqdn: str, workdir: str) -> str:
        """The recorded workdir name, or the legacy `<fqdn-dashed>` when none was recorded."""
        return wd.check_workdir_name(workdir) if workdir else wd.workdir_name(fqdn)

    def workdir_for(self, fqdn: str, workdir: str = "") -> Path:
        """`<CATALYST_TOFU_WORKDIR>/<workdir>` (legacy `<fqdn-dashed>` when `workdir` is empty);
        not created here. ValueError for a name that is not a plain path component."""
        return self._settings.tofu_workdir / self._name(fqdn, workdir)

    def has_state(self, fqdn: str, *, workdir: str = "") -> bool:
        """Whether the deployment's state records at least one resource: its schema in
        PostgreSQL with a database, else that workdir's `terraform.tfstate`."""
        deployment_id = deployment_id_of(workdir)
        if self._states is not None and deployment_id is not None:
            return self._states.has_resources(deployment_id)
        try:
            return wd.state_has_resources(self.workdir_for(fqdn, workdir))
        except ValueError:
            return False

    @contextlib.contextmanager
    def _exclusive(self, job: ProvisionJob) -> Iterator[str]:
        try:
            key = self._name(job.sovereign_fqdn, job.workdir)
        except ValueError as exc:
            raise ProvisionError(f"create workdir: {exc}") from None
        if key in self._busy:
            raise ProvisionError(f"another OpenTofu run is in progress for {job.sovereign_fqdn}")
        self._busy.add(key)
        try:
            with scrubber.registered(*job.secret_values()):
                yield key
        finally:
            self._busy.discard(key)

    def _prepare(
        self, job: ProvisionJob, name: str, ghcr_token: str
    ) -> tuple[Path, dict[str, str]]:
        """Stage the workdir; returns it and the run's `TF_VAR_*` secrets (never written)."""
        try:
            workdir = wd.prepare_workdir(self._settings.tofu_workdir, name)
        except (OSError, ValueError) as exc:
            raise ProvisionError(f"create workdir: {exc}") from None
        env = stage_run_inputs(
            job, self._settings, workdir, ghcr_token=ghcr_token, plugin_mirror_dir=self._mirror
        )
        deployment_id = deployment_id_of(name)
        if self._states is not None and deployment_id is not None:
            try:
                env.update(self._states.prepare(workdir, deployment_id))
            except (OSError, ValueError) as exc:
                raise ProvisionError(f"configure the state backend: {exc}") from None
        return workdir, env

    # --- running -------------------------------------------------------------------------------

    def _start(
        self,
        job: ProvisionJob,
        workdir: Path,
        secrets_env: Mapping[str, str],
        binary: str,
        emit: Emit,
    ) -> TofuRun:
        env = tofu_env(self._base_env, workdir / wd.CLI_CONFIG_FILE, secrets_env)
        budget = self._settings.tofu_timeout
        return TofuRun(
            binary=binary,
            workdir=workdir,
            env=env,
            emit=emit,
            secrets=[*job.secret_values(), *self._settings.secret_values()],
            deadline=asyncio.get_running_loop().time() + budget.total_seconds(),
            budget_text=format_go_duration(budget),
            kill_grace=self._kill_grace,
            on_step_finished=self._on_step_finished,
        )

    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs:
        """Phase 0: init → plan → apply → output, streaming events through `emit`.

        Idempotent on the workdir's state (a retry continues from it). Raises `ProvisionError`
        on validation failure, a failed step or the `CATALYST_TOFU_TIMEOUT` budget; on
        cancellation OpenTofu is stopped (process tree gone) and `CancelledError` re-raised.
        """
        ghcr_token = effective_ghcr_token(job, self._settings, require=True)
        binary = require_binary(self._settings.tofu_binary, self._base_env)
        with self._exclusive(job) as name:
            workdir, secrets_env = self._prepare(job, name, ghcr_token)
            try:
                return await self._apply_steps(job, workdir, secrets_env, binary, emit)
            finally:
                await asyncio.to_thread(wd.tighten_workdir, workdir)
                if "PG_CONN_STR" in secrets_env:  # the state is in PostgreSQL: nothing stays
                    wd.remove_quietly(workdir / TFVARS_FILE)

    async def _apply_steps(
        self,
        job: ProvisionJob,
        workdir: Path,
        secrets_env: Mapping[str, str],
        binary: str,
        emit: Emit,
    ) -> Phase0Outputs:
        run = self._start(job, workdir, secrets_env, binary, emit)
        plan_file = workdir / wd.PLAN_FILE
        run.event(*BANNERS["init"])
        await run.step("init")
        run.event(*BANNERS["plan"])
        wd.remove_quietly(plan_file)
        try:
            await run.step("plan")
            run.event(*BANNERS["apply"])
            await run.step("apply")
        finally:
            wd.remove_quietly(plan_file)  # it embeds every variable value, secrets included
        run.event(*BANNERS["output"])
        result = await run.step("output", capture=True)
        outputs = _outputs(job, result.stdout)
        run.event("flux-bootstrap", flux_bootstrap_banner(job.sovereign_fqdn))
        return outputs

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        """Destroy everything the workdir's state records (init → destroy), streamed as events.

        A workdir without resources in its state is a no-op (one event). The inputs are
        prepared from `job` first (the caller supplies the Hetzner token, passed as
        `TF_VAR_hcloud_token`); the tfvars file is deleted after a successful destroy. Raises
        `ProvisionError` like `apply`.
        """
        binary = require_binary(self._settings.tofu_binary, self._base_env)
        with self._exclusive(job) as name:
            if not self.has_state(job.sovereign_fqdn, workdir=job.workdir):
                emit(
                    Event(
                        phase=DESTROY_BANNER[0],
                        message=f"No OpenTofu-managed resources recorded for "
                        f"{job.sovereign_fqdn} — nothing to destroy",
                    )
                )
                return
            ghcr_token = effective_ghcr_token(job, self._settings, require=False)
            workdir, secrets_env = self._prepare(job, name, ghcr_token)
            run = self._start(job, workdir, secrets_env, binary, emit)
            try:
                run.event(*BANNERS["init"])
                await run.step("init")
                run.event(*DESTROY_BANNER)
                await run.step("destroy")
            finally:
                await asyncio.to_thread(wd.tighten_workdir, workdir)
                if "PG_CONN_STR" in secrets_env:
                    wd.remove_quietly(workdir / TFVARS_FILE)
            wd.remove_quietly(workdir / TFVARS_FILE)
            deployment_id = deployment_id_of(name)
            if self._states is not None and deployment_id is not None:
                with contextlib.suppress(Exception):  # an empty schema left behind is harmless
                    await asyncio.to_thread(self._states.drop, deployment_id)
