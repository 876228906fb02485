"""Phase 1 fails fast once nothing can progress, and names the cause (issue 14): the watcher
against the fake kube-apiserver over real HTTP, on the bootstrap kit's real `dependsOn` DAG."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from catalyst_api.kube import KubeClient
from catalyst_api.phase1 import HelmReleaseWatcher, Phase1Outcome, WatchConfig, terminally_failed
from catalyst_api.phase1.types import HelmReleaseObj
from catalyst_api.wire.kit import COMPONENTS

CILIUM_ERROR = (
    "Helm install failed for release kube-system/bp-cilium with chart bp-cilium@1.0.0: "
    "timed out waiting for the condition"
)


def _kit(cluster: Any, *, installed: tuple[str, ...] = (), retries: int | None = None) -> None:
    """The 11 kit releases with their real `dependsOn`; `installed` ones are Ready=True, the
    others wait on their dependency like Flux's `DependencyNotReady`."""
    for c in COMPONENTS:
        ready = ("True", "InstallSucceeded", "") if c.id in installed else None
        if ready is None and c.depends_on:
            dep = c.depends_on[0]
            ready = (
                "False",
                "DependencyNotReady",
                f"dependency 'flux-system/bp-{dep}' is not ready",
            )
        cluster.add(
            c.release,
            depends=tuple(f"bp-{d}" for d in c.depends_on),
            ready=ready,
            install_retries=retries,
        )


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _watching(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> AsyncIterator[asyncio.Task[Phase1Outcome]]:
    """A watch (60 s budget) running over the cluster, once all 11 releases were reported."""
    async with KubeClient.from_kubeconfig(cluster.kubeconfig) as client:
        watcher = HelmReleaseWatcher(client, emit=recorder, config=config(timeout=60))
        task = asyncio.create_task(watcher.run())
        await _until(lambda: len(recorder.states()) == 11)
        yield task


def _blocked(recorder: Any) -> dict[str, str]:
    return {
        e.component: e.message
        for e in recorder.events
        if e.phase == "component" and e.message.startswith("blocked: ")
    }


async def test_a_failed_root_ends_the_watch_at_once_and_names_the_cause(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    _kit(cluster)
    async with _watching(cluster, recorder, config) as task:
        cluster.installing("bp-cilium")
        await _until(lambda: ("cilium", "installing") in recorder.states())
        failed_at = time.monotonic()
        cluster.failed("bp-cilium", CILIUM_ERROR)
        result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - failed_at < 5  # not the 60 s budget
    assert result.outcome == "failed"
    assert result.states["cilium"] == "failed"
    assert {c for c, s in result.states.items() if s == "pending"} == {
        c.id for c in COMPONENTS if c.id != "cilium"
    }
    others = [c.id for c in COMPONENTS if c.id != "cilium"]
    assert result.failures == (
        f"cilium failed: {CILIUM_ERROR}; 10 components blocked by it: {', '.join(others)}"
    )
    blocked = _blocked(recorder)
    assert sorted(blocked) == sorted(others)
    assert blocked["openbao"].startswith("blocked: depends on cilium, which has failed")
    blocked_events = [e for e in recorder.events if e.component == "gitea" and e.level == "warn"]
    assert [(e.state, e.phase) for e in blocked_events] == [("pending", "component")]
    assert recorder.warnings() == []  # no watch-level "terminated" message: the verdict ended it


async def test_a_failed_branch_blocks_only_its_dependents_and_the_rest_still_installs(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    _kit(cluster, installed=("cilium", "cert-manager"))
    independent = ("flux", "crossplane", "sealed-secrets", "keycloak", "gitea", "catalyst-platform")
    async with _watching(cluster, recorder, config) as task:
        cluster.failed("bp-spire", "Helm install failed for release spire-system/bp-spire")
        await _until(lambda: set(_blocked(recorder)) == {"nats-jetstream", "openbao"})
        for name in independent[:-1]:
            cluster.installed(f"bp-{name}")
        await _until(lambda: ("gitea", "installed") in recorder.states())
        await asyncio.sleep(0.2)
        assert not task.done()  # catalyst-platform can still make progress
        cluster.installed("bp-catalyst-platform")
        result = await asyncio.wait_for(task, 10)
    assert result.outcome == "failed"
    assert {c: result.states[c] for c in ("spire", "nats-jetstream", "openbao")} == {
        "spire": "failed",
        "nats-jetstream": "pending",
        "openbao": "pending",
    }
    assert all(result.states[c] == "installed" for c in independent)
    assert result.failures == (
        "spire failed: Helm install failed for release spire-system/bp-spire; "
        "2 components blocked by it: nats-jetstream, openbao"
    )
    assert set(_blocked(recorder)) == {"nats-jetstream", "openbao"}


async def test_a_failure_helm_still_remediates_keeps_the_watch_going(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    _kit(cluster, retries=3)
    async with _watching(cluster, recorder, config) as task:
        cluster.set_ready("bp-cilium", "False", "InstallFailed", "attempt 1", installFailures=1)
        await _until(lambda: ("cilium", "failed") in recorder.states())
        await asyncio.sleep(0.3)
        assert not task.done()  # 1 failure of 3 retries: Helm tries again
        assert _blocked(recorder) == {}
        cluster.installing("bp-cilium")
        for c in COMPONENTS:
            cluster.installed(c.release)
        result = await asyncio.wait_for(task, 10)
    assert result.outcome == "ready"
    assert result.failures == ""
    assert recorder.component("cilium") == ["pending", "failed", "installing", "installed"]


async def test_stalled_ends_a_remediated_release_as_final(
    cluster: Any, recorder: Any, config: Callable[..., WatchConfig]
) -> None:
    _kit(cluster, retries=3)
    async with _watching(cluster, recorder, config) as task:
        stalled = {
            "type": "Stalled",
            "status": "True",
            "reason": "RetriesExceeded",
            "message": "Failed to install after 4 attempt(s)",
        }
        body = {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "InstallFailed",
                    "message": "attempt 4",
                },
                stalled,
            ],
            "installFailures": 2,  # Stalled alone decides, whatever the counter says
        }
        cluster.kube.state.set_status(
            "helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-cilium", body
        )
        result = await asyncio.wait_for(task, 10)
    assert result.outcome == "failed"
    assert result.failures.startswith("cilium failed: attempt 4; 10 components blocked by it")


def _hr(ready_reason: str, status: dict[str, Any], spec: dict[str, Any]) -> HelmReleaseObj:
    cond = {"type": "Ready", "status": "False", "reason": ready_reason, "message": "x"}
    return {"spec": spec, "status": {"conditions": [cond], **status}}


def test_remediation_exhaustion_follows_flux_counters_and_retries() -> None:
    no_remediation = _hr("InstallFailed", {}, {})
    assert terminally_failed(no_remediation, "failed")  # Flux's default: 0 retries
    assert not terminally_failed(no_remediation, "degraded")
    retries3 = {"install": {"remediation": {"retries": 3}}}
    assert not terminally_failed(_hr("InstallFailed", {"installFailures": 3}, retries3), "failed")
    assert terminally_failed(_hr("InstallFailed", {"installFailures": 4}, retries3), "failed")
    forever = {"install": {"remediation": {"retries": -1}}}
    assert not terminally_failed(_hr("InstallFailed", {"installFailures": 99}, forever), "failed")
    upgrade = {"upgrade": {"remediation": {"retries": 2}}, **retries3}
    assert not terminally_failed(_hr("UpgradeFailed", {"upgradeFailures": 2}, upgrade), "failed")
    assert terminally_failed(_hr("UpgradeFailed", {"upgradeFailures": 3}, upgrade), "failed")
