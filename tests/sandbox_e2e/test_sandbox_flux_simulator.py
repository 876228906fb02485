"""The Flux simulator writes what Phase 1 reads: HelmRelease Ready conditions in dependency
order, helm-controller log lines matching the §8.6 pattern, and it resumes from its progress."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any, cast

import orjson
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod, Secret

from catalyst_api.phase1 import derive_state, match_line, terminally_failed
from catalyst_api.phase1.types import HelmReleaseObj
from catalyst_sandbox.cluster import restore_objects, snapshot_objects
from catalyst_sandbox.fakekube import FakeKubeState
from catalyst_sandbox.flux import FluxProgress, FluxSimulator, SovereignInputs
from catalyst_sandbox.kit import (
    COMPONENTS,
    Timings,
    parse_fail_components,
    parse_flaky_components,
)
from catalyst_sandbox.manifests import node

INPUTS = SovereignInputs(
    fqdn="acme.sandbox.example",
    org_name="Acme",
    gitops_repo_url="https://github.com/openova-io/openova",
    gitops_branch="main",
    node_name="catalyst-acme-sandbox-example-cp1",
)
FAST = Timings().scaled(400.0)
KS = "kustomize.toolkit.fluxcd.io/v1"


class Recorder:
    """Checkpoint hook: remembers each release's (stage, reason, message) as recorded."""

    def __init__(self, progress: FluxProgress) -> None:
        self.progress = progress
        self.seen: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self.checkpoints = 0

    async def __call__(self) -> None:
        self.checkpoints += 1
        for cid, release in self.progress.releases.items():
            ready = release.ready or {}
            entry = (release.stage, str(ready.get("reason", "")), str(ready.get("message", "")))
            if not self.seen[cid] or self.seen[cid][-1] != entry:
                self.seen[cid].append(entry)


def simulator(
    state: FakeKubeState, progress: FluxProgress, fail: frozenset[str] = frozenset()
) -> tuple[FluxSimulator, Recorder]:
    recorder = Recorder(progress)
    sim = FluxSimulator(
        state,
        inputs=INPUTS,
        ghcr_token=lambda: "sandbox-ghcr-pull-token",
        fail=fail,
        timings=FAST,
        progress=progress,
        checkpoint=recorder,
    )
    return sim, recorder


def release_states(state: FakeKubeState) -> dict[str, str]:
    return {
        hr["metadata"]["name"].removeprefix("bp-"): derive_state(cast(HelmReleaseObj, hr))
        for hr in state.list("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system")
    }


