"""HelmWatchRunner, the Phase1Runner the deployment runs call (spec §8.1 step 3–4)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from catalyst_api.config import Settings
from catalyst_api.phase1 import HelmWatchRunner, LiveWatches, WatchConfig

STEP3 = (
    "Phase-1 watch could not start: {} — Sovereign cluster is up (Phase 0 succeeded) but "
    "per-component state will not stream from this catalyst-api. Operator may run "
    "`kubectl get helmrelease -n flux-system` against the new Sovereign for ad-hoc diagnostics."
)


class Seeder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Mapping[str, Any]]]] = []

    def seed(self, deployment_id: str, items: list[Mapping[str, Any]]) -> asyncio.Future[Any]:
        self.calls.append((deployment_id, items))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result((len(items), 0))
        return future


def _runner(**overrides: Any) -> HelmWatchRunner:
    from catalyst_api.kube import WatchTiming
    from catalyst_api.phase1 import LogTailTiming

    values: dict[str, Any] = {
        "timing": WatchTiming(backoff_initial=0.02, backoff_max=0.1),
        "log_tail": LogTailTiming(0.05, 0.05),
        "timeout": 5.0,
    }
    values.update(overrides)
    settings = values.pop("settings", Settings.from_env({}))
    return HelmWatchRunner(settings=settings, **values)


@pytest.mark.parametrize(
    ("kubeconfig", "reason"),
    [
        (b"", "kubeconfig is empty"),
        (b"   \n", "kubeconfig is empty"),
        (b"token: s3cr3t-token-value\n  : : [", "kubeconfig is not valid YAML (line 2, column 3)"),
        (b"- just\n- a list\n", "kubeconfig is not a YAML mapping"),
        (b"apiVersion: v1\nkind: Config\n", "kubeconfig has no 'clusters' entries"),
    ],
    ids=["empty", "blank", "not-yaml", "not-a-mapping", "no-clusters"],
)
async def test_unusable_kubeconfig_reports_an_error_and_never_ready(
    kubeconfig: bytes, reason: str, recorder: Any
) -> None:
    outcome = await _runner().run(deployment_id="d1", kubeconfig=kubeconfig, emit=recorder)
    assert outcome.error == STEP3.format(reason)
    assert outcome.states == {} and outcome.outcome == ""
    assert [(e.phase, e.level, e.message) for e in recorder.events] == [
        ("phase1-watch", "error", STEP3.format(reason))
    ]
    assert "s3cr3t" not in outcome.error


async def test_exec_plugin_kubeconfig_is_refused(cluster: Any, recorder: Any) -> None:
    import yaml

    doc = yaml.safe_load(cluster.kubeconfig)
    doc["users"][0]["user"] = {"exec": {"apiVersion": "v1", "command": "/bin/sh"}}
    outcome = await _runner().run(
        deployment_id="d1", kubeconfig=yaml.safe_dump(doc).encode(), emit=recorder
    )
    assert "exec/auth-provider plugin" in outcome.error


async def test_runner_reports_states_and_outcome_for_mark_phase1_done(
    cluster: Any, recorder: Any
) -> None:
    cluster.add("bp-cilium", ready=("True", "InstallSucceeded", ""))
    cluster.add("bp-catalyst-platform", ready=("False", "InstallFailed", "boom"))
    outcome = await _runner(min_bootstrap_kit_hrs=2).run(
        deployment_id="d1", kubeconfig=cluster.kubeconfig, emit=recorder
    )
    assert outcome.outcome == "failed"
    assert outcome.states == {"cilium": "installed", "catalyst-platform": "failed"}
    assert outcome.error == ""


async def test_runner_is_the_live_watcher_while_it_runs_and_seeds_once(
    cluster: Any, recorder: Any
) -> None:
    cluster.add("bp-a", depends=("bp-b",))
    cluster.add("bp-b", ready=("True", "", ""))
    seeder = Seeder()
    live = LiveWatches(config=WatchConfig(), emitter_for=lambda _: recorder, seeder=seeder)
    runner = _runner(settings=Settings.from_env({}), min_bootstrap_kit_hrs=2)
    runner.live, runner.seeder = live, seeder
    task = asyncio.create_task(
        runner.run(deployment_id="dep1", kubeconfig=cluster.kubeconfig, emit=recorder)
    )
    while not seeder.calls:
        await asyncio.sleep(0.01)
    watching = live.components("dep1", {})
    assert watching["watching"] is True
    assert [c["appId"] for c in watching["components"]] == ["a", "b"]
    cluster.installed("bp-a")
    outcome = await task
    assert outcome.outcome == "ready"
    assert live.get("dep1") is None
    assert live.components("dep1", outcome.states)["watching"] is False
    assert len(seeder.calls) == 1
    dep_id, items = seeder.calls[0]
    assert dep_id == "dep1"
    assert [(i["appId"], i["status"], i.get("dependsOn")) for i in items] == [
        ("a", "pending", ["b"]),
        ("b", "installed", None),
    ]


async def test_resumed_run_emits_only_what_changed_since_the_known_states(
    cluster: Any, recorder: Any
) -> None:
    cluster.add("bp-a", ready=("True", "InstallSucceeded", ""))
    cluster.add("bp-b", ready=("True", "InstallSucceeded", ""))
    outcome = await _runner(min_bootstrap_kit_hrs=2).run(
        deployment_id="d1",
        kubeconfig=cluster.kubeconfig,
        emit=recorder,
        known_states={"a": "installed", "b": "installing"},
    )
    assert outcome.outcome == "ready"
    assert outcome.states == {"a": "installed", "b": "installed"}
    assert recorder.states() == [("b", "installed")]


async def test_unreachable_cluster_is_an_error_outcome_with_an_event(recorder: Any) -> None:
    from catalyst_sandbox.fakekube import FakeKubeServer

    async with FakeKubeServer(token="t") as kube:
        kubeconfig = kube.kubeconfig_yaml().encode()
    outcome = await _runner(timeout=0.3).run(
        deployment_id="d1", kubeconfig=kubeconfig, emit=recorder
    )
    assert outcome.outcome == "flux-not-reconciling"
    assert outcome.error.startswith("Phase-1 watch could not list HelmReleases")
    assert [e.level for e in recorder.events] == ["error"]


async def test_runner_verifies_tls_with_the_kubeconfig_ca(
    recorder: Any, flux_cluster_type: Any
) -> None:
    from catalyst_sandbox.fakekube import FakeKubeServer

    async with FakeKubeServer(token="t", tls=True) as kube:
        cluster = flux_cluster_type(kube)
        cluster.add("bp-a", ready=("True", "", ""))
        outcome = await _runner(min_bootstrap_kit_hrs=1).run(
            deployment_id="d1", kubeconfig=cluster.kubeconfig, emit=recorder
        )
    assert outcome.outcome == "ready"


def test_watch_timeout_comes_from_the_environment_and_overrides_win() -> None:
    settings = Settings.from_env(
        {
            "CATALYST_PHASE1_WATCH_TIMEOUT": "5m",
            "CATALYST_PHASE1_MIN_BOOTSTRAP_KIT_HRS": "7",
            "CATALYST_PHASE1_FIRST_SEEN_TIMEOUT": "90s",
        }
    )
    assert settings.phase1_watch_timeout == timedelta(minutes=5)
    runner = HelmWatchRunner(settings=settings)
    assert runner.config.timeout == 300
    assert runner.config.min_bootstrap_kit_hrs == 7
    assert runner.config.first_seen_timeout == 90
    assert HelmWatchRunner(settings=settings, timeout=0.4).config.timeout == 0.4
    defaults = HelmWatchRunner(settings=Settings.from_env({})).config
    assert (defaults.timeout, defaults.min_bootstrap_kit_hrs, defaults.first_seen_timeout) == (
        3600,
        11,
        900,
    )
