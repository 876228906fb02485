"""Phase 1 events and watch snapshots → jobs (spec §9.3), through the real async lanes into a
real store on disk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.events import Event
from catalyst_api.jobs import (
    JobsBridges,
    JobsStorage,
    JobsStore,
    job_status_for,
    log_level_for,
)

DEP = "0123456789abcdef"
T0 = "2026-04-30T10:00:00Z"
T30 = "2026-04-30T10:00:30Z"


class Harness:
    def __init__(self, store: JobsStorage) -> None:
        self.store = store
        self.bridges = JobsBridges(store)

    def state(
        self, component: str, state: str, t: str = T0, level: str = "info", message: str = ""
    ) -> None:
        self._forward("component", component, state, level, message, t)

    def line(
        self, component: str, message: str, level: str = "info", t: str = T0, state: str = ""
    ) -> None:
        self._forward("component-log", component, state, level, message, t)

    def _forward(
        self, phase: str, component: str, state: str, level: str, message: str, t: str
    ) -> None:
        event = Event(phase, message, level, t, component=component, state=state)
        self.bridges.forward(DEP, event)

    async def seed(self, items: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
        return await self.bridges.seed(DEP, list(items))

    async def job(self, component: str) -> dict[str, Any]:
        await self.bridges.flush()
        return self.store.read(DEP).find_job(f"install-{component}").to_dict()

    async def lines(self, component: str) -> list[tuple[str, str]]:
        job = await self.job(component)
        page = self.store.page_logs(job["latestExecutionId"], 1, 100)
        return [(line["level"], line["message"]) for line in page["lines"]]  # type: ignore[attr-defined]

    async def executions(self, component: str) -> list[dict[str, Any]]:
        await self.bridges.flush()
        index = self.store.read(DEP)
        job = index.find_job(f"install-{component}")
        return [e.to_dict() for e in index.executions_of(job.id)]

    async def job_names(self) -> list[str]:
        await self.bridges.flush()
        return [j.job_name for j in self.store.read(DEP).jobs.values()]


@pytest.fixture
async def h(jobs_store: JobsStorage) -> AsyncIterator[Harness]:
    """Over the test's backend: the bridge tests run on files and on PostgreSQL."""
    harness = Harness(jobs_store)
    yield harness
    await harness.bridges.aclose()


def _item(
    app: str, status: str, at: str = T0, message: str = "", deps: tuple[str, ...] = ()
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "appId": app,
        "status": status,
        "helmReleaseName": f"bp-{app}",
        "namespace": "flux-system",
        "lastTransitionAt": at,
        "message": message,
    }
    if deps:
        item["dependsOn"] = list(deps)
    return item


@pytest.mark.both_backends
async def test_pending_installing_installed_makes_one_succeeded_execution(h: Harness) -> None:
    h.state("cilium", "pending", T0)
    job = await h.job("cilium")
    assert job["status"] == "pending" and "latestExecutionId" not in job
    h.state("cilium", "installing", T0, message="Helm install in progress")
    job = await h.job("cilium")
    assert job["status"] == "running" and job["startedAt"] == T0
    h.state("cilium", "installed", T30, message="Helm install complete; Ready=True")
    job = await h.job("cilium")
    assert job["status"] == "succeeded"
    assert job["finishedAt"] == T30
    assert job["durationMs"] == 30000
    assert job["batchId"] == "bootstrap-kit" and job["appId"] == "cilium"
    assert await h.lines("cilium") == [
        ("INFO", "[installing] Helm install in progress"),
        ("INFO", "[installed] Helm install complete; Ready=True"),
    ]
    assert len(await h.executions("cilium")) == 1


@pytest.mark.both_backends
async def test_failed_transition_writes_an_error_line_and_fails_the_job(h: Harness) -> None:
    h.state("keycloak", "installing")
    h.state("keycloak", "failed", T30, level="error", message="InstallFailed: boom")
    job = await h.job("keycloak")
    assert job["status"] == "failed"
    assert await h.lines("keycloak") == [
        ("INFO", "[installing] keycloak"),
        ("ERROR", "[failed] InstallFailed: boom"),
    ]


@pytest.mark.both_backends
async def test_repeated_states_are_suppressed(h: Harness) -> None:
    for _ in range(5):
        h.state("flux", "installing", message="again")
    assert await h.lines("flux") == [("INFO", "[installing] again")]


@pytest.mark.both_backends
async def test_only_component_events_create_jobs(h: Harness) -> None:
    h.bridges.forward(DEP, Event(phase="tofu-apply", message="Apply complete"))
    h.bridges.forward(DEP, Event(phase="tofu", message="x", component="cilium", state="installed"))
    h.bridges.forward(DEP, Event(phase="component", message="watch-level warning", level="warn"))
    h.bridges.forward(DEP, Event(phase="component", component="cilium", message="no state"))
    assert await h.job_names() == []
    if isinstance(h.store, JobsStore):
        assert list(h.store.root.iterdir()) == []  # nothing written at all
    h.state("cilium", "installing")
    assert await h.job_names() == ["install-cilium"]