def ready_of(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = obj.get("status", {}).get("conditions", [])
    return next(c for c in conditions if c["type"] == "Ready")


async def test_releases_install_in_dependency_order_with_flux_conditions() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    sim, recorder = simulator(state, progress)

    await asyncio.wait_for(sim.run(), 30)

    assert release_states(state) == {c.id: "installed" for c in COMPONENTS}
    assert [r for r, *_ in recorder.seen["cilium"]] == ["created", "installing", "installed"]
    assert recorder.seen["cert-manager"] == [
        ("created", "", ""),
        ("waiting", "DependencyNotReady", "dependency 'flux-system/bp-cilium' is not ready"),
        ("installing", "Progressing", "Running 'install' action with timeout of 10m0s"),
        (
            "installed",
            "InstallSucceeded",
            "Helm install succeeded for release cert-manager/bp-cert-manager.v1 with chart "
            "bp-cert-manager@1.0.0",
        ),
    ]
    finished = [
        line for line in progress.log_lines if "release in-sync" in line and "HelmRelease" in line
    ]
    order = [match_line(line)[0] for line in finished]  # type: ignore[index]
    assert sorted(order) == sorted(c.id for c in COMPONENTS)
    for c in COMPONENTS:  # the DAG's order: each one after what it depends on
        assert all(order.index(d) < order.index(c.id) for d in c.depends_on), c.id
    # Not a chain: independent branches of the DAG install side by side.
    assert order.index("sealed-secrets") < order.index("flux")
    hr = state.get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-gitea")
    assert hr is not None and hr["spec"]["dependsOn"] == [{"name": "bp-keycloak"}]
    kit = state.get(KS, "Kustomization", "flux-system", "bootstrap-kit")
    assert kit is not None and ready_of(kit)["status"] == "True"
    pods = state.list("v1", "Pod", "flux-system", label_selector="app=helm-controller")
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    secret = state.get("v1", "Secret", "flux-system", "ghcr-pull")
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"


async def test_every_helm_controller_line_names_its_release_for_phase1() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    sim, _ = simulator(state, progress, fail=frozenset({"catalyst-platform"}))

    await asyncio.wait_for(sim.run(), 30)

    matched = [match_line(line) for line in progress.log_lines]
    assert len(matched) >= len(COMPONENTS)
    assert all(m is not None for m in matched)
    errors = [m for m in matched if m is not None and m[1] == "error"]
    assert [m[0] for m in errors] == ["catalyst-platform"] * 4  # the install and 3 retries


async def test_a_failed_release_keeps_its_dependents_waiting_like_flux() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    sim, _ = simulator(state, progress, fail=frozenset({"keycloak"}))

    await asyncio.wait_for(sim.run(), 30)

    states = release_states(state)
    assert states["keycloak"] == "failed"
    assert (states["gitea"], states["catalyst-platform"]) == ("pending", "pending")
    assert states["openbao"] == "installed"
    gitea = state.get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-gitea")
    assert gitea is not None and ready_of(gitea)["reason"] == "DependencyNotReady"
    keycloak = state.get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-keycloak")
    assert keycloak is not None and ready_of(keycloak)["reason"] == "InstallFailed"
    kit = state.get(KS, "Kustomization", "flux-system", "bootstrap-kit")
    assert kit is not None and ready_of(kit)["reason"] == "HealthCheckFailed"


async def test_a_restored_cluster_continues_from_the_recorded_progress() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    sim, _ = simulator(state, progress)
    task = asyncio.create_task(sim.run())
    async with asyncio.timeout(30):
        while progress.releases["spire"].stage != "installing":
            await asyncio.sleep(0.001)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    saved_progress = orjson.loads(orjson.dumps(progress.to_json()))
    saved_objects = orjson.loads(orjson.dumps(snapshot_objects(state)))

    restored = FakeKubeState()
    restore_objects(restored, saved_objects)
    again, second = simulator(restored, FluxProgress.from_json(saved_progress))
    again.resume()
    assert release_states(restored)["cert-manager"] == "installed"
    assert release_states(restored)["spire"] == "installing"
    before = [
        cid for cid, stage in saved_progress["releases"].items() if stage["stage"] == "installed"
    ]
    assert "cilium" in before
    await asyncio.wait_for(again.run(), 30)

    assert release_states(restored) == {c.id: "installed" for c in COMPONENTS}
    for cid in before:
        # Already installed before the restart: never seen again in an earlier stage.
        assert [stage for stage, *_ in second.seen.get(cid, [])] in ([], ["installed"])
    assert [stage for stage, *_ in second.seen["spire"]][-1] == "installed"
    logs = restored.logs.open("flux-system", again.helm_pod, None, lambda: {})[1]
    assert len(logs) == len(again.progress.log_lines)


def test_failures_come_from_the_flag_and_from_fail_markers_in_the_org_name() -> None:
    assert parse_fail_components("keycloak, bp-gitea,unknown", "") == {"keycloak", "gitea"}
    assert parse_fail_components("", "Acme fail:spire,flux and more") == {"spire", "flux"}
    assert parse_fail_components("", "Flux Capacitors Inc") == frozenset()
    assert parse_flaky_components("Acme flaky:cilium fail:spire") == {"cilium"}
    assert parse_fail_components("", "Acme flaky:cilium") == frozenset()


async def test_a_failure_is_retried_like_helm_remediation_then_stalls() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    sim, recorder = simulator(state, progress, fail=frozenset({"spire"}))

    await asyncio.wait_for(sim.run(), 30)

    stages = [stage for stage, *_ in recorder.seen["spire"]]
    assert stages == ["created", "waiting", "installing"] + ["retrying", "installing"] * 3 + [
        "failed"
    ]
    spire = state.get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-spire")
    assert spire is not None
    assert spire["spec"]["install"]["remediation"]["retries"] == 3
    assert spire["status"]["installFailures"] == 4
    stalled = next(c for c in spire["status"]["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "RetriesExceeded")
    assert terminally_failed(cast(HelmReleaseObj, spire), derive_state(cast(HelmReleaseObj, spire)))
    states = release_states(state)
    assert (states["nats-jetstream"], states["openbao"]) == ("pending", "pending")
    assert states["keycloak"] == states["catalyst-platform"] == "installed"


async def test_a_flaky_component_fails_once_then_installs() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    recorder = Recorder(progress)
    sim = FluxSimulator(
        state,
        inputs=INPUTS,
        ghcr_token=lambda: "",
        fail=frozenset(),
        flaky=frozenset({"cilium"}),
        timings=FAST,
        progress=progress,
        checkpoint=recorder,
    )

    await asyncio.wait_for(sim.run(), 30)

    assert [stage for stage, *_ in recorder.seen["cilium"]] == [
        "created",
        "installing",
        "retrying",
        "installing",
        "installed",
    ]
    failed_once = recorder.seen["cilium"][2]
    assert failed_once[1] == "InstallFailed"
    assert release_states(state) == {c.id: "installed" for c in COMPONENTS}
    cilium = state.get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-cilium")
    assert cilium is not None and cilium["status"]["installFailures"] == 1


def test_sandbox_objects_parse_as_real_kubernetes_objects() -> None:
    state, progress = FakeKubeState(), FluxProgress()
    sim, _ = simulator(state, progress)
    sim.resume()
    asyncio.run(asyncio.wait_for(sim.run(), 30))
    state.create(node("cp1", role="control-plane", internal_ip="10.0.1.2", k3s_version="v1.31"))

    parsed: dict[str, int] = {}
    for kind, model in (("Pod", Pod), ("Node", Node), ("Secret", Secret)):
        for obj in state.list("v1", kind):
            assert model.from_dict(obj).to_dict()["metadata"]["name"] == obj["metadata"]["name"]
            parsed[kind] = parsed.get(kind, 0) + 1
    for obj in state.list("apps/v1", "Deployment"):
        assert Deployment.from_dict(obj).to_dict()["metadata"]["name"] == obj["metadata"]["name"]
        parsed["Deployment"] = parsed.get("Deployment", 0) + 1
    assert set(parsed) == {"Pod", "Node", "Secret", "Deployment"}, parsed
