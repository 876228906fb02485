"""`FluxSimulator`: Flux installing the bootstrap kit on a simulated Sovereign.

After cloud-init has applied the Flux bootstrap, the simulator plays what the real controllers
would do, writing to the fake kube-apiserver's state:

1. `flux-install`: the Flux controllers (Deployments, Running Pods with `app=<controller>`),
   the `HelmRepository` kind, the `ghcr-pull` Secret, the `openova` GitRepository and the
   `bootstrap-kit` / `infrastructure-config` Kustomizations.
2. `kit-applied`: the GitRepository has an artifact; `bootstrap-kit` applies the 11 `bp-*`
   HelmReleases (no status yet → Phase 1 `pending`).
3. Each release, once helm-controller looks at it: `Ready=False DependencyNotReady`
   (`dependency 'flux-system/bp-x' is not ready`) while its dependency is not installed, then
   `Ready=Unknown Progressing` for its install time, then `Ready=True InstallSucceeded`. A
   failing attempt sets `Ready=False InstallFailed` and `status.installFailures`; like Flux's
   `install.remediation.retries` (3) the install is tried again after `remediation_retry`,
   and after the last retry the release is `Stalled=True RetriesExceeded` for good. A
   component in the fail set fails every attempt; a flaky one only the first. A release
   whose dependency failed for good stays `DependencyNotReady`, as with real Flux.
4. `done`: the Kustomizations report the outcome.

helm-controller's pod log gets one JSON line per step (`helmlog`). Every transition is first
recorded in `FluxProgress` and handed to `checkpoint()` (the sovereign persists it), and only
then written to the cluster, so a restarted sandbox never shows an older state than a watcher
already saw; `resume()` re-applies the recorded state to a restored cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from .fakekube import FakeKubeState, KubeApiError
from .helmlog import helm_controller_line
from .kit import (
    CHART_VERSION,
    COMPONENTS,
    KIT_NAMESPACE,
    Component,
    Timings,
    dependencies,
    release_name,
)
from .manifests import (
    HELM_REPOSITORY_CRD,
    INSTALL_RETRIES,
    Obj,
    condition,
    controller_pod_name,
    flux_bootstrap_objects,
    flux_controller_objects,
    ghcr_pull_secret,
    helm_release,
    helm_repository,
    revision,
)

__all__ = ["FluxProgress", "FluxSimulator", "ReleaseProgress", "SovereignInputs"]

log = structlog.get_logger(__name__)

HR_API = "helm.toolkit.fluxcd.io/v2"
KS_API = "kustomize.toolkit.fluxcd.io/v1"
GIT_API = "source.toolkit.fluxcd.io/v1"
MAX_LOG_LINES = 2000
STAGES = ("pending", "flux-install", "kit-applied", "done")
INSTALL_ACTION = "Running 'install' action with timeout of 10m0s"
TERMINAL = ("installed", "failed")


@dataclass(frozen=True, slots=True)
class SovereignInputs:
    """What cloud-init knows about the Sovereign (non-secret part of the boot request)."""

    fqdn: str
    org_name: str
    gitops_repo_url: str
    gitops_branch: str
    node_name: str


@dataclass(slots=True)
class ReleaseProgress:
    """Where one HelmRelease is: `created`, `waiting`, `installing`, `retrying` (an attempt
    failed, Helm will try again), `installed`, `failed` (retries exhausted); `failures`: the
    failed install attempts so far."""

    stage: str = "created"
    ready: Obj | None = None
    failures: int = 0

    def to_json(self) -> Obj:
        return {"stage": self.stage, "ready": self.ready, "failures": self.failures}

    @classmethod
    def from_json(cls, raw: Obj) -> ReleaseProgress:
        ready = raw.get("ready")
        failures = raw.get("failures")
        return cls(
            stage=str(raw.get("stage", "created")),
            ready=ready if ready else None,
            failures=failures if isinstance(failures, int) else 0,
        )


@dataclass(slots=True)
class FluxProgress:
    """The simulator's persisted state."""

    stage: str = "pending"
    releases: dict[str, ReleaseProgress] = field(
        default_factory=lambda: {c.id: ReleaseProgress() for c in COMPONENTS}
    )
    log_lines: list[str] = field(default_factory=list)

    def to_json(self) -> Obj:
        return {
            "stage": self.stage,
            "releases": {cid: p.to_json() for cid, p in self.releases.items()},
            "logLines": list(self.log_lines),
        }

    @classmethod
    def from_json(cls, raw: Obj) -> FluxProgress:
        progress = cls(stage=str(raw.get("stage", "pending")))
        releases = raw.get("releases") or {}
        for cid in progress.releases:
            if isinstance(releases.get(cid), dict):
                progress.releases[cid] = ReleaseProgress.from_json(releases[cid])
        progress.log_lines = [str(line) for line in raw.get("logLines") or []]
        return progress

    def states(self) -> dict[str, str]:
        """Component id → release stage."""
        return {cid: p.stage for cid, p in self.releases.items()}