@pytest.mark.parametrize(
    ("level", "mapped"),
    [
        ("", "INFO"),
        ("info", "INFO"),
        ("WEIRD", "INFO"),
        ("warn", "WARN"),
        ("warning", "WARN"),
        ("error", "ERROR"),
        ("debug", "DEBUG"),
    ],
)
def test_level_mapping(level: str, mapped: str) -> None:
    assert log_level_for(level) == mapped


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("installed", "succeeded"),
        ("failed", "failed"),
        ("installing", "running"),
        ("degraded", "running"),
        ("pending", "pending"),
        ("other", "pending"),
    ],
)
def test_state_to_job_status(state: str, status: str) -> None:
    assert job_status_for(state) == status


@pytest.mark.both_backends
async def test_seed_prefixes_dependencies_and_pending_makes_a_job_only(h: Harness) -> None:
    written, created = await h.seed([_item("keycloak", "pending", deps=("cert-manager", "flux"))])
    assert (written, created) == (1, 0)
    job = await h.job("keycloak")
    assert job["dependsOn"] == ["install-cert-manager", "install-flux"]
    assert job["status"] == "pending" and "latestExecutionId" not in job


@pytest.mark.both_backends
async def test_seed_is_idempotent(h: Harness) -> None:
    items = [
        _item("cilium", "installed", message="ok"),
        _item("cert-manager", "failed", message="broken"),
        _item("flux", "installing"),
        _item("keycloak", "degraded", message="RetryExhausted"),
    ]
    assert await h.seed(items) == (4, 4)
    latest = {c: (await h.job(c))["latestExecutionId"] for c in ("cilium", "flux")}
    assert await h.seed(items) == (4, 0)
    assert {c: (await h.job(c))["latestExecutionId"] for c in ("cilium", "flux")} == latest
    for component in ("cilium", "cert-manager", "flux", "keycloak"):
        assert len(await h.executions(component)) == 1
    assert (await h.executions("flux"))[0]["status"] == "running"
    assert await h.lines("cilium") == [("INFO", f"[seeded] state=installed at {T0}: ok")]
    assert await h.lines("cert-manager") == [("ERROR", f"[seeded] state=failed at {T0}: broken")]
    assert await h.lines("flux") == [("INFO", f"[seeded] state=installing at {T0}")]
    assert await h.lines("keycloak") == [
        ("WARN", f"[seeded] state=degraded at {T0}: RetryExhausted")
    ]
    assert (await h.job("cilium"))["status"] == "succeeded"
    assert (await h.job("cert-manager"))["status"] == "failed"


@pytest.mark.both_backends
async def test_seed_primes_the_state_dedupe(h: Harness) -> None:
    await h.seed([_item("flux", "installing")])
    h.state("flux", "installing", message="same state again")
    assert len(await h.executions("flux")) == 1
    assert await h.lines("flux") == [("INFO", f"[seeded] state=installing at {T0}")]


@pytest.mark.both_backends
async def test_seed_skips_blank_components(h: Harness) -> None:
    assert await h.seed([_item("", "installed"), _item("  ", "installed")]) == (0, 0)
    assert await h.job_names() == []


@pytest.mark.both_backends
async def test_transitions_keep_the_dependencies_a_seed_wrote(h: Harness) -> None:
    await h.seed([_item("keycloak", "pending", deps=("cert-manager",))])
    h.state("keycloak", "installing")
    h.state("keycloak", "installed", T30)
    job = await h.job("keycloak")
    assert job["status"] == "succeeded"
    assert job["dependsOn"] == ["install-cert-manager"]


@pytest.mark.both_backends
async def test_raw_lines_append_verbatim_to_the_open_execution(h: Harness) -> None:
    await h.seed([_item("flux", "installing")])
    h.line("flux", 'level=info msg="reconciling" helmrelease=flux-system/bp-flux\r\n')
    h.line("flux", "second line", level="info")
    h.line("flux", "level=warn retry", level="warn")
    h.line("flux", "level=error failed", level="error")
    h.line("flux", "\n")
    assert await h.lines("flux") == [
        ("INFO", f"[seeded] state=installing at {T0}"),
        ("INFO", 'level=info msg="reconciling" helmrelease=flux-system/bp-flux'),
        ("INFO", "second line"),
        ("WARN", "level=warn retry"),
        ("ERROR", "level=error failed"),
    ]


