"""A fake Sovereign (the fake kube-apiserver over real HTTP) with helpers that play Flux."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from catalyst_api.config import Settings
from catalyst_api.events import Event
from catalyst_api.kube import WatchTiming
from catalyst_api.phase1 import LogTailTiming, WatchConfig
from catalyst_sandbox.fakekube import FakeKubeServer

HR = "helm.toolkit.fluxcd.io/v2"
FAST_TIMING = WatchTiming(server_timeout=30, inactivity=10.0, backoff_initial=0.02, backoff_max=0.2)
FAST_LOGS = LogTailTiming(rediscover=0.05, reattach=0.05)


class FluxCluster:
    """Plays Flux's helm-controller against a fake apiserver: HelmReleases and their status."""

    def __init__(self, kube: FakeKubeServer) -> None:
        self.kube = kube

    @property
    def kubeconfig(self) -> bytes:
        return self.kube.kubeconfig_yaml().encode()

    def add(
        self,
        name: str,
        *,
        depends: tuple[str, ...] = (),
        ready: tuple[str, str, str] | None = None,
        namespace: str = "flux-system",
        install_retries: int | None = None,
    ) -> None:
        obj: dict[str, Any] = {
            "apiVersion": HR,
            "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"interval": "5m", "dependsOn": [{"name": d} for d in depends]},
        }
        if install_retries is not None:
            obj["spec"]["install"] = {"remediation": {"retries": install_retries}}
        if ready is not None:
            obj["status"] = {"conditions": [condition(*ready)]}
        self.kube.state.create(obj)

    def set_ready(
        self, name: str, status: str, reason: str = "", message: str = "", **extra: Any
    ) -> None:
        """Replace the status with one Ready condition (plus `extra` status fields)."""
        body: dict[str, Any] = {"conditions": [condition(status, reason, message)], **extra}
        self.kube.state.set_status(HR, "HelmRelease", "flux-system", name, body)

    def installing(self, name: str) -> None:
        self.set_ready(name, "Unknown", "Progressing", "Reconciliation in progress")

    def installed(self, name: str) -> None:
        self.set_ready(name, "True", "InstallSucceeded", "")

    def failed(self, name: str, message: str = "install retries exhausted") -> None:
        self.set_ready(name, "False", "InstallFailed", message)

    def add_helm_controller(
        self, name: str = "helm-controller-abc", phase: str = "Running"
    ) -> None:
        self.kube.state.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": "flux-system",
                    "labels": {"app": "helm-controller"},
                },
                "spec": {"containers": [{"name": "manager", "image": "helm-controller"}]},
                "status": {"phase": phase},
            }
        )

    def log(self, line: str, pod: str = "helm-controller-abc") -> None:
        self.kube.state.append_pod_log("flux-system", pod, line)


def condition(status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-04-30T10:00:00Z",
    }


class Recorder:
    """An `Emit` that keeps every event; a `component` event without a component fails the
    test at once (a client would show a false banner for it, issue 14)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        assert event.phase != "component" or event.component, event
        self.events.append(event)

    def component(self, name: str) -> list[str]:
        return [e.state for e in self.events if e.phase == "component" and e.component == name]

    def states(self) -> list[tuple[str, str]]:
        return [(e.component, e.state) for e in self.events if e.phase == "component" and e.state]

    def warnings(self) -> list[str]:
        """Watch-level warnings (phase `phase1-watch`)."""
        return [e.message for e in self.events if e.level == "warn" and e.phase == "phase1-watch"]

    def logs(self) -> list[Event]:
        return [e for e in self.events if e.phase == "component-log"]


def fast_config(**overrides: Any) -> WatchConfig:
    """Small timings: the whole Phase 1 behaviour in well under a second."""
    values: dict[str, Any] = {
        "timeout": 5.0,
        "min_bootstrap_kit_hrs": 11,
        "first_seen_timeout": 60.0,
        "timing": FAST_TIMING,
        "log_tail": FAST_LOGS,
    }
    values.update(overrides)
    return WatchConfig.from_settings(Settings.from_env({}), **values)


@pytest.fixture
async def cluster() -> AsyncIterator[FluxCluster]:
    async with FakeKubeServer(token="t", bookmark_interval=0.2) as kube:
        yield FluxCluster(kube)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def config() -> Callable[..., WatchConfig]:
    return fast_config


@pytest.fixture
def new_recorder() -> Callable[[], Recorder]:
    return Recorder


@pytest.fixture
def flux_cluster_type() -> type[FluxCluster]:
    return FluxCluster
