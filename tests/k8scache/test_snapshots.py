"""Snapshots: envelope, naming, 0600 atomic writes, purge by mtime, the four hydrate outcomes,
the first list replacing the hydrated seed, an unusable snapshot directory."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from catalyst_api.k8scache import HydrateOutcome, K8sCache
from catalyst_api.k8scache.snapshots import (
    purge,
    read_snapshot,
    sanitize,
    snapshot_path,
    write_snapshot,
)
from catalyst_sandbox.fakekube import FakeKubeServer

from .conftest import pod, until

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _item(name: str, rv: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "d", "resourceVersion": rv}}


def test_file_names_are_sanitized_and_the_envelope_is_v1_with_the_numeric_max_rv(
    tmp_path: Path,
) -> None:
    assert sanitize("a/b c") == "a_b_c" and sanitize("") == "_"
    assert (
        snapshot_path(tmp_path, "0123abcd", "server.hcloud").name == "0123abcd-server.hcloud.json"
    )
    path = write_snapshot(
        tmp_path / "snaps",
        cluster="c/1",
        kind="pod",
        items=[_item("a", "9"), _item("b", "10")],
        wrote=NOW,
    )
    assert path.name == "c_1-pod.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and doc["cluster"] == "c/1" and doc["kind"] == "pod"
    assert doc["wrote"] == "2026-05-01T12:00:00Z" and doc["resourceVersion"] == "10"
    assert not list(path.parent.glob("*.tmp"))


def test_hydrate_outcomes(tmp_path: Path) -> None:
    def read(kind: str, now: datetime = NOW) -> HydrateOutcome:
        return read_snapshot(tmp_path, cluster="c", kind=kind, now=now).outcome

    assert read("pod") is HydrateOutcome.MISSING
    write_snapshot(tmp_path, cluster="c", kind="pod", items=[_item("a", "1")], wrote=NOW)
    found = read_snapshot(tmp_path, cluster="c", kind="pod", now=NOW + timedelta(minutes=5))
    assert found.outcome is HydrateOutcome.HYDRATED and len(found.items) == 1
    assert found.wrote == NOW.timestamp()
    assert read("pod", NOW + timedelta(hours=2)) is HydrateOutcome.EXPIRED
    (tmp_path / "c-node.json").write_text("{not json")
    assert read("node") is HydrateOutcome.FAILED
    (tmp_path / "c-service.json").write_text(
        json.dumps({"version": 1, "cluster": "c-x", "kind": "service", "wrote": "", "items": []})
    )
    assert read("service") is HydrateOutcome.FAILED
    (tmp_path / "c-secret.json").write_text(
        json.dumps(
            {"version": 2, "cluster": "c", "kind": "secret", "wrote": "2026-05-01T12:00:00Z"}
        )
    )
    assert read("secret") is HydrateOutcome.EXPIRED


def test_purge_removes_json_and_tmp_files_older_than_an_hour_by_mtime(tmp_path: Path) -> None:
    old, fresh, tmp, other = (tmp_path / n for n in ("a.json", "b.json", "c.json.tmp", "d.txt"))
    for p in (old, fresh, tmp, other):
        p.write_text("{}")
    past = time.time() - 2 * 3600
    for p in (old, tmp, other):
        os.utime(p, (past, past))
    assert purge(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "d.txt"]


async def test_hydrated_lists_are_served_at_once_and_the_first_list_replaces_the_seed(
    kubeconfigs: Path, snapshot_dir: Path, make_cache: Callable[..., K8sCache]
) -> None:
    async with FakeKubeServer(token="t") as kube:
        kube.state.create(pod("live"))
        kube.write_kubeconfig(kubeconfigs / "c1.yaml")
        now = datetime.now(UTC)
        write_snapshot(
            snapshot_dir,
            cluster="c1",
            kind="pod",
            items=[_item("gone", "3"), _item("live", "4")],
            wrote=now,
        )
        async with make_cache() as cache:
            # start() returns before any informer ran: what we see now is the hydrated seed.
            kind = cache.kind("pod")
            assert kind is not None
            assert [o["metadata"]["name"] for o in cache.objects("c1", kind)] == ["gone", "live"]
            hydrated = cache.metrics.registry.get_sample_value(
                "catalyst_k8scache_snapshot_hydrate_total",
                {"cluster": "c1", "kind": "pod", "result": "hydrated"},
            )
            assert hydrated == 1
            await until(
                lambda: [o["metadata"]["name"] for o in cache.objects("c1", kind)] == ["live"]
            )
            assert await cache.snapshot_pass() >= 1
            doc = json.loads((snapshot_dir / "c1-pod.json").read_text())
            assert [i["metadata"]["name"] for i in doc["items"]] == ["live"]


async def test_an_unusable_snapshot_dir_is_one_warning_and_the_cache_runs_without(
    tmp_path: Path, make_cache: Callable[..., K8sCache], log_text: Callable[[], str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    async with make_cache(snapshot_dir=blocker / "snaps") as cache:
        assert not cache.snapshots_enabled
        assert await cache.snapshot_pass() == 0
    assert log_text().count("running without snapshots") == 1


async def test_a_missing_kubeconfigs_dir_means_no_clusters(
    tmp_path: Path, make_cache: Callable[..., K8sCache], log_text: Callable[[], str]
) -> None:
    async with make_cache(kubeconfigs_dir=tmp_path / "absent") as cache:
        assert cache.clusters() == []
    assert log_text().count("kubeconfigs directory missing") == 1


def test_an_upstream_written_snapshot_is_read_unchanged(tmp_path: Path) -> None:
    doc = {
        "version": 1,
        "cluster": "0123abcd0123abcd",
        "kind": "server.hcloud",
        "wrote": "2026-05-01T11:59:30.123456789Z",
        "resourceVersion": "99",
        "items": [{"metadata": {"name": "s1", "resourceVersion": "99", "managedFields": [{}]}}],
    }
    (tmp_path / "0123abcd0123abcd-server.hcloud.json").write_text(json.dumps(doc))
    found = read_snapshot(tmp_path, cluster="0123abcd0123abcd", kind="server.hcloud", now=NOW)
    assert found.outcome is HydrateOutcome.HYDRATED and found.items[0]["metadata"]["name"] == "s1"


async def test_a_background_start_answers_a_read_of_a_waiting_cluster_from_its_snapshot_first(
    kubeconfigs: Path, snapshot_dir: Path, make_cache: Callable[..., K8sCache]
) -> None:
    """`start(background=True)` (what the server uses) returns before any cluster registered;
    a read of a cluster still waiting registers it ahead of the others, from its snapshot, and
    the rest follow in the background."""
    now = datetime.now(UTC)
    async with FakeKubeServer(token="t") as kube:
        kube.faults.delay_seconds = 30  # a paused apiserver: only snapshots can answer
        for n in range(5):
            kube.write_kubeconfig(kubeconfigs / f"c{n}.yaml")
            write_snapshot(
                snapshot_dir, cluster=f"c{n}", kind="pod", items=[_item(f"p{n}", "1")], wrote=now
            )
        cache = make_cache()
        await cache.start(background=True)
        try:
            assert cache.cluster("c4") is None, "nothing registered before start() returned"
            assert cache.readiness()["registering"] == [f"c{n}" for n in range(5)]
            view = await cache.view("c4")
            assert view is not None
            kind = cache.kind("pod")
            assert kind is not None
            assert [o["metadata"]["name"] for o in cache.objects("c4", kind)] == ["p4"]
            assert await cache.view("unknown") is None
            await until(lambda: cache.readiness()["registering"] == [], what="all registered")
            assert cache.clusters() == [f"c{n}" for n in range(5)]
        finally:
            kube.faults.clear()
            await cache.aclose()