@pytest.mark.both_backends
async def test_raw_line_for_an_unknown_component_opens_a_running_job(h: Harness) -> None:
    h.line("gitea", "helmrelease=flux-system/bp-gitea starting")
    job = await h.job("gitea")
    assert job["status"] == "running" and job["latestExecutionId"]
    h.state("gitea", "installing")  # primed as installing: no second execution, no line
    assert len(await h.executions("gitea")) == 1
    assert await h.lines("gitea") == [("INFO", "helmrelease=flux-system/bp-gitea starting")]


@pytest.mark.both_backends
async def test_raw_line_for_a_pending_job_starts_its_execution(h: Harness) -> None:
    await h.seed([_item("keycloak", "pending", deps=("flux",))])
    h.line("keycloak", "helmrelease=flux-system/bp-keycloak waiting")
    job = await h.job("keycloak")
    assert job["status"] == "running"
    assert job["dependsOn"] == ["install-flux"]
    assert len(await h.executions("keycloak")) == 1


@pytest.mark.both_backends
async def test_a_waiting_line_leaves_a_pending_job_pending(h: Harness) -> None:
    await h.seed([_item("keycloak", "pending", deps=("cert-manager",))])
    waiting = (
        '{"level":"info","msg":"dependencies do not meet ready condition (dependency '
        '\'flux-system/bp-cert-manager\' is not ready), retrying in 10s","HelmRelease":'
        '{"name":"bp-keycloak","namespace":"flux-system"}}'
    )
    h.line("keycloak", waiting, state="pending")
    job = await h.job("keycloak")
    assert job["status"] == "pending"
    assert "latestExecutionId" not in job
    h.state("keycloak", "installing", T30)
    h.line("keycloak", waiting, state="pending")  # an open execution still gets the line
    assert await h.lines("keycloak") == [("INFO", "[installing] keycloak"), ("INFO", waiting)]


@pytest.mark.both_backends
async def test_a_blocked_component_job_says_by_whom(h: Harness) -> None:
    await h.seed([_item("openbao", "pending", deps=("spire",)), _item("spire", "installing")])
    h.state(
        "spire", "failed", T30, "error", "Helm install failed for release spire-system/bp-spire"
    )
    h.state(
        "openbao",
        "pending",
        T30,
        "warn",
        "blocked: depends on spire, which has failed for good (Helm's remediation is exhausted); "
        "Flux will not install it until that is fixed",
    )
    job = await h.job("openbao")
    assert job["status"] == "pending"
    assert job["blockedBy"] == ["install-spire"]
    assert job["dependsOn"] == ["install-spire"]
    assert "blockedBy" not in await h.job("spire")
    h.state("openbao", "installing", T30)  # unblocked (someone fixed spire): no longer blocked
    assert "blockedBy" not in await h.job("openbao")


@pytest.mark.both_backends
async def test_raw_line_after_a_terminal_state_is_dropped(h: Harness) -> None:
    h.state("cilium", "installing")
    h.state("cilium", "installed", T30)
    h.line("cilium", "late line")
    assert [m for _, m in await h.lines("cilium")] == ["[installing] cilium", "[installed] cilium"]


@pytest.mark.both_backends
async def test_raw_line_reattaches_to_a_running_execution_after_a_restart(
    h: Harness, tmp_path: Path
) -> None:
    h.state("flux", "installing")
    await h.bridges.flush()
    restarted = Harness(h.store)  # fresh cursors, same files
    restarted.line("flux", "after restart")
    assert [m for _, m in await restarted.lines("flux")] == ["[installing] flux", "after restart"]
    assert len(await restarted.executions("flux")) == 1
    await restarted.bridges.aclose()


@pytest.mark.both_backends
async def test_a_restarted_bridge_does_not_reopen_finished_jobs(h: Harness) -> None:
    h.state("cilium", "installing")
    h.state("cilium", "installed", T30)
    h.state("flux", "installing")
    await h.bridges.flush()
    restarted = Harness(h.store)  # a new process: empty cursors, same files
    restarted.state("cilium", "installed", T30)  # the resumed watch reports it again
    restarted.state("flux", "installing")
    restarted.state("flux", "installed", T30)
    assert len(await restarted.executions("cilium")) == 1
    assert len(await restarted.executions("flux")) == 1
    assert (await restarted.job("flux"))["status"] == "succeeded"
    lines = [m for _, m in await restarted.lines("flux")]
    assert lines[0] == "[installing] flux" and lines[-1] == "[installed] flux"
    await restarted.bridges.aclose()


async def test_a_failing_store_never_breaks_the_feed(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    store = JobsStore.open(blocker)
    bridges = JobsBridges(store)
    blocker.rmdir()
    blocker.write_text("now a file")  # every write fails from here on
    bridges.forward(DEP, Event(phase="component", component="a", state="installing", message=""))
    assert await bridges.seed(DEP, [_item("a", "installed")]) == (0, 0)
    await bridges.aclose()