def _release_status(progress: ReleaseProgress) -> Obj:
    if progress.ready is None:
        return {}
    conditions = [progress.ready]
    if progress.stage == "installing":
        conditions.append({**progress.ready, "type": "Reconciling", "status": "True"})
    if progress.stage == "failed":
        stalled = condition(
            "True",
            "RetriesExceeded",
            f"Failed to install after {progress.failures} attempt(s)",
            type_="Stalled",
        )
        stalled["lastTransitionTime"] = progress.ready.get("lastTransitionTime")
        conditions.append(stalled)
    status: Obj = {"observedGeneration": 1, "conditions": conditions}
    if progress.failures:
        status["installFailures"] = progress.failures
    if progress.stage in TERMINAL or progress.stage == "retrying":
        status["lastAttemptedRevision"] = CHART_VERSION
    if progress.stage == "installed":
        status["lastAppliedRevision"] = CHART_VERSION
    return status


class FluxSimulator:
    """Drives one Sovereign's Flux; `run()` once (a task), cancel it to stop."""

    def __init__(
        self,
        kube: FakeKubeState,
        *,
        inputs: SovereignInputs,
        ghcr_token: Callable[[], str],
        fail: frozenset[str],
        timings: Timings,
        progress: FluxProgress,
        checkpoint: Callable[[], Awaitable[None]],
        flaky: frozenset[str] = frozenset(),
    ) -> None:
        self.kube = kube
        self.inputs = inputs
        self.ghcr_token = ghcr_token
        self.fail = fail
        self.flaky = flaky
        self.timings = timings
        self.progress = progress
        self.checkpoint = checkpoint
        self.helm_pod = controller_pod_name(inputs.fqdn, "helm-controller")
        self._settled: dict[str, asyncio.Event] = {}

    # --- cluster writes ------------------------------------------------------------------------

    def _ensure(self, obj: Obj) -> None:
        try:
            self.kube.create(obj)
        except KubeApiError as exc:
            if exc.code != 409:
                raise

    def _set_status(self, api_version: str, kind: str, name: str, status: Obj) -> None:
        current = self.kube.get(api_version, kind, KIT_NAMESPACE, name)
        if current is not None and current.get("status") != status:
            self.kube.set_status(api_version, kind, KIT_NAMESPACE, name, status)

    def _install_flux(self) -> None:
        group, version, kind, plural, short = HELM_REPOSITORY_CRD
        self.kube.register_crd(group, version, kind, plural, short_names=short)
        for obj in flux_controller_objects(self.inputs.fqdn, self.inputs.node_name):
            self._ensure(obj)
        token = self.ghcr_token()
        if token:
            self._ensure(ghcr_pull_secret(token))
        self._ensure(helm_repository())
        for obj in flux_bootstrap_objects(
            fqdn=self.inputs.fqdn,
            gitops_repo_url=self.inputs.gitops_repo_url,
            gitops_branch=self.inputs.gitops_branch,
        ):
            self._ensure(obj)

    def _apply_kit(self) -> None:
        for component in COMPONENTS:
            self._ensure(helm_release(component))

    def _sources_status(self) -> None:
        stage = self.progress.stage
        rev = revision(self.inputs.gitops_branch, self.inputs.fqdn)
        if stage in ("kit-applied", "done"):
            ready = condition("True", "Succeeded", f"stored artifact for revision '{rev}'")
            self._set_status(
                GIT_API,
                "GitRepository",
                "openova",
                {"conditions": [ready], "artifact": {"revision": rev}},
            )
            self._set_status(
                "source.toolkit.fluxcd.io/v1",
                "HelmRepository",
                "openova-charts",
                {"conditions": [condition("True", "Succeeded", "Helm repository is ready")]},
            )
        kit, infra = self._kustomization_conditions(rev)
        self._set_status(KS_API, "Kustomization", "bootstrap-kit", {"conditions": [kit]})
        self._set_status(KS_API, "Kustomization", "infrastructure-config", {"conditions": [infra]})

    def _kustomization_conditions(self, rev: str) -> tuple[Obj, Obj]:
        stage = self.progress.stage
        waiting = condition(
            "False", "DependencyNotReady", "dependency 'flux-system/bootstrap-kit' is not ready"
        )
        if stage in ("pending", "flux-install"):
            fetching = condition("Unknown", "Progressing", "reconciliation in progress")
            return fetching, waiting
        if stage == "kit-applied":
            health = condition(
                "Unknown", "Progressing", f"Applied revision: {rev}; waiting for health checks"
            )
            return health, waiting
        failed = [cid for cid, p in self.progress.releases.items() if p.stage != "installed"]
        if failed:
            names = ", ".join(f"HelmRelease/flux-system/{release_name(c)}" for c in failed)
            kit = condition("False", "HealthCheckFailed", f"health check failed for {names}")
            return kit, waiting
        applied = condition("True", "ReconciliationSucceeded", f"Applied revision: {rev}")
        return applied, applied

    def _write_release(self, component: str) -> None:
        status = _release_status(self.progress.releases[component])
        self._set_status(HR_API, "HelmRelease", release_name(component), status)

    def _log(self, line: str) -> None:
        self.kube.append_pod_log(KIT_NAMESPACE, self.helm_pod, line)

    # --- transitions (recorded, persisted, then written) -------------------------------------

    async def _stage(self, stage: str) -> None:
        self.progress.stage = stage
        await self.checkpoint()
        if stage == "flux-install":
            self._install_flux()
        elif stage == "kit-applied":
            self._apply_kit()
        self._sources_status()

    async def _release(
        self, component: str, stage: str, ready: Obj, line: str, *, failures: int | None = None
    ) -> None:
        progress = self.progress.releases[component]
        progress.stage, progress.ready = stage, ready
        if failures is not None:
            progress.failures = failures
        self.progress.log_lines.append(line)
        del self.progress.log_lines[:-MAX_LOG_LINES]
        await self.checkpoint()
        self._write_release(component)
        self._log(line)

    # --- running -------------------------------------------------------------------------------

    def resume(self) -> None:
        """Write the recorded progress to a freshly restored cluster (objects, statuses, the
        helm-controller log so far)."""
        if self.progress.stage == "pending":
            return
        self._install_flux()
        if self.progress.stage in ("kit-applied", "done"):
            self._apply_kit()
            for component in COMPONENTS:
                self._write_release(component.id)
        self._sources_status()
        for line in self.progress.log_lines:
            self._log(line)

    async def run(self) -> None:
        """From the recorded stage to `done`."""
        t = self.timings
        if self.progress.stage == "pending":
            await asyncio.sleep(t.flux_install)
            await self._stage("flux-install")
        if self.progress.stage == "flux-install":
            await asyncio.sleep(t.source_fetch)
            await self._stage("kit-applied")
        if self.progress.stage == "kit-applied":
            self._settled = {c.id: asyncio.Event() for c in COMPONENTS}
            for cid, p in self.progress.releases.items():
                if p.stage in TERMINAL:
                    self._settled[cid].set()
            await asyncio.gather(*(self._run_release(c) for c in COMPONENTS))
            await self._stage("done")
        log.info(
            "sandbox flux finished",
            fqdn=self.inputs.fqdn,
            states=self.progress.states(),
        )

    async def _run_release(self, component: Component) -> None:
        cid, name = component.id, release_name(component.id)
        progress = self.progress.releases[cid]
        try:
            if progress.stage in TERMINAL:
                return
            if progress.stage not in ("installing", "retrying"):
                if not await self._wait_for_dependencies(cid, name):
                    return
                await self._release(
                    cid,
                    "installing",
                    condition("Unknown", "Progressing", INSTALL_ACTION),
                    helm_controller_line(name, "running 'install' action with timeout of 10m0s"),
                )
            await self._attempts(component)
        finally:
            self._settled[cid].set()

    async def _attempts(self, component: Component) -> None:
        """Install attempts until one succeeds or the retries are exhausted (a restored
        release continues with the attempt it was in)."""
        cid, name = component.id, release_name(component.id)
        progress = self.progress.releases[cid]
        while True:
            if progress.stage == "retrying":
                await asyncio.sleep(self.timings.remediation_retry)
                await self._release(
                    cid,
                    "installing",
                    condition("Unknown", "Progressing", INSTALL_ACTION),
                    helm_controller_line(
                        name,
                        "running 'install' action with timeout of 10m0s "
                        f"(retry {progress.failures} of {INSTALL_RETRIES})",
                    ),
                )
            first = progress.failures == 0
            await asyncio.sleep(
                self.timings.install_seconds(cid) if first else self.timings.remediation_retry
            )
            if not self._attempt_fails(cid, progress.failures):
                await self._installed(component)
                return
            await self._failed(component, progress.failures + 1)
            if progress.stage == "failed":
                return

    def _attempt_fails(self, cid: str, failures: int) -> bool:
        return cid in self.fail or (cid in self.flaky and failures == 0)

    async def _wait_for_dependencies(self, cid: str, name: str) -> bool:
        """False when a dependency failed (the release then stays DependencyNotReady)."""
        await asyncio.sleep(self.timings.dependency_requeue)
        for dependency in dependencies(cid):
            dep_progress = self.progress.releases[dependency]
            if dep_progress.stage == "installed":
                continue
            message = f"dependency '{KIT_NAMESPACE}/{release_name(dependency)}' is not ready"
            current = self.progress.releases[cid].ready
            if current is None or current.get("message") != message:
                await self._release(
                    cid,
                    "waiting",
                    condition("False", "DependencyNotReady", message),
                    helm_controller_line(
                        name,
                        f"dependencies do not meet ready condition ({message}), retrying in 10s",
                    ),
                )
            await self._settled[dependency].wait()
            if dep_progress.stage != "installed":
                return False
            await asyncio.sleep(self.timings.dependency_requeue)
        return True

    async def _failed(self, component: Component, failures: int) -> None:
        cid, name = component.id, release_name(component.id)
        target = f"{component.target_namespace}/{name}"
        chart = f"{name}@{CHART_VERSION}"
        cause = "failure injected" if cid in self.fail else "transient failure injected"
        error = (
            f"Helm install failed for release {target} with chart {chart}: "
            f"sandbox: {cause} for component {cid!r}"
        )
        final = failures > INSTALL_RETRIES
        await self._release(
            cid,
            "failed" if final else "retrying",
            condition("False", "InstallFailed", error),
            helm_controller_line(name, "Reconciler error", level="error", error=error),
            failures=failures,
        )

    async def _installed(self, component: Component) -> None:
        cid, name = component.id, release_name(component.id)
        target = f"{component.target_namespace}/{name}"
        chart = f"{name}@{CHART_VERSION}"
        await self._release(
            cid,
            "installed",
            condition(
                "True",
                "InstallSucceeded",
                f"Helm install succeeded for release {target}.v1 with chart {chart}",
            ),
            helm_controller_line(name, "release in-sync with desired state"),
        )
